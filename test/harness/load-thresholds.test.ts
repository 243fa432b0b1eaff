import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../harness/load/histogram.js';
import { canStillHold, judgeThresholds, parseThreshold, type ThresholdInput } from '../../harness/load/thresholds.js';

/** A run so far: n answered exchanges with the given latencies (ms), and counts. */
function input(o: Partial<Omit<ThresholdInput, 'latency'>> & { latenciesMs?: number[] } = {}): ThresholdInput {
  const latency = new LatencyHistogram();
  for (const v of o.latenciesMs ?? []) latency.record(v * 1000);
  return {
    exchanges: o.exchanges ?? latency.count,
    errors: o.errors ?? 0,
    wrongCryptograms: o.wrongCryptograms ?? 0,
    dropped: o.dropped ?? 0,
    exchangesPerSecond: o.exchangesPerSecond ?? 0,
    latency,
  };
}
const judge = (text: string, i: ThresholdInput): boolean => judgeThresholds([parseThreshold(text)], i)[0]!.pass;

describe('load thresholds: parsing', () => {
  it('reads every kind, spaces and k6 spellings allowed', () => {
    expect(parseThreshold('p99<50')).toMatchObject({ text: 'p99<50', name: 'p99', metric: { kind: 'percentile', p: 99 }, op: '<', value: 50 });
    expect(parseThreshold(' p99.9 <= 20ms ')).toMatchObject({ text: 'p99.9<=20ms', metric: { kind: 'percentile', p: 99.9 }, op: '<=', value: 20 });
    expect(parseThreshold('max<2s')).toMatchObject({ metric: { kind: 'max' }, value: 2000 });
    expect(parseThreshold('errors<0.1%')).toMatchObject({ metric: { kind: 'errors', percent: true }, op: '<', value: 0.1 });
    expect(parseThreshold('errors<=10')).toMatchObject({ metric: { kind: 'errors', percent: false }, value: 10 });
    expect(parseThreshold('wrong==0')).toMatchObject({ metric: { kind: 'wrong', percent: false }, op: '=', value: 0 });
    expect(parseThreshold('dropped<1%')).toMatchObject({ metric: { kind: 'dropped', percent: true } });
    expect(parseThreshold('rate>=450/s')).toMatchObject({ metric: { kind: 'rate' }, op: '>=', value: 450 });
  });

  it('refuses what it cannot read, in one line naming the expression', () => {
    const cases: Array<[string, RegExp]> = [
      ['p99', /--threshold 'p99' is not METRIC OP VALUE/],
      ['latency<5', /is not METRIC OP VALUE with METRIC one of pNN, max, errors, wrong, dropped, rate/],
      ['p0<5', /percentile must be above 0 and at most 100/],
      ['p101<5', /percentile must be above 0/],
      ['p99<5%', /p99 is a latency in ms \(or with s\), not %/],
      ['rate>5%', /rate is exchanges per second, not %/],
      ['errors<5ms', /errors is a count or a percentage, not ms/],
      ['errors<1.5', /a count of errors is a whole number \(add % for a share\)/],
      ['wrong<200%', /a percentage is at most 100/],
      ['p99=>5', /is not METRIC OP VALUE/],
    ];
    for (const [text, message] of cases) expect(() => parseThreshold(text), text).toThrow(message);
  });
});

describe('load thresholds: each kind breached and not breached', () => {
  // 100 answers: 98 at 1 ms, one at 40 ms, one at 90 ms.
  const latencies = [...Array<number>(98).fill(1), 40, 90];
  const run = input({ latenciesMs: latencies, exchanges: 200, errors: 1, wrongCryptograms: 0, dropped: 50, exchangesPerSecond: 480 });
  const cases: Array<[string, boolean]> = [
    ['p50<2', true],
    ['p50<1', false],
    ['p99<50', true],
    ['p99<40', false],
    ['p99<=40.2', true],
    ['p99.5<50', false],
    ['max<100', true],
    ['max<90', false],
    ['max<0.1s', true],
    ['errors<1%', true],
    ['errors<0.5%', false],
    ['errors<=1', true],
    ['errors=0', false],
    ['errors!=0', true],
    ['wrong=0', true],
    ['wrong>0', false],
    ['wrong<0.1%', true],
    ['dropped<=20%', true],
    ['dropped<20%', false],
    ['dropped<=10%', false],
    ['dropped<50', false],
    ['dropped<=50', true],
    ['rate>=450', true],
    ['rate>=500', false],
    ['rate<500', true],
    ['rate>480', false],
  ];
  for (const [text, pass] of cases) {
    it(`${text} ${pass ? 'holds' : 'is breached'}`, () => {
      expect(judge(text, run)).toBe(pass);
    });
  }

  it("reports the measured value in the threshold's unit", () => {
    const results = judgeThresholds(['p99<40', 'errors<0.5%', 'dropped<50', 'rate>=500', 'max<1s'].map(parseThreshold), run);
    expect(results.map((r) => [r.threshold, r.metric, r.actual, r.unit, r.pass])).toEqual([
      ['p99<40', 'p99', 40.191, ' ms', false],
      ['errors<0.5%', 'errors', 0.5, '%', false],
      ['dropped<50', 'dropped', 50, '', false],
      ['rate>=500', 'rate', 480, '/s', false],
      ['max<1s', 'max', 90, ' ms', true],
    ]);
  });
});

