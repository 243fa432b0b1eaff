import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { VirtualCard } from '../../simulator/card.js';
import { tdesCbcEncrypt, tdesDecrypt, tdesEncrypt } from '../../simulator/tdes.js';
import { CATALOGUE, type ConformanceCase } from '../../harness/cases/index.js';
import { findLeak } from '../../harness/cases/errors.js';
import { diagnose, isSelfInverse, judgeResponse } from '../../harness/cases/cryptogram.js';
import type { CmResponse } from '../../harness/wire/cm-client.js';
import type { HarnessConfig } from '../../harness/config.js';
import type { CaseResult, Reporter } from '../../harness/events.js';
import { clientOptionsFor } from '../../harness/config-client.js';
import { ensureReachable, ServerUnreachableError } from '../../harness/preflight.js';
import { exitCodeFor, runConformance } from '../../harness/runner.js';
import { BROKEN_SERVER_CARDS, startBrokenServer } from './support/broken-server.js';

// Known answers from docs/protocol.md#known-answer-vectors.
const ZERO = Buffer.alloc(24);
const K0102 = Buffer.from('010203040506070801020304050607080102030405060708', 'hex');
const DOC_DIVERSIFIED = Buffer.from('981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408', 'hex');
const CARDID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
const EXAMPLE_CHALLENGE = Buffer.from('d61143f9ccffd2ca', 'hex');
// A 3-key key whose three parts differ (so 2-key, single-DES and reversed readings all differ from it).
const K0102_3 = Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex');

const DOCUMENTED_CASES: Record<string, 'MUST' | 'SHOULD' | 'MAY'> = {
  'example.documented': 'MUST',
  'response.correct': 'MUST',
  'response.diversified': 'MUST',
  'response.format': 'MUST',
  'path.case-insensitive': 'MUST',
  'query.boolean-spelling': 'MUST',
  'query.encoding': 'MUST',
  'params.required': 'MUST',
  'auth.forbidden': 'MUST',
  'auth.anonymous': 'MUST',
  'ids.unknown': 'MUST',
  'exchange.unlock': 'MUST',
  'exchange.enroll-diversify': 'MUST',
  'diversifiedkey.consistent': 'MUST',
  'input.malformed-challenge': 'SHOULD',
  'errors.no-leak': 'SHOULD',
  'response.deterministic': 'SHOULD',
  'ids.cardid-mismatch': 'SHOULD',
  'ids.request-mismatch': 'SHOULD',
  'response.multi-block': 'MAY',
  'method.not-allowed': 'MAY',
  // What one-at-a-time requests cannot see, and credentials and inputs a server must refuse.
  concurrency: 'MUST',
  'secrets.no-leak': 'MUST',
  'auth.invalid': 'MUST',
  'auth.duplicate': 'SHOULD',
  'input.hex-challenge': 'SHOULD',
};

function ok(body: string, type = 'application/json; charset=utf-8'): CmResponse {
  return { status: 200, headers: { 'content-type': type }, body, durationMs: 1 };
}

