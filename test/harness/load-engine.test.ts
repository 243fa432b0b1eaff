import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CardChallenges,
  cardsOf,
  pooledRandom,
  runLoad,
  senderOf,
  type LoadModel,
  type LoadPlan,
  type Sender,
  type StopRule,
} from '../../harness/load/engine.js';
import { Profile, type Stage } from '../../harness/load/stages.js';
import { criteriaFor, formatProgress, formatSummary, judgeLoad, summariseLoad } from '../../harness/load/summary.js';
import { parseThreshold } from '../../harness/load/thresholds.js';
import { decodeCryptogram } from '../../harness/wire/decode.js';
import type { Reply } from '../../harness/wire/load-transport.js';
import { TransportError } from '../../harness/wire/transport-error.js';
import { seededRandom } from '../../simulator/random.js';
import { tdesEncrypt } from '../../simulator/tdes.js';

const KEY = Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex');
const OTHER_KEY = Buffer.from('89abcdef012345670123456789abcdeffedcba9876543210', 'hex');
const CARD = { adminKey: KEY, cardid: '33333333-3333-4333-8333-333333333333' };
const OTHER_CARD = { adminKey: OTHER_KEY, cardid: '66666666-6666-4666-8666-666666666666' };
const right = (challenge: Buffer, key = KEY): Reply => ({ status: 200, body: JSON.stringify(tdesEncrypt(key, challenge).toString('base64')) });

const closed = (concurrency: number, stop: StopRule, stages?: Stage[]): LoadModel => ({
  kind: 'closed',
  profile: stages ? new Profile(concurrency, stages) : Profile.constant(concurrency, 'durationMs' in stop ? stop.durationMs : Number.POSITIVE_INFINITY),
});
const open = (rate: number, connections: number, stop: StopRule, stages?: Stage[]): LoadModel => ({
  kind: 'open',
  connections,
  profile: stages ? new Profile(rate, stages) : Profile.constant(rate, 'durationMs' in stop ? stop.durationMs : Number.POSITIVE_INFINITY),
});
/** A closed-model plan with a promise-returning fake server. */
function closedPlan(concurrency: number, stop: StopRule, send: (card: number, challenge: Buffer) => Promise<Reply>, cards = [CARD]): LoadPlan {
  return { cards, model: closed(concurrency, stop), stop, send: senderOf(send) };
}

