import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { VirtualCard } from '../../simulator/card.js';
import { tdesDecrypt, tdesEncrypt } from '../../simulator/tdes.js';
import { CATALOGUE, type ConformanceCase } from '../../harness/cases/index.js';
import { findLeak } from '../../harness/cases/errors.js';
import { diagnose, isSelfInverse, judgeResponse } from '../../harness/cases/cryptogram.js';
import type { CmResponse } from '../../harness/wire/cm-client.js';
import type { HarnessConfig } from '../../harness/config.js';
import type { Reporter } from '../../harness/events.js';
import { clientOptionsFor } from '../../harness/config-client.js';
import { ensureReachable, ServerUnreachableError } from '../../harness/preflight.js';
import { exitCodeFor, runConformance } from '../../harness/runner.js';
import { BROKEN_SERVER_CARDS, startBrokenServer } from './support/broken-server.js';

// Known answers from DOMAIN.md section 6.
const ZERO = Buffer.alloc(24);
const K0102 = Buffer.from('010203040506070801020304050607080102030405060708', 'hex');
const DOC_DIVERSIFIED = Buffer.from('981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408', 'hex');
const CARDID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
const EXAMPLE_CHALLENGE = Buffer.from('d61143f9ccffd2ca', 'hex');

const SPEC_CASES: Record<string, 'MUST' | 'SHOULD' | 'MAY'> = {
  'example.documented': 'MUST', 'response.correct': 'MUST', 'response.diversified': 'MUST', 'response.format': 'MUST',
  'path.case-insensitive': 'MUST', 'query.boolean-spelling': 'MUST', 'query.encoding': 'MUST', 'params.required': 'MUST',
  'auth.forbidden': 'MUST', 'auth.anonymous': 'MUST', 'ids.unknown': 'MUST', 'exchange.unlock': 'MUST',
  'exchange.enroll-diversify': 'MUST', 'diversifiedkey.consistent': 'MUST',
  'input.malformed-challenge': 'SHOULD', 'errors.no-leak': 'SHOULD', 'response.deterministic': 'SHOULD',
  'ids.cardid-mismatch': 'SHOULD', 'ids.request-mismatch': 'SHOULD',
  'response.multi-block': 'MAY', 'method.not-allowed': 'MAY',
};

function ok(body: string, type = 'application/json; charset=utf-8'): CmResponse {
  return { status: 200, headers: { 'content-type': type }, body, durationMs: 1 };
}

describe('the catalogue', () => {
  it('holds every SPEC.md section 5 case at its level, ids unique', () => {
    const ids = CATALOGUE.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [id, level] of Object.entries(SPEC_CASES)) {
      expect(CATALOGUE.find((c) => c.id === id)?.level, id).toBe(level);
    }
  });

  it('runs MUST cases before SHOULD before MAY', () => {
    const rank = { MUST: 0, SHOULD: 1, MAY: 2 };
    const ranks = CATALOGUE.map((c) => rank[c.level]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });
});

describe('judgeResponse and diagnose', () => {
  it('accepts the documented example and the minidriver sample', () => {
    const card = VirtualCard.create({ adminKey: ZERO, pin: '1234', cardId: CARDID, random: () => Buffer.from(EXAMPLE_CHALLENGE) });
    const challenge = card.getChallenge();
    expect(judgeResponse(card, ZERO, challenge, ok('"F0Zudm4wPLY="'))).toBeNull();
    const sample = Buffer.from('a892d75601617c5d', 'hex');
    const card2 = VirtualCard.create({ adminKey: ZERO, pin: '1234', cardId: CARDID, random: () => Buffer.from(sample) });
    card2.getChallenge();
    const response = Buffer.from('1951ec3ef81bbabb', 'hex').toString('base64');
    expect(judgeResponse(card2, ZERO, sample, ok(JSON.stringify(response)))).toBeNull();
  });

  it('accepts the documented diversified response under the documented diversified key', () => {
    const card = VirtualCard.create({ adminKey: DOC_DIVERSIFIED, pin: '1234', cardId: CARDID, random: () => Buffer.from(EXAMPLE_CHALLENGE) });
    expect(judgeResponse(card, DOC_DIVERSIFIED, card.getChallenge(), ok('"xdUoVecIEg0="'))).toBeNull();
  });

  it('names decryption instead of encryption (non-weak key)', () => {
    const challenge = Buffer.from('1603ebdf1c8a2e72', 'hex');
    const card = VirtualCard.create({ adminKey: K0102, pin: '1234', cardId: CARDID, random: () => Buffer.from(challenge) });
    card.getChallenge();
    const wrong = tdesDecrypt(K0102, challenge).toString('base64');
    expect(judgeResponse(card, K0102, challenge, ok(JSON.stringify(wrong)))).toMatch(/decryption/);
  });

  it('names the other key when the server used it', () => {
    const challenge = Buffer.from('1603ebdf1c8a2e72', 'hex');
    const wrong = tdesEncrypt(DOC_DIVERSIFIED, challenge);
    expect(diagnose(wrong, K0102, challenge, [{ label: 'the diversified key', key: DOC_DIVERSIFIED }])).toMatch(/computed with the diversified key/);
  });

  it('reports status, non-JSON and length problems without asking the card', () => {
    const card = VirtualCard.create({ adminKey: K0102, pin: '1234' });
    const challenge = card.getChallenge();
    expect(judgeResponse(card, K0102, challenge, { ...ok('{"Message":"no"}'), status: 403 })).toMatch(/^answered 403/);
    expect(judgeResponse(card, K0102, challenge, ok('F0Zudm4wPLY='))).toMatch(/not JSON/);
    expect(judgeResponse(card, K0102, challenge, ok('"AAAA"'))).toMatch(/3 bytes for a 8-byte challenge/);
  });

  it('knows the all-zero key is self-inverse and 0102..08 x3 is not', () => {
    expect(isSelfInverse(ZERO)).toBe(true);
    expect(isSelfInverse(K0102)).toBe(false);
  });
});

