import { describe, expect, it } from 'vitest';
import { cardsOf, pooledRandom, runLoad, type LoadPlan } from '../../harness/load/engine.js';
import { decodeCryptogram } from '../../harness/wire/decode.js';
import type { Reply } from '../../harness/wire/load-transport.js';
import { TransportError } from '../../harness/wire/transport-error.js';
import { judgeLoad, summariseLoad } from '../../harness/load/summary.js';
import { seededRandom } from '../../simulator/random.js';
import { tdesEncrypt } from '../../simulator/tdes.js';

const KEY = Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex');
const OTHER_KEY = Buffer.from('89abcdef012345670123456789abcdeffedcba9876543210', 'hex');
const CARD = { adminKey: KEY, cardid: '33333333-3333-4333-8333-333333333333' };

/** An in-process server: answers by its own call counter (exact mix whatever the concurrency). */
function mixSend(o: { wrongEvery?: number; statusEvery?: number; failEvery?: number; key?: Buffer }): { send: LoadPlan['send']; calls: () => number } {
  let calls = 0;
  let oks = 0;
  const send = async (_card: number, challenge: Buffer): Promise<Reply> => {
    calls += 1;
    const n = calls;
    await new Promise((r) => setImmediate(r)); // interleave the workers
    if (o.failEvery && n % o.failEvery === 0) throw new TransportError('reset', 'socket hang up');
    if (o.statusEvery && n % o.statusEvery === 0) return { status: 500, body: '{"Message":"x"}' };
    oks += 1;
    const r = tdesEncrypt(o.key ?? KEY, challenge);
    if (o.wrongEvery && oks % o.wrongEvery === 0) r[0]! ^= 1;
    return { status: 200, body: JSON.stringify(r.toString('base64')) };
  };
  return { send, calls: () => calls };
}