/** An in-process server: answers by its own call counter (exact mix whatever the concurrency). */
function mixSend(o: { wrongEvery?: number; statusEvery?: number; failEvery?: number; key?: Buffer }): {
  send: (card: number, challenge: Buffer) => Promise<Reply>;
  calls: () => number;
} {
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

describe("load engine: the card's check, made for a batch of challenges at once", () => {
  it("judges every answer across batch refills, two keys on one worker: a flipped bit anywhere or the other card's key is wrong", async () => {
    // One worker plays both cards in turn; 3000 exchanges take each card through batches
    // of 8, 16, ... 512 challenges. The server's mix is decided by its own counter.
    let calls = 0;
    let expectedWrong = 0;
    const send = async (card: number, challenge: Buffer): Promise<Reply> => {
      const n = ++calls;
      const key = card === 0 ? KEY : OTHER_KEY;
      if (n % 11 === 0) {
        expectedWrong += 1;
        return right(challenge, card === 0 ? OTHER_KEY : KEY);
      }
      const r = tdesEncrypt(key, challenge);
      if (n % 5 === 0) {
        expectedWrong += 1;
        r[(n >> 3) % 8]! ^= 1 << (n % 8); // a different byte and bit each time
      }
      return { status: 200, body: JSON.stringify(r.toString('base64')) };
    };
    const stats = await runLoad(closedPlan(1, { exchanges: 3000 }, send, [CARD, OTHER_CARD]));
    expect(stats.exchanges).toBe(3000);
    expect(stats.wrongCryptograms).toBe(expectedWrong);
    expect(stats.verified).toBe(3000 - expectedWrong);
  });

  it('CardChallenges: the batch answer and the one-off encryption agree; another challenge or key takes the plain path', () => {
    const c = new CardChallenges(seededRandom('batch'));
    for (let i = 0; i < 600; i++) {
      const challenge = c.random(8);
      const answer = tdesEncrypt(KEY, challenge);
      expect(c.verify(KEY, challenge, answer)).toBe(true);
      const wrong = Buffer.from(answer);
      wrong[i % 8]! ^= 0x80;
      expect(c.verify(KEY, challenge, wrong)).toBe(false);
      expect(c.verify(OTHER_KEY, challenge, answer)).toBe(false);
      expect(c.verify(OTHER_KEY, challenge, tdesEncrypt(OTHER_KEY, challenge))).toBe(true);
    }
    // A challenge that is not the last one handed out (or another length) is encrypted on its own.
    const last = c.random(8);
    const stray = Buffer.from('0011223344556677', 'hex');
    expect(c.verify(KEY, stray, tdesEncrypt(KEY, stray))).toBe(true);
    expect(c.verify(KEY, stray, tdesEncrypt(KEY, last))).toBe(false);
    const long = c.random(16);
    expect(c.verify(KEY, long, tdesEncrypt(KEY, long))).toBe(true);
    expect(c.verify(KEY, long, tdesEncrypt(KEY, long).subarray(0, 8))).toBe(false);
  });

  it("draws the challenges from the run's source, a batch at a time (a seeded run repeats)", async () => {
    const seen: string[][] = [[], []];
    for (const run of [0, 1]) {
      const send = async (_card: number, challenge: Buffer): Promise<Reply> => {
        seen[run]!.push(challenge.toString('hex'));
        return right(challenge);
      };
      const stats = await runLoad({ ...closedPlan(1, { exchanges: 100 }, send), random: seededRandom('repeat') });
      expect(stats.verified).toBe(100);
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(new Set(seen[0]).size).toBe(100);
  });
});

describe('load engine, closed model: counting', () => {
  it('counts a known mix exactly: every 7th request 500, every 10th cryptogram wrong', async () => {
    const server = mixSend({ statusEvery: 7, wrongEvery: 10 });
    const stats = await runLoad(closedPlan(8, { exchanges: 700 }, server.send));
    expect(server.calls()).toBe(700);
    expect(stats.exchanges).toBe(700);
    expect(stats.statusCodes).toEqual({ '200': 600, '500': 100 });
    expect(stats.errors).toBe(100);
    expect(stats.wrongCryptograms).toBe(60);
    expect(stats.verified).toBe(540);
    expect(stats.malformedBodies).toBe(0);
    expect(stats.dropped).toBe(0);
    expect(stats.latency.count).toBe(700);
    const summary = summariseLoad(stats);
    expect(summary).toMatchObject({
      exchanges: 700,
      wrongCryptograms: 60,
      errors: 100,
      statusCodes: { '200': 600, '500': 100 },
      model: 'closed',
      verified: 540,
      dropped: 0,
    });
    const verdict = judgeLoad(stats, summary, criteriaFor([], 0.5));
    expect(verdict.exitCode).toBe(1);
    expect(verdict.reason).toMatch(/^60 response\(s\) failed card verification \(60 of 700\)$/);
  });

  it('keeps the first five wrong cryptograms with their card, challenge and answer', async () => {
    const server = mixSend({ key: OTHER_KEY });
    const stats = await runLoad(closedPlan(2, { exchanges: 20 }, server.send));
    expect(stats).toMatchObject({ wrongCryptograms: 20, verified: 0, errors: 0 });
    expect(stats.wrongSamples).toHaveLength(5);
    for (const s of stats.wrongSamples) {
      expect(s.cardIndex).toBe(0);
      expect(s.response!.equals(tdesEncrypt(OTHER_KEY, s.challenge))).toBe(true);
      expect(s.body).toBe(JSON.stringify(s.response!.toString('base64')));
    }
  });

  it('counts transport failures as errors with no status code', async () => {
    const server = mixSend({ failEvery: 5 });
    const stats = await runLoad(closedPlan(3, { exchanges: 100 }, server.send));
    expect(stats).toMatchObject({ exchanges: 100, errors: 20, wrongCryptograms: 0, verified: 80, transportErrors: { reset: 20 }, statusCodes: { '200': 80 } });
    expect(stats.latency.count).toBe(80);
    expect(stats.firstTransportError).toBe('reset: socket hang up');
    expect(stats.unreachable).toBe(false);
  });

  it('runs exactly N exchanges, also with more workers than exchanges', async () => {
    for (const [n, c] of [
      [1, 1],
      [5, 64],
      [37, 4],
    ] as const) {
      const server = mixSend({});
      const stats = await runLoad(closedPlan(c, { exchanges: n }, server.send));
      expect(server.calls()).toBe(n);
      expect(stats.exchanges).toBe(n);
      expect(stats.verified).toBe(n);
    }
  });

  it('counts malformed 200 bodies as wrong cryptograms, apart from errors', async () => {
    const bodies = ['F0Zudm4wPLY=', '"F0Zudm4wPLY"', '"F0Zudm4wPLY=F0Zudm4wPLY="', '{"r":"F0Zudm4wPLY="}', '"!!!!!!!!!!!="', ''];
    let i = 0;
    const send = async (): Promise<Reply> => ({ status: 200, body: bodies[i++ % bodies.length]! });
    const stats = await runLoad(closedPlan(1, { exchanges: bodies.length }, send));
    expect(stats).toMatchObject({ wrongCryptograms: bodies.length, malformedBodies: bodies.length, errors: 0, verified: 0 });
    expect(stats.wrongSamples.map((s) => s.body)).toEqual(bodies.slice(0, 5));
    expect(stats.wrongSamples.every((s) => s.response === null)).toBe(true);
  });

  it('gives every card its own key: each card is answered under its own key', async () => {
    const cards = [CARD, OTHER_CARD];
    const seen = [0, 0];
    const send = async (cardIndex: number, challenge: Buffer): Promise<Reply> => {
      seen[cardIndex]! += 1;
      return right(challenge, cards[cardIndex]!.adminKey);
    };
    const stats = await runLoad(closedPlan(1, { exchanges: 10 }, send, cards));
    expect(stats).toMatchObject({ verified: 10, wrongCryptograms: 0 });
    expect(seen).toEqual([5, 5]); // one worker alternates over both cards
  });

  it('stops early as unreachable when no request ever got a response', async () => {
    let calls = 0;
    const send = async (): Promise<Reply> => {
      calls += 1;
      throw new TransportError('refused', 'connect ECONNREFUSED 127.0.0.1:9');
    };
    const stats = await runLoad(closedPlan(4, { durationMs: 60_000 }, send));
    expect(stats.unreachable).toBe(true);
    expect(calls).toBeLessThan(8); // about one attempt per worker, not a minute of retries
    const verdict = judgeLoad(stats, summariseLoad(stats), criteriaFor([], 1));
    expect(verdict).toEqual({ exitCode: 3, reason: 'server unreachable: refused: connect ECONNREFUSED 127.0.0.1:9' });
  });

  it('a body over the size cap is an answer, not unreachable (the rule of meansNoAnswer in harness/wire/transport-error.ts)', async () => {
    const send = async (): Promise<Reply> => {
      throw new TransportError('too-large', 'body over the cap');
    };
    const stats = await runLoad(closedPlan(2, { exchanges: 6 }, send));
    expect(stats).toMatchObject({ unreachable: false, exchanges: 6, errors: 6, transportErrors: { 'too-large': 6 } });
  });

  it('is not unreachable once any response came', async () => {
    let calls = 0;
    const send = async (_c: number, challenge: Buffer): Promise<Reply> => {
      calls += 1;
      if (calls > 1) throw new TransportError('refused', 'refused');
      return right(challenge);
    };
    const stats = await runLoad(closedPlan(1, { exchanges: 10 }, send));
    expect(stats).toMatchObject({ unreachable: false, exchanges: 10, errors: 9, verified: 1 });
    expect(judgeLoad(stats, summariseLoad(stats), criteriaFor([], 0))).toMatchObject({ exitCode: 1 });
    expect(judgeLoad(stats, summariseLoad(stats), criteriaFor([], 0.9))).toMatchObject({ exitCode: 0 });
  });

  it('honours a duration bound and stops by itself (loose bound)', async () => {
    const send = async (_c: number, challenge: Buffer): Promise<Reply> => {
      await new Promise((r) => setTimeout(r, 2));
      return right(challenge);
    };
    const stats = await runLoad(closedPlan(4, { durationMs: 300 }, send));
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
      return right(challenge);
    };
    const stats = await runLoad({ ...closedPlan(2, { durationMs: 60_000 }, send), signal: controller.signal });
    expect(stats.interrupted).toBe(true);
    expect(stats.exchanges).toBe(calls);
    expect(calls).toBeLessThanOrEqual(51);
  });

  it('refuses plans with no card, bad concurrency, connections, rate or bounds', () => {
    const send: Sender = (_k, _c, _ch, done) => done(null, 200, '');
    const stop = { exchanges: 1 };
    expect(() => runLoad({ cards: [], model: closed(1, stop), stop, send })).toThrow(/at least one card/);
    expect(() => runLoad({ cards: [CARD], model: closed(0, stop), stop, send })).toThrow(/concurrency/);
    expect(() => runLoad({ cards: [CARD], model: closed(2000, stop), stop, send })).toThrow(/concurrency/);
    expect(() => runLoad({ cards: [CARD], model: open(10, 0, stop), stop, send })).toThrow(/connections/);
    expect(() => runLoad({ cards: [CARD], model: open(0, 1, stop), stop, send })).toThrow(/rate/);
    expect(() => runLoad({ cards: [CARD], model: closed(1, stop), stop: { exchanges: 0 }, send })).toThrow(/exchanges/);
    expect(() => runLoad({ cards: [CARD], model: closed(1, stop), stop: { durationMs: Number.POSITIVE_INFINITY }, send })).toThrow(/duration/);
  });
});

/**
 * The schedule under test with a fake clock: performance.now and the timers are vitest's,
 * so "the server answers in 5 ms" and "the schedule is 10 ms apart" hold exactly and the
 * counts below are exact, not timing-dependent.
 */
describe('load engine on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const fake = (): void => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance'] });
  };
  /** A server answering every challenge right after `latency(tMs)` ms. */
  const delayed = (latency: (nowMs: number) => number, inFlight?: number[]): Sender => {
    let now = 0;
    return (_k, cardIndex, challenge, done) => {
      now += 1;
      inFlight?.push(now);
      const reply = right(challenge, cardIndex === 0 ? KEY : OTHER_KEY);
      setTimeout(() => done(null, reply.status, reply.body), latency(performance.now()));
    };
  };
  const run = async (plan: LoadPlan) => {
    const p = runLoad(plan);
    await vi.runAllTimersAsync();
    return p;
  };

  it('open model: starts exactly rate x duration exchanges on schedule, latency from the due time', async () => {
    fake();
    const stop = { durationMs: 1000 };
    const stats = await run({ cards: [CARD], model: open(100, 4, stop), stop, send: delayed(() => 2) });
    expect(stats).toMatchObject({ model: 'open', exchanges: 100, dropped: 0, verified: 100, errors: 0 });
    expect(stats.latency.minUs).toBe(2000);
    expect(stats.latency.maxUs).toBe(2000);
    // Due at 5 ms, 15 ms, ... 995 ms (the middle of each 10 ms slot); the last answer at 997 ms.
    expect(stats.elapsedMs).toBe(997);
    expect(stats.timeline.points().map((p) => p.started)).toEqual([100]);
  });

  it('open model: an exchange due while every connection is busy is dropped and counted', async () => {
    fake();
    const stop = { durationMs: 1000 };
    // Due every 10 ms (at 5, 15, ...); each answer takes 95 ms; 2 connections: two start, the
    // next eight are dropped, and so on: 20 started, 80 dropped, every one of the 100 counted.
    const stats = await run({ cards: [CARD], model: open(100, 2, stop), stop, send: delayed(() => 95) });
    expect(stats.exchanges).toBe(20);
    expect(stats.dropped).toBe(80);
    expect(stats.exchanges + stats.dropped).toBe(100);
    expect(stats.verified).toBe(20);
    expect(summariseLoad(stats).dropped).toBe(80);
  });

  it('open model: --exchanges N means N due, started or dropped', async () => {
    fake();
    const stop = { exchanges: 57 };
    const stats = await run({ cards: [CARD, OTHER_CARD], model: open(1000, 8, stop), stop, send: delayed(() => 1) });
    expect(stats.exchanges + stats.dropped).toBe(57);
    expect(stats.verified).toBe(stats.exchanges);
  });

  it('open model: a ramp spreads arrivals by the integral of the rate, stage by stage', async () => {
    fake();
    const stages = [
      { durationMs: 1000, target: 200 },
      { durationMs: 1000, target: 200 },
      { durationMs: 500, target: 0 },
    ];
    const stop = { durationMs: 2500 };
    const stats = await run({ cards: [CARD], model: open(0, 16, stop, stages), stop, send: delayed(() => 1) });
    // 0 -> 200/s over 1 s is 100 exchanges; 200/s for 1 s is 200; 200 -> 0 over 0.5 s is 50.
    expect(stats.stages.map((s) => s.exchanges)).toEqual([100, 200, 50]);
    expect(stats.exchanges).toBe(350);
    const summary = summariseLoad(stats, { withStages: true });
    expect(summary.stages.map((s) => [s.stage, s.from, s.to, s.exchanges])).toEqual([
      [1, 0, 200, 100],
      [2, 200, 200, 200],
      [3, 200, 0, 50],
    ]);
    expect(summary.stages[1]!.exchangesPerSecond).toBe(200);
  });

  it('closed model: stages ramp the workers', async () => {
    fake();
    const stages = [
      { durationMs: 500, target: 1 },
      { durationMs: 500, target: 4 },
    ];
    const stop = { durationMs: 1000 };
    let inFlight = 0;
    const peak = [0, 0];
    const send: Sender = (_k, _c, challenge, done) => {
      inFlight += 1;
      const stage = performance.now() < 500 ? 0 : 1;
      peak[stage] = Math.max(peak[stage]!, inFlight);
      const reply = right(challenge);
      setTimeout(() => {
        inFlight -= 1;
        done(null, reply.status, reply.body);
      }, 10);
    };
    const stats = await run({ cards: [CARD], model: closed(1, stop, stages), stop, send });
    expect(peak[0]).toBe(1);
    expect(peak[1]).toBe(4);
    expect(stats.stages[0]!.exchanges).toBe(50); // one worker, 10 ms each, for 500 ms
    expect(stats.verified).toBe(stats.exchanges);
  });

  it('a stall hides in the closed model and shows in the open one', async () => {
    // The server answers in 1 ms, except that every answer due between 1 s and 2 s waits until 2 s.
    const stalling = (now: number): number => (now >= 1000 && now < 2000 ? 2000 - now : 1);
    fake();
    const stopC = { durationMs: 3000 };
    const c = await run({ cards: [CARD], model: closed(2, stopC), stop: stopC, send: delayed(stalling) });
    vi.useRealTimers();
    fake();
    const stopO = { durationMs: 3000 };
    const o = await run({ cards: [CARD], model: open(500, 1000, stopO), stop: stopO, send: delayed(stalling) });
    const closedSummary = summariseLoad(c);
    const openSummary = summariseLoad(o);
    // Closed: two workers wait out the stall, one sample each; the other ~4000 took 1 ms.
    expect(closedSummary.latencyMs.max).toBeGreaterThanOrEqual(999);
    expect(closedSummary.latencyMs.p99).toBeLessThan(2);
    // Open: the 500 exchanges due during the stall waited up to 1 s each.
    expect(o.dropped).toBe(0);
    expect(openSummary.latencyMs.p99).toBeGreaterThan(900);
    expect(openSummary.latencyMs.p50).toBeLessThan(2);
    expect(openSummary.latencyMs.p90).toBeGreaterThan(300);
    // The timeline shows the stall: a second in which (about) nothing was answered, then a burst.
    const answered = o.timeline.points().map((p) => p.completed);
    expect(answered.reduce((a, b) => a + b, 0)).toBe(1500);
    expect(answered[0]).toBeGreaterThanOrEqual(499);
    expect(answered[1]).toBeLessThanOrEqual(1);
    expect(answered[2]).toBeGreaterThanOrEqual(999);
  });
});

