/**
 * The Pact consumer side: the harness's real CM client (harness/cm-client.ts) against the
 * Pact mock server, one interaction per promise the documentation makes. The pact is
 * written to a scratch directory; the last test compares it with the committed
 * contracts/pacts/cmcard-mim-cm.json (drift check) and, with CMCARD_UPDATE_PACTS=1,
 * replaces the committed file.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V3MockServer as MockServer } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import {
  APPROVED_REQUEST,
  CALLERS,
  EXAMPLE,
  EXAMPLE_CARD,
  KEYLESS_CARD,
  LOWER_CASE_BASE_PATH,
  NON_WEAK,
  NON_WEAK_CARD,
  OTHER_CARD,
  TAG,
  type Caller,
} from '../../contracts/fixtures.js';
import { cm, cmPact, guid, PACT_FILE_NAME } from '../../contracts/interactions.js';
import { committedPactPath, normalisePact, readPact } from '../../contracts/pact-file.js';
import { cardWithKey, cardWithoutKey, request, smartCard } from '../../contracts/states.js';
import { CmClient, type CmResponse } from '../../harness/wire/cm-client.js';
import { decodeBase64Body, idFromUri } from '../../harness/wire/decode.js';
import { runInteraction } from './support/run-interaction.js';

const scratch = mkdtempSync(join(tmpdir(), 'cmcard-pact-'));
const pact = cmPact(scratch);
const clients: CmClient[] = [];

afterAll(() => {
  for (const c of clients) c.close();
  rmSync(scratch, { recursive: true, force: true });
});

function clientFor(mock: MockServer, caller: Caller = 'helpdesk'): CmClient {
  const headers: Record<string, string> = caller === 'anonymous' ? {} : { Authorization: CALLERS[caller] };
  const c = new CmClient({ server: mock.url, headers });
  clients.push(c);
  return c;
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
/** Only the ids: a fixture's atr must not leak into a request whose interaction has none. */
const ids = (card: { reqid: string; scid: string; cardid: string }) => ({ reqid: card.reqid, scid: card.scid, cardid: card.cardid });

describe('authenticationresponse', () => {
  it('answers the documented example byte for byte (lower-case path, encoded challenge, diversified=False)', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(EXAMPLE_CARD))
          .uponReceiving('the documented example request')
          .authenticationResponse({ card: EXAMPLE_CARD, challenge: EXAMPLE.challenge, diversified: 'False', basePath: LOWER_CASE_BASE_PATH })
          .answersBase64(EXAMPLE.response),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse(
          { ...ids(EXAMPLE_CARD), challenge: hex('d61143f9ccffd2ca'), diversified: false },
          { basePath: LOWER_CASE_BASE_PATH },
        );
        expect(decodeBase64Body(res).toString('hex')).toBe('17466e766e303cb6');
      },
    );
  });

  it('encrypts (not decrypts) under a non-weak default key', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(NON_WEAK_CARD))
          .uponReceiving('a response request for a card on a non-weak key')
          .authenticationResponse({ card: NON_WEAK_CARD, challenge: NON_WEAK.challenge, diversified: 'False' })
          .answersBase64(NON_WEAK.response),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(NON_WEAK_CARD), challenge: hex(NON_WEAK.challengeHex), diversified: false });
        expect(decodeBase64Body(res).toString('hex')).toBe(NON_WEAK.responseHex);
      },
    );
  });

  it('uses the diversified key when diversified=True', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(EXAMPLE_CARD))
          .uponReceiving('a response request with diversified=True')
          .authenticationResponse({ card: EXAMPLE_CARD, challenge: EXAMPLE.challenge, diversified: 'True' })
          .answersBase64(EXAMPLE.diversifiedResponse),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(EXAMPLE_CARD), challenge: hex('d61143f9ccffd2ca'), diversified: true });
        expect(decodeBase64Body(res).toString('base64')).toBe(EXAMPLE.diversifiedResponse);
      },
    );
  });

  it('accepts lower-case false, answering the exact cryptogram (docs/protocol.md#known-answer-vectors vector, non-weak key)', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(NON_WEAK_CARD))
          .uponReceiving('a response request with lower-case false')
          .authenticationResponse({ card: NON_WEAK_CARD, challenge: NON_WEAK.challenge, diversified: 'false' })
          .answersBase64(NON_WEAK.response),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(NON_WEAK_CARD), challenge: hex(NON_WEAK.challengeHex), diversified: 'false' });
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(decodeBase64Body(res).toString('hex')).toBe(NON_WEAK.responseHex);
      },
    );
  });

  it('refuses a caller without rights with 403', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(EXAMPLE_CARD))
          .as('noRights')
          .uponReceiving('a response request from a caller without rights')
          .authenticationResponse({ card: EXAMPLE_CARD, challenge: EXAMPLE.challenge, diversified: 'False' })
          .answersError(403, 'the caller may not obtain admin key responses'),
      async (mock) => {
        const res = await clientFor(mock, 'noRights').authenticationResponse({ ...ids(EXAMPLE_CARD), challenge: EXAMPLE.challenge, diversified: false });
        expectNoResponseBytes(res, 403);
      },
    );
  });

  it('refuses an anonymous caller with 401', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(EXAMPLE_CARD))
          .as('anonymous')
          .uponReceiving('a response request without credentials')
          .authenticationResponse({ card: EXAMPLE_CARD, challenge: EXAMPLE.challenge, diversified: 'False' })
          .answersStatus(401),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(EXAMPLE_CARD), challenge: EXAMPLE.challenge, diversified: false }, { headers: null });
        expectNoResponseBytes(res, 401);
      },
    );
  });

  it('answers 204 for a smart card without a Base CSP admin key', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithoutKey(KEYLESS_CARD))
          .uponReceiving('a response request for a smart card without a Base CSP admin key')
          .authenticationResponse({ card: KEYLESS_CARD, challenge: EXAMPLE.challenge, diversified: 'False' })
          .answersStatus(204),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(KEYLESS_CARD), challenge: EXAMPLE.challenge, diversified: false });
        expectNoResponseBytes(res, 204);
      },
    );
  });

  it('answers 404 when the smart card does not belong to the request', async () => {
    const mismatched = { reqid: NON_WEAK_CARD.reqid, scid: OTHER_CARD.scid, cardid: OTHER_CARD.cardid };
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(NON_WEAK_CARD), cardWithKey(OTHER_CARD))
          .uponReceiving('a response request whose smart card belongs to another request')
          .authenticationResponse({ card: mismatched, challenge: NON_WEAK.challenge, diversified: 'False' })
          .answersError(404, 'smart card not found in this request'),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(mismatched), challenge: hex(NON_WEAK.challengeHex), diversified: false });
        expectNoResponseBytes(res, 404);
      },
    );
  });

  it('answers 400 for a malformed challenge', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(NON_WEAK_CARD))
          .uponReceiving('a response request with a challenge that is not base64')
          .authenticationResponse({ card: NON_WEAK_CARD, challenge: 'not-base64!', diversified: 'False' })
          .answersError(400, 'challenge is not base64'),
      async (mock) => {
        const res = await clientFor(mock).authenticationResponse({ ...ids(NON_WEAK_CARD), challenge: 'not-base64!', diversified: false });
        expectNoResponseBytes(res, 400);
      },
    );
  });
});

