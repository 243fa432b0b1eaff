/**
 * The fast-check commands of the model-based test: one HTTP request each. A command holds
 * pure generated data (callers, challenges, symbolic ids); `check` says whether the model
 * has what it needs, `run` resolves the data against the model into one planned request,
 * which the sequence sends, judges (invariants.ts) and lets update the model.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { cardPath, diversifiedKeyPath, requestsPath, smartcardsPath } from '../wire/endpoints.js';
import { idFromUri, readDiversifiedKey } from '../wire/decode.js';
import {
  atrArb,
  callerArb,
  challengeArb,
  challengeOnWire,
  describeCaller,
  describeChallenge,
  diversifiedArb,
  idsArb,
  indexArb,
  MALFORMED_ATR,
  readChallenge,
  readDiversified,
  type AtrChoice,
  type CallerChoice,
  type ChallengeChoice,
  type IdsChoice,
} from './inputs.js';
import type { Answer, AskFacts, IdsTarget } from './invariants.js';
import { CLOSED_STATUSES, pickFrom, type ClosedStatus, type FuzzModel, type ModelCard, type ModelRequest } from './model.js';
import type { FuzzSequence, PlannedStep } from './sequence.js';

export type FuzzCommand = fc.AsyncCommand<FuzzModel, FuzzSequence>;

/** The caller exists in this config (a forbidden caller only with forbiddenHeaders). */
function usable(m: FuzzModel, caller: CallerChoice): boolean {
  return caller.kind !== 'forbidden' || m.hasForbidden;
}

const succeeded = (a: Answer): a is Extract<Answer, { status: number }> => 'status' in a && a.status >= 200 && a.status < 300;
/** No answer or a 5xx: the server may or may not have made the change. */
const unknownOutcome = (a: Answer): boolean => !('status' in a) || a.status >= 500;

// ---- ids of the two key endpoints -------------------------------------------------------

interface ResolvedIds {
  reqid: string;
  scid: string;
  cardid?: string;
  target: IdsTarget;
  wellFormed: boolean;
  /** e.g. `card tpm-2 under the request of card tpm-1 (not its own)` */
  describe: string;
}

export function resolveIds(m: FuzzModel, c: IdsChoice): ResolvedIds | undefined {
  const link = pickFrom(m.links(), c.pick);
  if (!link) return undefined;
  const { request, card } = link;
  const base = { reqid: request.reqid, scid: card.scid, cardid: card.cardid as string | undefined };
  const match: IdsTarget = { card, request };
  const mine = `${card.label} under ${request.label}`;
  switch (c.kind) {
    case 'valid':
      return { ...base, target: match, wellFormed: true, describe: mine };
    case 'valid, upper case':
      return {
        reqid: base.reqid.toUpperCase(),
        scid: base.scid.toUpperCase(),
        cardid: card.cardid.toUpperCase(),
        target: match,
        wellFormed: false,
        describe: `${mine}, ids in upper case`,
      };
    case 'valid, in braces':
      return {
        reqid: `{${base.reqid}}`,
        scid: `{${base.scid}}`,
        cardid: `{${card.cardid}}`,
        target: match,
        wellFormed: false,
        describe: `${mine}, ids in braces`,
      };
    case 'foreign card': {
      const other = pickFrom(
        m.recentCards((x) => !request.cards.includes(x.scid)),
        c.other,
      );
      if (!other) return undefined;
      return {
        reqid: request.reqid,
        scid: other.scid,
        cardid: other.cardid,
        target: {
          mismatch: `${other.label} (scid ${other.scid}) does not belong to ${request.label} (reqid ${request.reqid}), as far as the config and this sequence know`,
        },
        wellFormed: true,
        describe: `${other.label} under ${request.label}, which it does not belong to`,
      };
    }
    case 'foreign cardid': {
      const other = pickFrom(
        m.recentCards((x) => x.cardid !== card.cardid),
        c.other,
      );
      if (!other) return undefined;
      return {
        ...base,
        cardid: other.cardid,
        target: { mismatch: `cardid ${other.cardid} is the card id of ${other.label}, not of ${card.label}` },
        wellFormed: true,
        describe: `${mine} with the cardid of ${other.label}`,
      };
    }
    case 'unknown reqid':
      return {
        ...base,
        reqid: c.fresh,
        target: { mismatch: `reqid ${c.fresh} names no request` },
        wellFormed: true,
        describe: `${card.label} under an unknown reqid`,
      };
    case 'unknown scid':
      return {
        ...base,
        scid: c.fresh,
        target: { mismatch: `scid ${c.fresh} names no smart card` },
        wellFormed: true,
        describe: `an unknown scid under ${request.label}`,
      };
    case 'unknown cardid':
      return {
        ...base,
        cardid: c.fresh,
        target: { mismatch: `cardid ${c.fresh} is no card's id` },
        wellFormed: true,
        describe: `${mine} with an unknown cardid`,
      };
    case 'malformed reqid':
      return {
        ...base,
        reqid: c.malformed,
        target: { mismatch: `reqid ${JSON.stringify(c.malformed)} is not a GUID` },
        wellFormed: false,
        describe: `${card.label} under a reqid that is not a GUID`,
      };
    case 'malformed scid':
      return {
        ...base,
        scid: c.malformed,
        target: { mismatch: `scid ${JSON.stringify(c.malformed)} is not a GUID` },
        wellFormed: false,
        describe: `a scid that is not a GUID under ${request.label}`,
      };
    case 'malformed cardid':
      return {
        ...base,
        cardid: c.malformed,
        target: { mismatch: `cardid ${JSON.stringify(c.malformed)} is not a GUID` },
        wellFormed: false,
        describe: `${mine} with a cardid that is not a GUID`,
      };
    case 'missing cardid':
      return { ...base, cardid: undefined, target: { mismatch: 'the request names no cardid' }, wellFormed: false, describe: `${mine} without a cardid` };
  }
}