describe('load summary: the lines for people', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows dropped, each stage, each threshold and the first wrong cryptograms; progress shows stage, target and the recent rate', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance'] });
    const stages = [
      { durationMs: 500, target: 100 },
      { durationMs: 500, target: 100 },
    ];
    const stop = { durationMs: 1000 };
    // Every 10th answer under the other key.
    let n = 0;
    const send: Sender = (_k, _c, challenge, done) => {
      n += 1;
      const reply = right(challenge, n % 10 === 0 ? OTHER_KEY : KEY);
      setTimeout(() => done(null, reply.status, reply.body), 3);
    };
    const p = runLoad({ cards: [CARD], model: open(0, 4, stop, stages), stop, send });
    await vi.runAllTimersAsync();
    const stats = await p;
    const thresholds = ['p99<100', 'wrong=0'].map(parseThreshold);
    const summary = summariseLoad(stats, {
      thresholds,
      withStages: true,
      wrong: [
        {
          card: 'a',
          cardid: CARD.cardid,
          challenge: 'AAAAAAAAAAA=',
          response: '"x"',
          diagnosis: "it was computed with card b's admin key",
          phase: 'run',
          atMs: 1,
        },
      ],
    });
    const text = formatSummary(stats, summary);
    expect(text).toMatch(/^exchanges +75 in 1\.00 s/m);
    expect(text).toMatch(/^dropped +0 \(due while every connection was busy\)$/m);
    expect(text).toMatch(/^wrong cryptograms +7$/m);
    expect(text).toMatch(/^ {2}card a, challenge AAAAAAAAAAA=, answer "x": it was computed with card b's admin key$/m);
    expect(text).toMatch(/^stage 1 +0\.5 s 0->100\/s: 25 exchanges \(50 \/s\), 0 dropped, 0 errors, \d wrong; p50 3[.\d]* /m);
    expect(text).toMatch(/^stage 2 +0\.5 s 100->100\/s: 50 exchanges \(100(\.\d)? \/s\)/m);
    expect(text).toMatch(/^threshold +pass {2}p99<100 \(p99 3[.\d]* ms\)$/m);
    expect(text).toMatch(/^threshold +FAIL {2}wrong=0 \(wrong 7\)$/m);
    expect(formatProgress({ stats, elapsedMs: 750, target: 100, stage: 2, stages: 2, recentRate: 98.6 })).toMatch(
      /^0\.8 s {2}stage 2\/2 {2}target 100\/s {2}75 exchanges {2}99\/s {2}p99 3[.\d]* ms {2}dropped 0 {2}errors 0 {2}wrong 7$/,
    );
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
    expect([0, 1, 2].map((w) => cardsOf(w, 3, 7))).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ]);
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
