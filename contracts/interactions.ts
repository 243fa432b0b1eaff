/**
 * Fluent builders for the CM interactions of the pact (consumer `cmcard`, provider `mim-cm`),
 * after the pact-js examples, so each consumer test reads as one sentence:
 *
 *   cm(pact).given(cardWithKey(EXAMPLE_CARD)).uponReceiving('the documented example')
 *     .authenticationResponse({ card: EXAMPLE_CARD, challenge: '1hFD+cz/0so=', diversified: 'False' })
 *     .answersBase64('F0Zudm4wPLY=')
 *     .executeTest(async (mock) => ...)
 *
 * Exact values pin what the documentation states byte for byte; matchers pin the shape
 * where it does not. Bodies always go through a matcher or an object: a bare string given
 * to jsonBody would be written unquoted.
 */
import { HTTPResponseStatusClass, MatchersV3 as M, PactV4 } from '@pact-foundation/pact';
import { BASE_PATH, CALLERS, CONSUMER, PROVIDER, type Caller, type Tag } from './fixtures.js';
import type { ProviderState } from './states.js';

// pact-js does not export its V4 builder types from the package root: derive them.
export type V4UnconfiguredInteraction = ReturnType<PactV4['addInteraction']>;
export type V4InteractionWithRequest = ReturnType<V4UnconfiguredInteraction['withRequest']>;
export type V4InteractionWithResponse = ReturnType<V4InteractionWithRequest['willRespondWith']>;

export { CONSUMER, PACT_FILE_NAME, PROVIDER } from './fixtures.js';

/** A PactV4 writing `cmcard-mim-cm.json` into `dir`. */
export function cmPact(dir: string): PactV4 {
  return new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir, logLevel: 'warn' });
}

/** `Content-Type: application/json`, with or without parameters such as `; charset=utf-8`. */
export const JSON_CONTENT_TYPE = M.regex('^application/json(;.*)?$', 'application/json; charset=utf-8');
/** Any credential scheme (Bearer, Negotiate, Basic) with a value: real CM servers use Kerberos. */
const AUTHORIZATION_PATTERN = '^[A-Za-z][A-Za-z0-9_-]* \\S.*$';
const GUID_PATTERN = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** A regex for standard padded base64 of exactly `n` bytes (the last character carries only the bits left). */
export function base64Pattern(n: number): string {
  const full = Math.floor(n / 3) * 4;
  switch (n % 3) {
    case 0:
      return `^[A-Za-z0-9+/]{${full}}$`;
    case 1: // 1 byte left: 2 characters, the second holds 2 bits
      return `^[A-Za-z0-9+/]{${full + 1}}[AQgw]==$`;
    default: // 2 bytes left: 3 characters, the third holds 4 bits
      return `^[A-Za-z0-9+/]{${full + 2}}[AEIMQUYcgkosw048]=$`;
  }
}

export interface CardIds {
  reqid: string;
  scid: string;
  cardid: string;
}

export interface AuthenticationResponseCall {
  card: CardIds;
  /** As it travels after decoding (e.g. `1hFD+cz/0so=`); the client percent-encodes it. Omitted when undefined. */
  challenge?: string;
  /** As spelled on the wire (`False`, `true`, ...). Omitted when undefined. */
  diversified?: string;
  basePath?: string;
}

/** Entry point: `cm(pact).given(...).uponReceiving(...).<request>().<answer>()`. */
export function cm(pact: PactV4): CmInteraction {
  return new CmInteraction(pact.addInteraction());
}

export class CmInteraction {
  private caller: Caller = 'helpdesk';

  constructor(private interaction: V4UnconfiguredInteraction) {}

  /** Each state carries its ids and keys as params; several may be given. */
  given(...states: ProviderState[]): this {
    for (const s of states) this.interaction = this.interaction.given(s.name, s.params);
    return this;
  }

  uponReceiving(description: string): this {
    this.interaction = this.interaction.uponReceiving(description);
    return this;
  }

  /** Tags written to the interaction's `comments.tags` (read back by contracts/pact-file.ts tagsOf). */
  tagged(...tags: Tag[]): this {
    // Pact's core stores a comment value that parses as JSON as that JSON: an array here.
    this.interaction = this.interaction.comment({ key: 'tags', value: JSON.stringify(tags) });
    return this;
  }

  /** Who calls: the help desk (default), a caller without rights, or nobody. */
  as(caller: Caller): this {
    this.caller = caller;
    return this;
  }