// ---- authenticationresponse -----------------------------------------------------------

export interface AskResponseChoice {
  ids: IdsChoice;
  caller: CallerChoice;
  challenge: ChallengeChoice;
  diversified: string | undefined;
  atr: AtrChoice;
}

export class AskResponse implements FuzzCommand {
  constructor(readonly c: AskResponseChoice) {}

  check(m: FuzzModel): boolean {
    return usable(m, this.c.caller) && resolveIds(m, this.c.ids) !== undefined;
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const ids = resolveIds(m, this.c.ids)!;
    const wireChallenge = challengeOnWire(this.c.challenge);
    const challenge = readChallenge(wireChallenge);
    const diversified = readDiversified(this.c.diversified);
    const card = 'card' in ids.target ? ids.target.card : undefined;
    const atr = this.c.atr === 'malformed' ? MALFORMED_ATR : this.c.atr === 'card' ? card?.atr : undefined;
    // Built by hand so the wire shows exactly the encoding chosen; the documented order: cardid, challenge, diversified.
    const query = [
      ids.cardid !== undefined ? `cardid=${encodeURIComponent(ids.cardid)}` : undefined,
      wireChallenge !== undefined ? `challenge=${wireChallenge}` : undefined,
      this.c.diversified !== undefined ? `diversified=${encodeURIComponent(this.c.diversified)}` : undefined,
      atr !== undefined ? `atr=${encodeURIComponent(atr)}` : undefined,
    ].filter((p) => p !== undefined);
    const missing: AskFacts['missing'] = [];
    if (challenge.kind === 'missing') missing.push('challenge');
    if (diversified === 'missing') missing.push('diversified');
    const readable = challenge.kind !== 'invalid' && diversified !== 'invalid' && this.c.atr !== 'malformed';
    const ask: AskFacts = {
      target: ids.target,
      wellFormed: ids.wellFormed && missing.length === 0 && readable,
      missing,
      challenge,
      diversified,
      ...(this.c.atr === 'malformed' ? { badAtr: true } : {}),
    };
    const path = `${cardPath('', ids)}/authenticationresponse${query.length ? `?${query.join('&')}` : ''}`;
    const title =
      `authenticationresponse for ${ids.describe}, ${describeChallenge(this.c.challenge)}, ` +
      `${this.c.diversified === undefined ? 'no diversified' : `diversified=${JSON.stringify(this.c.diversified)}`}` +
      `${atr !== undefined ? `, ${this.c.atr === 'malformed' ? 'an atr that is no ATR' : "the card's atr"}` : ''}, as ${describeCaller(this.c.caller)}`;
    await r.step(m, { endpoint: 'authenticationresponse', caller: this.c.caller, method: 'GET', path, title, ask });
  }

  toString(): string {
    return `authenticationresponse(${this.c.ids.kind}, ${this.c.caller.kind}, ${describeChallenge(this.c.challenge)}, ${String(this.c.diversified)})`;
  }
}

// ---- diversifiedkey -------------------------------------------------------------------