describe('diversifiedkey', () => {
  it('answers the documented diversified key for the example card', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(EXAMPLE_CARD))
          .uponReceiving('the documented diversified key request')
          .diversifiedKey(EXAMPLE_CARD)
          .answersBase64(EXAMPLE.diversifiedKey),
      async (mock) => {
        const res = await clientFor(mock).diversifiedKey(ids(EXAMPLE_CARD));
        expect(decodeBase64Body(res).toString('hex')).toBe(EXAMPLE_CARD.diversifiedKey);
      },
    );
  });

  it('answers any card with a JSON string holding base64 of 24 bytes', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(cardWithKey(NON_WEAK_CARD))
          .uponReceiving('a diversified key request, judged by shape')
          .diversifiedKey(NON_WEAK_CARD)
          .answersBase64Of(24, hex(NON_WEAK_CARD.diversifiedKey!).toString('base64')),
      async (mock) => {
        const res = await clientFor(mock).diversifiedKey(ids(NON_WEAK_CARD));
        expect(decodeBase64Body(res)).toHaveLength(24);
      },
    );
  });
});

describe('the request lifecycle of the unlock flow', () => {
  it('creates an Unblock request and answers its URI', async () => {
    const exampleId = '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f0ff';
    await runInteraction(
      () =>
        cm(pact)
          .given(smartCard(NON_WEAK_CARD))
          .tagged(TAG.lifecycle)
          .uponReceiving('a request to create an Unblock request for a smart card')
          .createUnblockRequest(NON_WEAK_CARD.scid)
          .answersCreated('requests', exampleId),
      async (mock) => {
        const res = await clientFor(mock).createRequest({ type: 'Unblock', smartcard: NON_WEAK_CARD.scid });
        expect(res.status).toBe(201);
        expect(idFromUri(res.body)).toBe(exampleId);
      },
    );
  });

  it('reads a request', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(request(APPROVED_REQUEST))
          .tagged(TAG.lifecycle)
          .uponReceiving('a request to read an approved request')
          .getRequest(APPROVED_REQUEST.reqid)
          .answersObject({ Uuid: guid(APPROVED_REQUEST.reqid), Status: APPROVED_REQUEST.status }),
      async (mock) => {
        const res = await clientFor(mock).getRequest(APPROVED_REQUEST.reqid);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toMatchObject({ Uuid: APPROVED_REQUEST.reqid, Status: 3 });
      },
    );
  });

  it('completes a request', async () => {
    await runInteraction(
      () =>
        cm(pact)
          .given(request(APPROVED_REQUEST))
          .tagged(TAG.lifecycle)
          .uponReceiving('a request to complete an approved request')
          .updateRequest(APPROVED_REQUEST.reqid, 'Completed')
          .answersSuccess(),
      async (mock) => {
        const res = await clientFor(mock).updateRequest(APPROVED_REQUEST.reqid, 'Completed');
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(300);
      },
    );
  });
});

describe('the committed pact', () => {
  // Runs last (tests in a file run in order): by now every interaction above has been written.
  it('matches a fresh consumer run (drift check)', () => {
    const fresh = join(scratch, PACT_FILE_NAME);
    const committed = committedPactPath();
    expect(existsSync(fresh), 'the consumer run wrote no pact').toBe(true);
    if (process.env.CMCARD_UPDATE_PACTS === '1') copyFileSync(fresh, committed);
    const how = `contracts/pacts/${PACT_FILE_NAME} is out of date with the consumer tests: review the change, then run CMCARD_UPDATE_PACTS=1 npx vitest run --project pact-consumer and commit the file`;
    expect(existsSync(committed), how).toBe(true);
    expect(normalisePact(readPact(committed)), how).toBe(normalisePact(readPact(fresh)));
    // The committed file is what pact wrote, not a hand edit of it.
    expect(JSON.parse(readFileSync(committed, 'utf8')).interactions).toHaveLength(14);
  });
});

function expectNoResponseBytes(res: CmResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(() => decodeBase64Body(res)).toThrow();
}