  authenticationResponse(call: AuthenticationResponseCall): CmAnswer {
    const path = `${call.basePath ?? BASE_PATH}/requests/${call.card.reqid}/smartcards/${call.card.scid}/authenticationresponse`;
    const query: Record<string, string> = { cardid: call.card.cardid };
    if (call.challenge !== undefined) query.challenge = call.challenge;
    if (call.diversified !== undefined) query.diversified = call.diversified;
    return new CmAnswer(this.interaction.withRequest('GET', path, (b) => b.query(query).headers(this.callerHeaders())));
  }

  diversifiedKey(card: CardIds): CmAnswer {
    const path = `${BASE_PATH}/requests/${card.reqid}/smartcards/${card.scid}/diversifiedkey`;
    return new CmAnswer(this.interaction.withRequest('GET', path, (b) => b.query({ cardid: card.cardid }).headers(this.callerHeaders())));
  }

  /** POST /requests for an Unblock of the given smart card. */
  createUnblockRequest(scid: string): CmAnswer {
    return new CmAnswer(
      this.interaction.withRequest('POST', `${BASE_PATH}/requests`, (b) =>
        b.headers({ ...this.callerHeaders(), 'Content-Type': 'application/json' }).jsonBody({ type: 'Unblock', smartcard: scid }),
      ),
    );
  }

  getRequest(reqid: string): CmAnswer {
    return new CmAnswer(this.interaction.withRequest('GET', `${BASE_PATH}/requests/${reqid}`, (b) => b.headers(this.callerHeaders())));
  }

  updateRequest(reqid: string, status: 'Completed' | 'Canceled' | 'Abandoned'): CmAnswer {
    return new CmAnswer(
      this.interaction.withRequest('PUT', `${BASE_PATH}/requests/${reqid}`, (b) =>
        b.headers({ ...this.callerHeaders(), 'Content-Type': 'application/json' }).jsonBody({ status }),
      ),
    );
  }

  private callerHeaders(): Record<string, ReturnType<typeof M.regex>> {
    if (this.caller === 'anonymous') return {};
    return { Authorization: M.regex(AUTHORIZATION_PATTERN, CALLERS[this.caller]) };
  }
}

/** The answer half: each method finishes the interaction, ready for `executeTest`. */
export class CmAnswer {
  constructor(private readonly request: V4InteractionWithRequest) {}

  /** 200, JSON, the body exactly this JSON string. */
  answersBase64(exact: string): V4InteractionWithResponse {
    return this.request.willRespondWith(200, (b) => b.jsonBody(M.equal(exact)).headers({ 'Content-Type': JSON_CONTENT_TYPE }));
  }

  /** 200, JSON, the body a JSON string holding standard base64 of `bytes` bytes (`example` is what the mock answers). */
  answersBase64Of(bytes: number, example: string): V4InteractionWithResponse {
    return this.request.willRespondWith(200, (b) => b.jsonBody(M.regex(base64Pattern(bytes), example)).headers({ 'Content-Type': JSON_CONTENT_TYPE }));
  }

  /** 201 and a JSON string URI such as `"api/v1.0/requests/{id}"`. */
  answersCreated(collection: 'requests' | 'smartcards', exampleId: string): V4InteractionWithResponse {
    return this.request.willRespondWith(201, (b) =>
      b.jsonBody(M.regex(`^api/v1\\.0/${collection}/${GUID_PATTERN}$`, `api/v1.0/${collection}/${exampleId}`)).headers({ 'Content-Type': JSON_CONTENT_TYPE }),
    );
  }

  /** 200 and a JSON object of at least these fields (values as given: use matchers for shapes). */
  answersObject(body: Record<string, unknown>): V4InteractionWithResponse {
    return this.request.willRespondWith(200, (b) => b.jsonBody(body).headers({ 'Content-Type': JSON_CONTENT_TYPE }));
  }

  /** Any 2xx (the docs allow 200 or 204 for updates). */
  answersSuccess(): V4InteractionWithResponse {
    return this.request.willRespondWith(M.matchStatus(200, HTTPResponseStatusClass.Success));
  }

  /** A bare status, no body expectation (204, and 401 which the authentication layer answers). */
  answersStatus(status: number): V4InteractionWithResponse {
    return this.request.willRespondWith(status);
  }

  /** An error status with the ASP.NET Web API error body `{"Message": "..."}` as JSON. */
  answersError(status: 400 | 403 | 404, exampleMessage: string): V4InteractionWithResponse {
    return this.request.willRespondWith(status, (b) => b.jsonBody({ Message: M.string(exampleMessage) }).headers({ 'Content-Type': JSON_CONTENT_TYPE }));
  }
}

export { GUID_PATTERN };
export const guid = (example: string): ReturnType<typeof M.regex> => M.regex(`^${GUID_PATTERN}$`, example);
