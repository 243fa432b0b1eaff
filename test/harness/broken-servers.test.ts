import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../harness/cases/index.js';
import { startEmbedded, type EmbeddedServer } from '../../harness/embedded.js';
import type { Outcome, RunReport } from '../../harness/events.js';
import { exitCodeFor, runConformance } from '../../harness/runner.js';
import { DEFECTS, HANG_TIMEOUT_MS, startBrokenServer, type Defect, type Delivery } from './support/broken-server.js';
import { acceptsDuplicateAuthorization } from './support/duplicate-auth.js';

// The suite is only worth what it catches: each deliberately broken server must be failed
// at the case (and level) that names its defect, while correct servers pass clean.

async function runAgainst(defect?: Defect, delivery?: Delivery): Promise<RunReport> {
  const server = await startBrokenServer(defect, delivery ? { delivery } : {});
  try {
    return await runConformance({ config: server.config, caseTimeoutMs: 10_000 });
  } finally {
    await server.close();
  }
}

function outcomeOf(report: RunReport, id: string): { outcome: Outcome; message: string } {
  const r = report.results.find((x) => x.id === id);
  if (!r) throw new Error(`case ${id} is not in the report`);
  return r;
}

function notPassed(report: RunReport): string[] {
  return report.results.filter((r) => r.outcome !== 'passed').map((r) => `${r.id}: ${r.outcome}: ${r.message}`);
}