export class AskKey implements FuzzCommand {
  constructor(readonly c: { ids: IdsChoice; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return usable(m, this.c.caller) && resolveIds(m, this.c.ids) !== undefined;
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const ids = resolveIds(m, this.c.ids)!;
    const caller = this.c.caller;
    const plan: PlannedStep = {
      endpoint: 'diversifiedkey',
      caller,
      method: 'GET',
      path: diversifiedKeyPath('', ids, ids.cardid),
      title: `diversifiedkey for ${ids.describe}, as ${describeCaller(caller)}`,
      ask: { target: ids.target, wellFormed: ids.wellFormed, missing: [] },
      apply(answer, ctx) {
        // A key handed to the caller with rights for a card we know: from now on diversified=true answers are judged by it.
        if (caller.kind !== 'rights' || !('status' in answer) || answer.status !== 200 || !('card' in ids.target)) return;
        const card = ids.target.card;
        if (card.diversifiedKey) return;
        const read = readDiversifiedKey(answer);
        if (read.key) ctx.learnKey(card, read.key);
      },
    };
    await r.step(m, plan);
  }

  toString(): string {
    return `diversifiedkey(${this.c.ids.kind}, ${this.c.caller.kind})`;
  }
}

// ---- the request lifecycle ------------------------------------------------------------

/** POST /requests: an Unblock request for one of the configured cards. */
export class CreateRequest implements FuzzCommand {
  constructor(readonly c: { card: number; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return m.lifecycle && usable(m, this.c.caller) && m.configCards().length > 0;
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const card = pickFrom(m.configCards(), this.c.card)!;
    await r.step(m, {
      endpoint: 'create-request',
      caller: this.c.caller,
      method: 'POST',
      path: requestsPath(''),
      body: JSON.stringify({ type: 'Unblock', smartcard: card.scid }),
      title: `create an Unblock request for ${card.label}, as ${describeCaller(this.c.caller)}`,
      apply(answer, ctx) {
        const reqid = createdId(answer);
        if (reqid) ctx.model.addRequest(reqid, [card.scid]);
      },
    });
  }

  toString(): string {
    return `createRequest(${this.c.card}, ${this.c.caller.kind})`;
  }
}

/** GET /requests/{id}: a request the model knows (or an unknown id). */
export class ReadRequest implements FuzzCommand {
  constructor(readonly c: { pick: number; unknown: boolean; fresh: string; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return m.lifecycle && usable(m, this.c.caller) && m.requests.length > 0;
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const request = pickFrom(m.recentRequests(), this.c.pick)!;
    const id = this.c.unknown ? this.c.fresh : request.reqid;
    await r.step(m, {
      endpoint: 'read-request',
      caller: this.c.caller,
      method: 'GET',
      path: requestsPath('', id),
      title: `read ${this.c.unknown ? 'an unknown request' : request.label}, as ${describeCaller(this.c.caller)}`,
      apply: (answer, ctx) => {
        if (!this.c.unknown && succeeded(answer)) ctx.model.markRead(request);
      },
    });
  }

  toString(): string {
    return `readRequest(${this.c.pick}, ${this.c.unknown}, ${this.c.caller.kind})`;
  }
}

/** PUT /requests/{id} {status}: one of this sequence's requests to Completed, Canceled or Abandoned. */
export class CloseRequest implements FuzzCommand {
  constructor(readonly c: { pick: number; status: ClosedStatus; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return m.lifecycle && usable(m, this.c.caller) && m.requests.some((x) => x.created);
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const request = pickFrom(
      m.recentRequests((x) => x.created),
      this.c.pick,
    )!;
    const status = this.c.status;
    await r.step(m, {
      endpoint: 'close-request',
      caller: this.c.caller,
      method: 'PUT',
      path: requestsPath('', request.reqid),
      body: JSON.stringify({ status }),
      title: `set ${request.label} to ${status}, as ${describeCaller(this.c.caller)}`,
      apply(answer, ctx) {
        if (succeeded(answer)) request.status = status;
        else if (unknownOutcome(answer)) request.status = 'uncertain';
        else return;
        ctx.model.touch(request);
      },
    });
  }

  toString(): string {
    return `closeRequest(${this.c.pick}, ${this.c.status}, ${this.c.caller.kind})`;
  }
}

/** POST /smartcards: a new card (a fresh cardid) for one of this sequence's open requests. */
export class CreateCard implements FuzzCommand {
  constructor(readonly c: { pick: number; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return m.lifecycle && usable(m, this.c.caller) && m.requests.some(openCreated);
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const request = pickFrom(m.recentRequests(openCreated), this.c.pick)!;
    // Fresh on every run, not generated: a replay against the same server must not collide with the original's card.
    const cardid = randomUUID();
    await r.step(m, {
      endpoint: 'create-card',
      caller: this.c.caller,
      method: 'POST',
      path: smartcardsPath(''),
      body: JSON.stringify({ requestid: request.reqid, cardid }),
      title: `assign a new card (cardid ${cardid}) to ${request.label}, as ${describeCaller(this.c.caller)}`,
      apply(answer, ctx) {
        const scid = createdId(answer);
        const key = ctx.model.templateKeyOf(request);
        if (scid && key) ctx.model.addCard(request, scid, cardid, key);
      },
    });
  }

  toString(): string {
    return `createCard(${this.c.pick}, ${this.c.caller.kind})`;
  }
}

/** GET /smartcards/{id}: a card the model knows (or an unknown id). */
export class ReadCard implements FuzzCommand {
  constructor(readonly c: { pick: number; unknown: boolean; fresh: string; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return m.lifecycle && usable(m, this.c.caller) && m.cards.length > 0;
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const card = pickFrom(m.recentCards(), this.c.pick)!;
    await r.step(m, {
      endpoint: 'read-card',
      caller: this.c.caller,
      method: 'GET',
      path: smartcardsPath('', this.c.unknown ? this.c.fresh : card.scid),
      title: `read ${this.c.unknown ? 'an unknown smart card' : card.label}, as ${describeCaller(this.c.caller)}`,
    });
  }

  toString(): string {
    return `readCard(${this.c.pick}, ${this.c.unknown}, ${this.c.caller.kind})`;
  }
}

/** PUT /requests/{reqid}/smartcards/{scid} {status: Retired}: one of this sequence's cards. */
export class RetireCard implements FuzzCommand {
  constructor(readonly c: { pick: number; caller: CallerChoice }) {}