describe('the catalogue', () => {
  it('holds every docs/cases.md case at its level, ids unique', () => {
    const ids = CATALOGUE.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [id, level] of Object.entries(DOCUMENTED_CASES)) {
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

  it('shows the challenge, the expected and the received response', () => {
    const card = VirtualCard.create({ adminKey: ZERO, pin: '1234', cardId: CARDID, random: () => Buffer.from(EXAMPLE_CHALLENGE) });
    const problem = judgeResponse(card, ZERO, card.getChallenge(), ok('"xdUoVecIEg0="'));
    // The documented example: challenge 1hFD+cz/0so=, response F0Zudm4wPLY= under the all-zero key.
    expect(problem).toMatch(
      /^the card refused the response to challenge 1hFD\+cz\/0so= \(hex D61143F9CCFFD2CA\): expected "F0Zudm4wPLY=", received "xdUoVecIEg0=": /,
    );
  });

  it('names the known transform that reproduces a wrong cryptogram', () => {
    const challenge = Buffer.from('1603ebdf1c8a2e72', 'hex');
    const k1 = K0102_3.subarray(0, 8);
    const k2 = K0102_3.subarray(8, 16);
    const k3 = K0102_3.subarray(16, 24);
    const cases: Array<[Buffer, RegExp]> = [
      [tdesEncrypt(Buffer.concat([k1, k2]), challenge), /read as 2-key 3DES/],
      [tdesEncrypt(Buffer.concat([k1, k1, k1]), challenge), /single DES/],
      [tdesEncrypt(Buffer.concat([k3, k2, k1]), challenge), /parts in reverse order \(K3 K2 K1\)/],
      [Buffer.from(tdesEncrypt(K0102_3, challenge)).reverse(), /right response with its bytes in reverse order/],
      [tdesEncrypt(K0102_3, Buffer.from(challenge).reverse()), /challenge's bytes in reverse order/],
      [Buffer.from(challenge), /echoes the challenge/],
      [tdesDecrypt(DOC_DIVERSIFIED, challenge), /decryption of the challenge under the card's diversified key/],
    ];
    for (const [wrong, says] of cases)
      expect(diagnose(wrong, K0102_3, challenge, [{ label: "the card's diversified key", key: DOC_DIVERSIFIED }])).toMatch(says);
    const twoBlocks = Buffer.concat([challenge, challenge]);
    expect(diagnose(tdesCbcEncrypt(K0102_3, Buffer.alloc(8), twoBlocks), K0102_3, twoBlocks)).toMatch(/3DES-CBC \(zero IV\).*CBC chaining instead of ECB/);
  });

  it("when nothing reproduces it, gives the expected key's KCV and never the key", () => {
    const challenge = Buffer.from('1603ebdf1c8a2e72', 'hex');
    const text = diagnose(Buffer.from('0011223344556677', 'hex'), ZERO, challenge);
    // 8CA64D: the KCV of the all-zero key, as MIM's documentation of the default key gives it.
    expect(text).toMatch(/expects has KCV 8CA64D/);
    expect(diagnose(Buffer.from('0011223344556677', 'hex'), K0102_3, challenge)).not.toMatch(new RegExp(K0102_3.toString('hex'), 'i'));
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
  return {
    server,
    basePath: '/CertificateManagement/api/v1.0',
    headers: {},
    timeoutMs: 500,
    lifecycle: false,
    cards: BROKEN_SERVER_CARDS.slice(0, 1),
    source: 'test',
    ...extra,
  };
}

describe('the runner', () => {
  it('fails a case that never finishes at its time limit and goes on', async () => {
    const hangs: ConformanceCase = { id: 'x.hangs', title: 'hangs', level: 'MUST', run: () => new Promise(() => {}) };
    const after: ConformanceCase = { id: 'x.after', title: 'after', level: 'MUST', run: async (ctx) => ctx.pass('ran') };
    const report = await runConformance({ config: config('http://127.0.0.1:9'), cases: [hangs, after], caseTimeoutMs: 100 });
    expect(report.results.map((r) => [r.id, r.outcome])).toEqual([
      ['x.hangs', 'failed'],
      ['x.after', 'passed'],
    ]);
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

      const throwing: Reporter = {
        onCaseStart: () => {
          throw new Error('boom');
        },
      };
      const again = await runConformance({ config: server.config, reporter: throwing, grep: /^response\.format$/ });
      expect(again.results[0]!.outcome).toBe('passed');
    } finally {
      await server.close();
    }
  });

  it('runs cases at the same time but reports them in catalogue order; an alone case overlaps none, a last case is judged after all', async () => {
    const log: string[] = [];
    let inFlight = 0;
    let overlapWhileAlone = false;
    const sleeper = (id: string, ms: number, extra: Partial<ConformanceCase> = {}): ConformanceCase => ({
      id,
      title: id,
      level: 'MUST',
      ...extra,
      run: async (ctx) => {
        inFlight += 1;
        log.push(`start ${id}`);
        if (extra.schedule === 'alone' && inFlight > 1) overlapWhileAlone = true;
        await new Promise((r) => setTimeout(r, ms));
        if (extra.schedule === 'last') {
          await ctx.run.othersDone();
          log.push(`judge ${id}`);
        }
        if (extra.schedule !== 'alone' && log.includes('start x.alone') && !log.includes('end x.alone')) overlapWhileAlone = true;
        log.push(`end ${id}`);
        inFlight -= 1;
        return ctx.pass(id);
      },
    });
    const cases = [
      sleeper('x.slow', 60),
      sleeper('x.last', 1, { schedule: 'last' }),
      sleeper('x.fast', 1),
      sleeper('x.alone', 5, { schedule: 'alone' }),
      sleeper('x.after', 1),
    ];
    const events: string[] = [];
    const report = await runConformance({
      config: config('http://127.0.0.1:9'),
      cases,
      reporter: { onCaseStart: (c) => events.push(`start ${c.id}`), onCaseEnd: (r) => events.push(`end ${r.id}`) },
    });
    // x.fast finished long before x.slow, yet the reporter saw the catalogue order.
    expect(log.indexOf('end x.fast')).toBeLessThan(log.indexOf('end x.slow'));
    expect(events).toEqual(cases.flatMap((c) => [`start ${c.id}`, `end ${c.id}`]));
    expect(report.results.map((r) => r.id)).toEqual(cases.map((c) => c.id));
    expect(overlapWhileAlone).toBe(false);
    // The alone case ran first, before any other started; the last one judged after every other ended.
    expect(log[0]).toBe('start x.alone');
    expect(log.slice(-2)).toEqual(['judge x.last', 'end x.last']);
    // concurrency: 1 runs the parallel ones one after the other, in catalogue order.
    log.length = 0;
    await runConformance({ config: config('http://127.0.0.1:9'), cases, concurrency: 1 });
    expect(log.filter((l) => l.startsWith('start') && l !== 'start x.last')).toEqual(['start x.alone', 'start x.slow', 'start x.fast', 'start x.after']);
    expect(log.indexOf('judge x.last')).toBeGreaterThan(log.indexOf('end x.after'));
  });

  it('marks the exchange a case failed on, not the last one sent (ignore-diversified: the diversified=True request)', async () => {
    const server = await startBrokenServer('ignore-diversified');
    try {
      const report = await runConformance({ config: { ...server.config, cards: BROKEN_SERVER_CARDS.slice(1, 2) }, grep: /^response\.diversified$/ });
      const r = report.results[0]!;
      expect(r.outcome).toBe('failed');
      const failed = r.exchanges.filter((e) => e.failed);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.request.url).toMatch(/diversified=True/);
      expect(failed[0]!.why).toBe("it was computed with the template's default key (diversified=false's key)");
      expect(failed[0]!.reproduce).toMatch(/^curl -sS -i -g '.*diversified=True' -H "Authorization: Bearer \$\{CM_TOKEN\}" -H 'Accept: application\/json'$/);
      expect(r.exchanges.filter((e) => !e.failed).every((e) => e.why === undefined && e.reproduce === undefined)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('marks the 500 that carried a stack trace, and nothing in a case that passed', async () => {
    const server = await startBrokenServer('stack-on-malformed');
    try {
      const report = await runConformance({ config: server.config, grep: /^(errors\.no-leak|response\.format)$/ });
      const [format, leak] = report.results as [CaseResult, CaseResult];
      expect(format.outcome).toBe('passed');
      expect(format.exchanges.some((e) => e.failed)).toBe(false);
      expect(leak.outcome).toBe('warning');
      const failed = leak.exchanges.filter((e) => e.failed);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((e) => e.response?.status === 500 && e.why === 'the body shows a stack frame')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('says a root cause shared by many failing cases once, in the notes', async () => {
    const server = await startBrokenServer('unquoted-body');
    try {
      const report = await runConformance({ config: server.config });
      expect(report.notes).toEqual([
        expect.stringMatching(/^likely root cause of \d+ failing cases \(.*response\.correct.*\): the body is bare base64, without the JSON string quotes$/),
      ]);
    } finally {
      await server.close();
    }
  });

  it('says once when every request with the configured credentials was answered 401', async () => {
    const server = await startBrokenServer();
    try {
      const report = await runConformance({ config: { ...server.config, headers: { Authorization: 'Bearer expired' } }, grep: /^(response|query)\./ });
      expect(report.summary.failed).toBeGreaterThan(2);
      expect(report.notes?.[0]).toMatch(
        /^likely root cause of \d+ failing cases: every request with the configured credentials was answered 401 \(\d+ requests\): the server does not accept them; check headers in broken server/,
      );
      expect(report.notes?.some((n) => /: answered 401$/.test(n))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('says in the notes when every configured admin key is DES-weak, and picks a non-weak card for single-card checks', async () => {
    const server = await startBrokenServer('decrypt');
    try {
      const weakOnly = await runConformance({ config: { ...server.config, cards: BROKEN_SERVER_CARDS.slice(0, 1) }, grep: /^response\.(correct|format)$/ });
      expect(weakOnly.results.map((r) => r.outcome)).toEqual(['passed', 'passed']);
      expect(weakOnly.notes).toEqual([expect.stringMatching(/^every configured admin key is DES-weak/)]);
      expect(weakOnly.results[0]!.message).not.toMatch(/weak/);
      // With a strong card configured, single-card checks use it, and the decrypting server is caught.
      const mixed = await runConformance({ config: server.config, grep: /^(path\.case-insensitive|query\.encoding|response\.multi-block)$/ });
      // No weak-key note; the one cause of the three failures is said once.
      expect(mixed.notes).toEqual([
        'likely root cause of 3 failing cases (path.case-insensitive, query.encoding, response.multi-block): it is the 3DES *decryption* of the challenge under the expected key, not the encryption',
      ]);
      for (const r of mixed.results) {
        expect(r.outcome).not.toBe('passed');
        expect(r.message).toMatch(/decryption/);
      }
    } finally {
      await server.close();
    }
  });

  it('secrets.no-leak judges the raw answers (reports mask keys) and names the case, never the key', async () => {
    const server = await startBrokenServer('key-in-error');
    try {
      const report = await runConformance({ config: server.config, grep: /^(errors\.json-body|secrets\.no-leak)$/ });
      const leak = report.results.find((r) => r.id === 'secrets.no-leak')!;
      expect(leak.outcome).toBe('failed');
      expect(leak.message).toMatch(/errors\.json-body: GET \S+ answered 400 carrying card example's admin key as hex/);
      // The other case's exchange is shown under this case too, marked; keys masked everywhere.
      expect(leak.exchanges.filter((e) => e.failed).length).toBeGreaterThan(1);
      const text = JSON.stringify(report);
      for (const card of BROKEN_SERVER_CARDS.slice(1))
        expect(text.toUpperCase()).not.toContain(card.adminKey.toString('hex').toUpperCase().match(/../g)!.join(' '));
      expect(text).toContain('[redacted]');
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
    await expect(ensureReachable(clientOptionsFor(config(`http://127.0.0.1:${port}`)))).rejects.toMatchObject({
      constructor: ServerUnreachableError,
      exitCode: 3,
      message: expect.stringMatching(/^server unreachable \(refused\): /),
    });
    const server = await startBrokenServer();
    try {
      await expect(ensureReachable(clientOptionsFor(server.config))).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