describe('correct servers pass clean', () => {
  it('the broken-server harness with no defect: every case passes', async () => {
    const report = await runAgainst();
    expect(notPassed(report)).toEqual([]);
    expect(report.results).toHaveLength(CATALOGUE.length);
    expect(exitCodeFor(report)).toBe(0);
  });

  let embedded: EmbeddedServer;
  beforeAll(async () => {
    embedded = await startEmbedded();
  });
  afterAll(async () => {
    await embedded?.close();
  });

  it('the reference server: every case passes, none skipped', async () => {
    const report = await runConformance({ config: embedded.config });
    // auth.duplicate holds exactly when the server refuses a second Authorization header
    // (a reference server from before that refusal takes the first: then it must warn).
    const duplicates = await acceptsDuplicateAuthorization(embedded.config);
    const expected = duplicates ? ['auth.duplicate: warning'] : [];
    expect(notPassed(report).map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual(expected);
    expect(report.summary).toEqual({ passed: CATALOGUE.length - expected.length, failed: 0, warnings: expected.length, skipped: 0 });
  });

  // What a client must cope with from a correct server: each delivery passes clean.
  it.each(['slow', 'chunked', 'close-each'] as Delivery[])(
    'a correct server that is %s: every case passes',
    async (delivery) => {
      const report = await runAgainst(undefined, delivery);
      expect(notPassed(report)).toEqual([]);
      expect(report.results).toHaveLength(CATALOGUE.length);
    },
    60_000,
  );
});

/** defect -> the cases that must catch it, with the outcome their level gives and what the message must say. */
const EXPECTED: Array<[Defect, Array<[string, Outcome, RegExp]>]> = [
  [
    'wrong-key',
    [
      ['response.correct', 'failed', /refused/],
      ['example.documented', 'failed', /expected/],
      ['exchange.unlock', 'failed', /card refused the response/],
    ],
  ],
  // The all-zero key is DES-weak: a decrypting server passes the documented example and fails every other key.
  [
    'decrypt',
    [
      ['response.correct', 'failed', /decryption/],
      ['example.documented', 'passed', /as documented/],
    ],
  ],
  [
    'ignore-diversified',
    [
      ['response.diversified', 'failed', /diversified=True.*default key/],
      ['exchange.enroll-diversify', 'failed', /refused/],
    ],
  ],
  ['hex-body', [['response.format', 'failed', /hex/]]],
  ['unquoted-body', [['response.format', 'failed', /not JSON/]]],
  [
    'text-plain',
    [
      ['response.format', 'failed', /Content-Type.*text\/plain/],
      ['response.correct', 'passed', /accepted/],
    ],
  ],
  [
    'case-sensitive-path',
    [
      ['path.case-insensitive', 'failed', /lower case/],
      ['response.correct', 'passed', /accepted/],
    ],
  ],
  ['reject-False', [['query.boolean-spelling', 'failed', /diversified=False: answered 400/]]],
  ['reject-lower-true', [['query.boolean-spelling', 'failed', /diversified=true: answered 400/]]],
  ['no-percent-decoding', [['query.encoding', 'failed', /challenge with/]]],
  [
    'no-auth',
    [
      ['auth.anonymous', 'failed', /anonymous caller got 200/],
      ['auth.forbidden', 'failed', /got 200/],
      ['diversifiedkey.auth', 'failed', /without authorization/],
    ],
  ],
  ['cardid-optional', [['params.required', 'failed', /without cardid the server answered 200/]]],
  [
    'ids-not-cross-checked',
    [
      ['ids.request-mismatch', 'warning', /answered 200/],
      ['ids.cardid-mismatch', 'warning', /answered 200/],
      ['ids.unknown', 'passed', /404/],
    ],
  ],
  [
    'stack-on-malformed',
    [
      ['input.malformed-challenge', 'warning', /got 500/],
      ['errors.no-leak', 'warning', /stack frame/],
      ['errors.json-body', 'warning', /text\/plain/],
    ],
  ],
  ['wrong-length', [['response.format', 'failed', /7 bytes for a 8-byte challenge/]]],
  [
    'hang',
    [
      ['response.diversified', 'failed', new RegExp(`no complete answer within ${HANG_TIMEOUT_MS} ms`)],
      ['response.format', 'passed', /200/],
    ],
  ],
  ['key-201', [['diversifiedkey.consistent', 'failed', /answered 201, expected 200 \(body not shown/]]],
  ['unquoted-key', [['diversifiedkey.consistent', 'failed', /not JSON \(body not shown/]]],
  [
    'key-disagrees',
    [
      ['diversifiedkey.consistent', 'failed', /differs from the configured diversifiedKey/],
      ['response.diversified', 'passed', /True answered under the diversified key/],
    ],
  ],
  [
    'cbc',
    [
      ['response.multi-block', 'warning', /CBC chaining/],
      ['response.correct', 'passed', /accepted/],
    ],
  ],
  ['unknown-ids-200', [['ids.unknown', 'failed', /unknown reqid: answered 200/]]],
  ['accept-post', [['method.not-allowed', 'warning', /POST answered 200/]]],
  [
    'random-response',
    [
      ['response.deterministic', 'warning', /two different answers/],
      ['response.correct', 'failed', /refused/],
    ],
  ],
  [
    'reject-atr',
    [
      ['query.atr', 'warning', /with atr=.*answered 400/],
      ['exchange.unlock', 'failed', /answered 400/],
    ],
  ],
  // What one-at-a-time requests cannot see: a shared buffer answers right alone, wrong beside another request.
  [
    'shared-buffer',
    [['concurrency', 'failed', /answers wrong under concurrency.*the right response to another request in flight.*right alone, wrong under concurrency/]],
  ],
  [
    'key-in-error',
    [
      ['secrets.no-leak', 'failed', /answered 400 carrying card \w+'s admin key as hex/],
      ['errors.no-leak', 'passed', /none shows internals/],
    ],
  ],
  [
    'garbage-token-accepted',
    [
      ['auth.invalid', 'failed', /a garbage bearer token got 200/],
      ['auth.anonymous', 'passed', /401/],
      ['auth.forbidden', 'passed', /403/],
    ],
  ],
  [
    'hex-challenge',
    [
      ['input.hex-challenge', 'warning', /16 hex digits [0-9A-F]{16} \(card alpha\) got 200.*read as hex/],
      ['input.malformed-challenge', 'passed', /400/],
    ],
  ],
  [
    'duplicate-auth-first-wins',
    [
      ['auth.duplicate', 'warning', /the configured Authorization, then the forbidden caller's got 200/],
      ['auth.invalid', 'passed', /401/],
    ],
  ],
];

describe('each broken server is caught at the right case and level', () => {
  it.each(EXPECTED)('%s', async (defect, expectations) => {
    const report = await runAgainst(defect);
    for (const [id, outcome, message] of expectations) {
      const got = outcomeOf(report, id);
      expect({ id, outcome: got.outcome }).toEqual({ id, outcome });
      expect(got.message).toMatch(message);
    }
    // The run always goes to the end: one result per case.
    expect(report.results).toHaveLength(CATALOGUE.length);
    const mustFailed = expectations.some(([, o]) => o === 'failed');
    expect(exitCodeFor(report)).toBe(mustFailed ? 1 : 0);
  });
});

describe('the broken servers themselves', () => {
  it('every defect has an expectation above (a defect nobody checks proves nothing)', () => {
    // echo-headers: test/harness/redaction.test.ts; reject-lower-true: below.
    const covered = new Set([...EXPECTED.map(([d]) => d), 'echo-headers', 'reject-lower-true']);
    expect(DEFECTS.filter((d) => !covered.has(d))).toEqual([]);
  });

  it('only the hang server gets a short request timeout; the others have room for a busy machine', async () => {
    for (const defect of [undefined, 'wrong-key', 'hang'] as const) {
      const server = await startBrokenServer(defect);
      await server.close();
      expect([defect, server.config.timeoutMs]).toEqual([defect, defect === 'hang' ? HANG_TIMEOUT_MS : 5000]);
    }
  });
});

describe('query.boolean-spelling without a known diversified key', () => {
  // The server knows the cards' diversified keys, the config does not: True/true cannot be verified, only compared.
  async function run(defect?: Defect): Promise<{ outcome: Outcome; message: string }> {
    const server = await startBrokenServer(defect);
    try {
      const cards = server.config.cards.map(({ diversifiedKey: _unknown, ...card }) => card);
      const report = await runConformance({ config: { ...server.config, cards }, grep: /^query\.boolean-spelling$/ });
      return outcomeOf(report, 'query.boolean-spelling');
    } finally {
      await server.close();
    }
  }

  it('still sends True and true, and says their responses were not verified', async () => {
    expect(await run()).toEqual(
      expect.objectContaining({ outcome: 'passed', message: expect.stringMatching(/True and true both answered 200 \(their responses not verified/) }),
    );
  });

  it('fails a server that treats true and True differently', async () => {
    expect(await run('reject-lower-true')).toEqual(
      expect.objectContaining({ outcome: 'failed', message: expect.stringMatching(/True answered 200 but diversified=true answered 400/) }),
    );
  });
});