describe('load engine: counting', () => {
  it('counts a known mix exactly: every 7th request 500, every 10th cryptogram wrong', async () => {
    const server = mixSend({ statusEvery: 7, wrongEvery: 10 });
    const stats = await runLoad({ cards: [CARD], concurrency: 8, stop: { exchanges: 700 }, send: server.send });
    expect(server.calls()).toBe(700);
    expect(stats.exchanges).toBe(700);
    expect(stats.statusCodes).toEqual({ '200': 600, '500': 100 });
    expect(stats.errors).toBe(100);
    expect(stats.wrongCryptograms).toBe(60);
    expect(stats.verified).toBe(540);
    expect(stats.malformedBodies).toBe(0);
    expect(stats.latency.count).toBe(700);
    const summary = summariseLoad(stats);
    expect(summary).toMatchObject({ exchanges: 700, wrongCryptograms: 60, errors: 100, statusCodes: { '200': 600, '500': 100 } });
    expect(judgeLoad(stats, summary, 0.5)).toMatchObject({ exitCode: 1 });
    expect(judgeLoad(stats, summary, 0.5).reason).toMatch(/60 response\(s\) failed card verification/);
  });

  it('counts transport failures as errors with no status code', async () => {
    const server = mixSend({ failEvery: 5 });
    const stats = await runLoad({ cards: [CARD], concurrency: 3, stop: { exchanges: 100 }, send: server.send });
    expect(stats).toMatchObject({ exchanges: 100, errors: 20, wrongCryptograms: 0, verified: 80, transportErrors: { reset: 20 }, statusCodes: { '200': 80 } });
    expect(stats.latency.count).toBe(80);
    expect(stats.firstTransportError).toBe('reset: socket hang up');
    expect(stats.unreachable).toBe(false);
  });

  it('runs exactly N exchanges, also with more workers than exchanges', async () => {
    for (const [n, c] of [[1, 1], [5, 64], [37, 4]] as const) {
      const server = mixSend({});
      const stats = await runLoad({ cards: [CARD], concurrency: c, stop: { exchanges: n }, send: server.send });
      expect(server.calls()).toBe(n);
      expect(stats.exchanges).toBe(n);
      expect(stats.verified).toBe(n);
    }
  });

  it('judges a card answered under another key as wrong every time', async () => {
    const server = mixSend({ key: OTHER_KEY });
    const stats = await runLoad({ cards: [CARD], concurrency: 2, stop: { exchanges: 20 }, send: server.send });
    expect(stats).toMatchObject({ wrongCryptograms: 20, verified: 0, errors: 0 });
  });

  it('counts malformed 200 bodies as wrong cryptograms, apart from errors', async () => {
    const bodies = ['F0Zudm4wPLY=', '"F0Zudm4wPLY"', '"F0Zudm4wPLY=F0Zudm4wPLY="', '{"r":"F0Zudm4wPLY="}', '"!!!!!!!!!!!="', ''];
    let i = 0;
    const send = async (): Promise<Reply> => ({ status: 200, body: bodies[i++ % bodies.length]! });
    const stats = await runLoad({ cards: [CARD], concurrency: 1, stop: { exchanges: bodies.length }, send });
    expect(stats).toMatchObject({ wrongCryptograms: bodies.length, malformedBodies: bodies.length, errors: 0, verified: 0 });
  });

  it('gives every card its own key: each card is answered under its own key', async () => {
    const cards = [CARD, { adminKey: OTHER_KEY, cardid: '66666666-6666-4666-8666-666666666666' }];
    const seen = [0, 0];
    const send = async (cardIndex: number, challenge: Buffer): Promise<Reply> => {
      seen[cardIndex]! += 1;
      return { status: 200, body: JSON.stringify(tdesEncrypt(cards[cardIndex]!.adminKey, challenge).toString('base64')) };
    };
    const stats = await runLoad({ cards, concurrency: 1, stop: { exchanges: 10 }, send });
    expect(stats).toMatchObject({ verified: 10, wrongCryptograms: 0 });
    expect(seen).toEqual([5, 5]); // one worker alternates over both cards
  });

  it('stops early as unreachable when no request ever got a response', async () => {
    let calls = 0;
    const send = async (): Promise<Reply> => {
      calls += 1;
      throw new TransportError('refused', 'connect ECONNREFUSED 127.0.0.1:9');
    };
    const stats = await runLoad({ cards: [CARD], concurrency: 4, stop: { durationMs: 60_000 }, send });
    expect(stats.unreachable).toBe(true);
    expect(calls).toBeLessThan(8); // about one attempt per worker, not a minute of retries
    const verdict = judgeLoad(stats, summariseLoad(stats), 1);
    expect(verdict).toEqual({ exitCode: 3, reason: 'server unreachable: refused: connect ECONNREFUSED 127.0.0.1:9' });
  });

  it('a body over the size cap is an answer, not unreachable (the rule of harness/reachable.ts)', async () => {
    const send = async (): Promise<Reply> => {
      throw new TransportError('too-large', 'body over the cap');
    };
    const stats = await runLoad({ cards: [CARD], concurrency: 2, stop: { exchanges: 6 }, send });
    expect(stats).toMatchObject({ unreachable: false, exchanges: 6, errors: 6, transportErrors: { 'too-large': 6 } });
  });

  it('is not unreachable once any response came', async () => {
    let calls = 0;
    const send = async (_c: number, challenge: Buffer): Promise<Reply> => {
      calls += 1;
      if (calls > 1) throw new TransportError('refused', 'refused');
      return { status: 200, body: JSON.stringify(tdesEncrypt(KEY, challenge).toString('base64')) };
    };
    const stats = await runLoad({ cards: [CARD], concurrency: 1, stop: { exchanges: 10 }, send });
    expect(stats).toMatchObject({ unreachable: false, exchanges: 10, errors: 9, verified: 1 });
    expect(judgeLoad(stats, summariseLoad(stats), 0)).toMatchObject({ exitCode: 1 });
    expect(judgeLoad(stats, summariseLoad(stats), 0.9)).toMatchObject({ exitCode: 0 });
  });

  it('honours a duration bound and stops by itself (loose bound)', async () => {
    const send = async (_c: number, challenge: Buffer): Promise<Reply> => {
      await new Promise((r) => setTimeout(r, 2));
      return { status: 200, body: JSON.stringify(tdesEncrypt(KEY, challenge).toString('base64')) };
    };
    const stats = await runLoad({ cards: [CARD], concurrency: 4, stop: { durationMs: 300 }, send });
    expect(stats.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(stats.elapsedMs).toBeLessThan(10_000);
    expect(stats.exchanges).toBeGreaterThan(0);
    expect(stats.verified).toBe(stats.exchanges);
  });

  it('stops on abort and counts the exchanges in flight', async () => {
    const controller = new AbortController();
    let calls = 0;
    const send = async (_c: number, challenge: Buffer): Promise<Reply> => {
      calls += 1;
      if (calls === 50) controller.abort();
      await new Promise((r) => setImmediate(r));
      return { status: 200, body: JSON.stringify(tdesEncrypt(KEY, challenge).toString('base64')) };
    };
    const stats = await runLoad({ cards: [CARD], concurrency: 2, stop: { durationMs: 60_000 }, send, signal: controller.signal });
    expect(stats.interrupted).toBe(true);
    expect(stats.exchanges).toBe(calls);
    expect(calls).toBeLessThanOrEqual(51);
  });

  it('refuses plans with no card, bad concurrency or bad bounds', () => {
    const send = async (): Promise<Reply> => ({ status: 200, body: '' });
    expect(() => runLoad({ cards: [], concurrency: 1, stop: { exchanges: 1 }, send })).toThrow(/at least one card/);
    expect(() => runLoad({ cards: [CARD], concurrency: 0, stop: { exchanges: 1 }, send })).toThrow(/concurrency/);
    expect(() => runLoad({ cards: [CARD], concurrency: 1, stop: { exchanges: 0 }, send })).toThrow(/exchanges/);
    expect(() => runLoad({ cards: [CARD], concurrency: 1, stop: { durationMs: Number.POSITIVE_INFINITY }, send })).toThrow(/duration/);
  });
});

describe('load engine: helpers', () => {
  it('decodes only a quoted base64 string of the challenge length', () => {
    expect(decodeCryptogram('"F0Zudm4wPLY="', 8)?.toString('hex')).toBe('17466e766e303cb6');
    expect(decodeCryptogram(' "F0Zudm4wPLY="\n', 8)?.toString('hex')).toBe('17466e766e303cb6');
    expect(decodeCryptogram('"F0Zudm4wPLY="', 16)).toBeNull();
    expect(decodeCryptogram('F0Zudm4wPLY=', 8)).toBeNull();
    expect(decodeCryptogram('"F0Zudm4wPLY"', 8)).toBeNull();
    expect(decodeCryptogram('"F0Zudm4w-LY="', 8)).toBeNull();
    expect(decodeCryptogram('"17466e766e30"', 8)).toBeNull();
  });

  it('spreads cards over workers: every card played, none by two workers unless workers outnumber cards', () => {
    expect([0, 1, 2].map((w) => cardsOf(w, 3, 7))).toEqual([[0, 3, 6], [1, 4], [2, 5]]);
    expect([0, 1, 2, 3].map((w) => cardsOf(w, 4, 2))).toEqual([[0], [1], [0], [1]]);
  });

  it('pooled random hands out the source bytes in order, as copies', () => {
    const direct = seededRandom('x')(4096 * 2);
    const pooled = pooledRandom(seededRandom('x'));
    const parts: Buffer[] = [];
    for (let i = 0; i < 1024; i++) parts.push(pooled(8));
    const joined = Buffer.concat(parts);
    expect(joined.equals(direct.subarray(0, 8192))).toBe(true);
    parts[0]!.fill(0);
    expect(parts[1]!.equals(direct.subarray(8, 16))).toBe(true);
  });
});
