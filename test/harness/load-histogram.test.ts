import { describe, expect, it } from 'vitest';
import { LatencyHistogram, MAX_TRACKABLE_US } from '../../harness/load/histogram.js';

/** The true p-th percentile of a sorted sample, by the nearest-rank definition. */
function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

const PERCENTILES = [50, 90, 95, 99, 99.9];

/** Bucketed answers may exceed the true value by at most one bucket width (< 1/128 of it), never undershoot. */
function expectClose(actual: number, truth: number): void {
  expect(actual).toBeGreaterThanOrEqual(truth);
  expect(actual).toBeLessThanOrEqual(truth + Math.max(0, truth / 128));
}

describe('LatencyHistogram (fixed-size, log-linear)', () => {
  it('is exact for values below 256 us', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    expect(h.percentileUs(50)).toBe(50);
    expect(h.percentileUs(90)).toBe(90);
    expect(h.percentileUs(99)).toBe(99);
    expect(h.percentileUs(100)).toBe(100);
    expect(h.maxUs).toBe(100);
    expect(h.minUs).toBe(1);
    expect(h.count).toBe(100);
    expect(h.meanUs).toBe(50.5);
  });

  it('matches a uniform distribution 1 us .. 100 ms within 1%', () => {
    const h = new LatencyHistogram();
    const values: number[] = [];
    for (let v = 1; v <= 100_000; v++) {
      values.push(v);
      h.record(v);
    }
    for (const p of PERCENTILES) expectClose(h.percentileUs(p), nearestRank(values, p));
    expect(h.maxUs).toBe(100_000);
  });

  it('matches an exponential distribution (mean 2 ms) within 1%', () => {
    const h = new LatencyHistogram();
    const n = 100_000;
    const values: number[] = [];
    // Deterministic quantiles of Exp(mean 2000 us): x_i = -mean ln(1 - (i + 0.5) / n).
    for (let i = 0; i < n; i++) values.push(Math.round(-2000 * Math.log(1 - (i + 0.5) / n)));
    for (const v of values) h.record(v);
    values.sort((a, b) => a - b);
    for (const p of PERCENTILES) expectClose(h.percentileUs(p), nearestRank(values, p));
    // And against the analytic quantile -mean ln(1-p), which the sample approximates.
    expect(h.percentileUs(50) / (2000 * Math.LN2)).toBeCloseTo(1, 1);
    expect(h.percentileUs(99) / (-2000 * Math.log(0.01))).toBeCloseTo(1, 1);
  });

  it('matches a bimodal distribution: 95% fast, 5% slow', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 9500; i++) h.record(800 + (i % 100)); // 800..899 us
    for (let i = 0; i < 500; i++) h.record(40_000 + i * 10); // 40.00..44.99 ms
    expect(h.percentileUs(50)).toBeLessThan(900);
    expect(h.percentileUs(95)).toBeLessThan(900 * (1 + 1 / 128));
    expect(h.percentileUs(96)).toBeGreaterThanOrEqual(40_000);
    expectClose(h.percentileUs(99), 40_000 + 399 * 10);
    expect(h.maxUs).toBe(44_990);
  });

  it('caps percentiles at the exact maximum and clamps values beyond its range', () => {
    const h = new LatencyHistogram();
    h.record(1_000_001);
    expect(h.percentileUs(50)).toBe(1_000_001);
    h.record(5 * MAX_TRACKABLE_US);
    expect(h.maxUs).toBe(5 * MAX_TRACKABLE_US);
    expect(h.percentileUs(100)).toBeLessThanOrEqual(5 * MAX_TRACKABLE_US);
    expect(h.count).toBe(2);
  });

  it('keeps its memory fixed however many samples it records', () => {
    const h = new LatencyHistogram();
    const size = h.bucketCount;
    for (let i = 0; i < 1_000_000; i++) h.record((i * 7919) % 3_000_000);
    expect(h.bucketCount).toBe(size);
    expect(size).toBeLessThan(3000);
    const buckets = h.buckets();
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(1_000_000);
    expect(buckets.length).toBeLessThanOrEqual(size);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.lowUs).toBeGreaterThan(buckets[i - 1]!.highUs);
  });

  it('answers 0 when empty and refuses a percentile outside (0, 100]', () => {
    const h = new LatencyHistogram();
    expect(h.percentileUs(99)).toBe(0);
    expect(h.maxUs).toBe(0);
    expect(() => h.percentileUs(0)).toThrow(RangeError);
    expect(() => h.percentileUs(101)).toThrow(RangeError);
  });
});