describe('load thresholds: can it still hold? (--abort-on-fail)', () => {
  const holds = (text: string, i: ThresholdInput, remaining: number, extra: { droppable?: number; minDurationMs?: number } = {}): boolean =>
    canStillHold(parseThreshold(text), i, { remaining, droppable: extra.droppable ?? 0, minDurationMs: extra.minDurationMs ?? Number.NaN });

  it('counts only grow: past the bound is lost at once, even with an unbounded rest', () => {
    const i = input({ exchanges: 10, wrongCryptograms: 1, errors: 3 });
    expect(holds('wrong=0', i, Number.POSITIVE_INFINITY)).toBe(false);
    expect(holds('errors<=3', i, Number.POSITIVE_INFINITY)).toBe(true);
    expect(holds('errors<3', i, Number.POSITIVE_INFINITY)).toBe(false);
    expect(holds('errors>=5', i, 1)).toBe(false);
    expect(holds('errors>=5', i, 2)).toBe(true);
  });

  it('a share is decided only when the rest is bounded', () => {
    const i = input({ exchanges: 100, errors: 5 });
    expect(holds('errors<1%', i, Number.POSITIVE_INFINITY)).toBe(true);
    expect(holds('errors<1%', i, 1000)).toBe(true); // 5 of 1100 would be 0.45%
    expect(holds('errors<1%', i, 300)).toBe(false); // 5 of 400 is already 1.25% at best
    expect(holds('dropped<1%', input({ exchanges: 90, dropped: 10 }), 5, { droppable: 5 })).toBe(false);
    expect(holds('dropped<1%', input({ exchanges: 90, dropped: 1 }), 200, { droppable: 200 })).toBe(true);
  });

  it('a percentile is lost when even all-fast remaining answers cannot bring it under', () => {
    const slow = input({ latenciesMs: Array<number>(10).fill(200) });
    expect(holds('p99<50', slow, Number.POSITIVE_INFINITY)).toBe(true);
    expect(holds('p99<50', slow, 2000)).toBe(true); // 10 slow of 2010: p99 can still be fast
    expect(holds('p99<50', slow, 500)).toBe(false); // 10 slow of 510 is 2%
    const fast = input({ latenciesMs: Array<number>(10).fill(1) });
    expect(holds('p50>100', fast, 5)).toBe(false); // 10 fast of 15 at most: p50 stays fast
    expect(holds('p50>100', fast, 20)).toBe(true);
    expect(holds('max<100', slow, Number.POSITIVE_INFINITY)).toBe(false);
    expect(holds('max>300', slow, 0)).toBe(false);
    expect(holds('max>300', slow, 1)).toBe(true);
  });

  it('the rate is decided early only in the open model, whose length is known', () => {
    const i = input({ exchanges: 100 });
    expect(holds('rate>=450', i, Number.POSITIVE_INFINITY)).toBe(true); // closed --duration: unknown
    expect(holds('rate>=450', i, 900, { minDurationMs: Number.NaN })).toBe(true); // closed --exchanges: unknown length
    expect(holds('rate>=450', i, 900, { minDurationMs: 2000 })).toBe(true); // 1000 in >= 2 s: at most 500/s
    expect(holds('rate>=450', i, 700, { minDurationMs: 2000 })).toBe(false); // 800 in >= 2 s: at most 400/s
    expect(holds('rate<1', i, 700, { minDurationMs: 2000 })).toBe(true); // can always still fall
  });
});