describe('findLeak', () => {
  it.each([
    ['TypeError: x\n    at decode (/srv/app/auth.js:41:11)', /stack frame|exception type/],
    ['{"Message":"Traceback (most recent call last): ..."}', /traceback/i],
    ['{"Message":"System.NullReferenceException: Object reference"}', /exception type/],
    ['{"Message":"failed in C:\\\\inetpub\\\\cm\\\\web.config"}', /path|source/],
    ['{"Message":"see /home/cm/server/handler.ts"}', /source file|path/],
  ])('finds internals in %j', (body, what) => {
    expect(findLeak(body)).toMatch(what);
  });

  it.each([
    '{"Message":"challenge must be base64 of 8 to 64 bytes","CorrelationId":"5b1c2f70-0e0b-4b8e-9d0f-5d7c1c7b9a11"}',
    '{"Message":"Authorization required"}',
    '',
  ])('passes a clean error body %j', (body) => {
    expect(findLeak(body)).toBeNull();
  });
});

function config(server: string, extra: Partial<HarnessConfig> = {}): HarnessConfig {
  return { server, basePath: '/CertificateManagement/api/v1.0', headers: {}, timeoutMs: 500, lifecycle: false, cards: BROKEN_SERVER_CARDS.slice(0, 1), source: 'test', ...extra };
}

describe('the runner', () => {
  it('fails a case that never finishes at its time limit and goes on', async () => {
    const hangs: ConformanceCase = { id: 'x.hangs', title: 'hangs', level: 'MUST', run: () => new Promise(() => {}) };
    const after: ConformanceCase = { id: 'x.after', title: 'after', level: 'MUST', run: async (ctx) => ctx.pass('ran') };
    const report = await runConformance({ config: config('http://127.0.0.1:9'), cases: [hangs, after], caseTimeoutMs: 100 });
    expect(report.results.map((r) => [r.id, r.outcome])).toEqual([['x.hangs', 'failed'], ['x.after', 'passed']]);
    expect(report.results[0]!.message).toMatch(/did not finish within 100 ms/);
    expect(exitCodeFor(report)).toBe(1);
  });

  it('turns a failed SHOULD or MAY case into a warning (exit 0) and skips a case whose needs are missing', async () => {
    const should: ConformanceCase = { id: 'x.should', title: 's', level: 'SHOULD', run: async (ctx) => ctx.fail('nope') };
    const may: ConformanceCase = { id: 'x.may', title: 'm', level: 'MAY', run: async (ctx) => ctx.fail('nope') };
    const needy: ConformanceCase = { id: 'x.needy', title: 'n', level: 'MUST', needs: ['forbidden-caller'], run: async (ctx) => ctx.fail('must not run') };
    const report = await runConformance({ config: config('http://127.0.0.1:9'), cases: [should, may, needy] });
    expect(report.results.map((r) => r.outcome)).toEqual(['warning', 'warning', 'skipped']);
    expect(report.results[2]!.message).toMatch(/forbiddenHeaders/);
    expect(report.summary).toEqual({ passed: 0, failed: 0, warnings: 2, skipped: 1 });
    expect(exitCodeFor(report)).toBe(0);
  });

  it('emits events in order, exchanges attributed to their case, and survives a throwing reporter', async () => {
    const server = await startBrokenServer();
    try {
      const events: string[] = [];
      const reporter: Reporter = {
        onRunStart: (r) => events.push(`start ${r.cases.length}`),
        onCaseStart: (c) => events.push(`case ${c.id}`),
        onExchange: (id, ex) => events.push(`exchange ${id} ${ex.response?.status}`),
        onCaseEnd: (r) => events.push(`end ${r.id} ${r.outcome}`),
        onRunEnd: (r) => {
          events.push(`done ${r.summary.passed}`);
        },
      };
      const report = await runConformance({ config: server.config, reporter, grep: /^auth\.anonymous$/ });
      expect(events).toEqual(['start 1', 'case auth.anonymous', 'exchange auth.anonymous 401', 'end auth.anonymous passed', 'done 1']);
      expect(report.results[0]!.exchanges[0]!.request.headers).toEqual({ Accept: 'application/json' });

      const throwing: Reporter = { onCaseStart: () => { throw new Error('boom'); } };
      const again = await runConformance({ config: server.config, reporter: throwing, grep: /^response\.format$/ });
      expect(again.results[0]!.outcome).toBe('passed');
    } finally {
      await server.close();
    }
  });

  it('redacts the Authorization header in recorded exchanges', async () => {
    const server = await startBrokenServer();
    try {
      const report = await runConformance({ config: server.config, grep: /^response\.format$/ });
      const headers = report.results[0]!.exchanges[0]!.request.headers;
      expect(headers.Authorization).toBe('Bearer [redacted]');
      expect(JSON.stringify(report)).not.toContain('helpdesk-token');
    } finally {
      await server.close();
    }
  });

  it('ensureReachable: a closed port is unreachable (exit 3), a live server is not', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await expect(ensureReachable(clientOptionsFor(config(`http://127.0.0.1:${port}`)))).rejects.toMatchObject({ constructor: ServerUnreachableError, exitCode: 3, message: expect.stringMatching(/^server unreachable \(refused\): /) });
    const server = await startBrokenServer();
    try {
      await expect(ensureReachable(clientOptionsFor(server.config))).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