  check(m: FuzzModel): boolean {
    return m.lifecycle && usable(m, this.c.caller) && m.cards.some((x) => x.created);
  }

  async run(m: FuzzModel, r: FuzzSequence): Promise<void> {
    const card = pickFrom(
      m.recentCards((x) => x.created),
      this.c.pick,
    )!;
    const request = requestOf(m, card);
    await r.step(m, {
      endpoint: 'retire-card',
      caller: this.c.caller,
      method: 'PUT',
      path: cardPath('', { reqid: request?.reqid ?? '', scid: card.scid }),
      body: JSON.stringify({ status: 'Retired' }),
      title: `retire ${card.label}, as ${describeCaller(this.c.caller)}`,
      apply(answer, ctx) {
        if (succeeded(answer)) card.status = 'Retired';
        else if (unknownOutcome(answer)) card.status = 'uncertain';
        else return;
        ctx.model.touch(card);
      },
    });
  }

  toString(): string {
    return `retireCard(${this.c.pick}, ${this.c.caller.kind})`;
  }
}

function openCreated(r: ModelRequest): boolean {
  return r.created && r.status === 'open';
}

function requestOf(m: FuzzModel, card: ModelCard): ModelRequest | undefined {
  return m.requests.find((r) => r.cards.includes(card.scid));
}

/** The id in a 2xx create answer (`"api/v1.0/requests/{id}"`), or undefined. */
function createdId(answer: Answer): string | undefined {
  if (!succeeded(answer)) return undefined;
  try {
    return idFromUri(answer.body);
  } catch {
    return undefined;
  }
}

/**
 * Every command as an arbitrary, weighted: mostly questions for responses and keys, and
 * (with `lifecycle`) enough requests, cards, closings and retirements for sequences that
 * ask about a request or card after it changed.
 */
export function commandArbitraries(lifecycle: boolean): Array<fc.Arbitrary<FuzzCommand>> {
  const caller = callerArb();
  const ask = fc
    .record({ ids: idsArb(), caller, challenge: challengeArb(), diversified: diversifiedArb(), atr: atrArb() })
    .map((c): FuzzCommand => new AskResponse(c));
  const key = fc.record({ ids: idsArb(), caller }).map((c): FuzzCommand => new AskKey(c));
  if (!lifecycle) return [fc.oneof({ weight: 4, arbitrary: ask }, { weight: 1, arbitrary: key })];
  const unknown = fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
  return [
    fc.oneof(
      { weight: 8, arbitrary: ask },
      { weight: 2, arbitrary: key },
      { weight: 4, arbitrary: fc.record({ card: indexArb(), caller }).map((c): FuzzCommand => new CreateRequest(c)) },
      { weight: 2, arbitrary: fc.record({ pick: indexArb(), unknown, fresh: fc.uuid({ version: 4 }), caller }).map((c): FuzzCommand => new ReadRequest(c)) },
      {
        weight: 3,
        arbitrary: fc
          .record({ pick: indexArb(), status: fc.constantFrom<ClosedStatus>(...CLOSED_STATUSES), caller })
          .map((c): FuzzCommand => new CloseRequest(c)),
      },
      { weight: 4, arbitrary: fc.record({ pick: indexArb(), caller }).map((c): FuzzCommand => new CreateCard(c)) },
      { weight: 1, arbitrary: fc.record({ pick: indexArb(), unknown, fresh: fc.uuid({ version: 4 }), caller }).map((c): FuzzCommand => new ReadCard(c)) },
      { weight: 3, arbitrary: fc.record({ pick: indexArb(), caller }).map((c): FuzzCommand => new RetireCard(c)) },
    ),
  ];
}
