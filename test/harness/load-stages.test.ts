import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseStages, Profile } from '../../harness/load/stages.js';
import { Timeline } from '../../harness/load/timeline.js';

describe('load stages', () => {
  it('reads durations as k6 writes them', () => {
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('1.5')).toBe(1500);
    for (const bad of ['', 's', '30x', '30s5', '-1s', '1m 30s']) expect(parseDurationMs(bad)).toBeNaN();
  });

  it('parses a stage list and names the stage that is wrong', () => {
    expect(parseStages('30s:100,2m:500,30s:0', 1000)).toEqual([
      { durationMs: 30_000, target: 100 },
      { durationMs: 120_000, target: 500 },
      { durationMs: 30_000, target: 0 },
    ]);
    expect(() => parseStages('30s:100,2x:5', 1000)).toThrow(/stage 2 '2x:5' must be DURATION:TARGET/);
    expect(() => parseStages('30s:100,0s:5', 1000)).toThrow(/stage 2 '0s:5'/);
    expect(() => parseStages('30s:2000', 1024)).toThrow(/stage 1 '30s:2000' needs a target from 0 to 1024/);
    expect(() => parseStages('30s:-1', 1024)).toThrow(/needs a target/);
    expect(() => parseStages('30s:', 1024)).toThrow(/needs a target/);
    expect(() => parseStages('30s:1,', 1024)).toThrow(/DURATION:TARGET\[,DURATION:TARGET...\]/);
    expect(() => parseStages('30s:1:2', 1024)).toThrow(/stage 1/);
  });

  it('ramps linearly within a stage and holds the last target after the end', () => {
    const p = new Profile(10, [
      { durationMs: 1000, target: 110 },
      { durationMs: 1000, target: 110 },
      { durationMs: 500, target: 0 },
    ]);
    expect(p.durationMs).toBe(2500);
    expect(p.peak).toBe(110);
    expect(p.constant).toBe(false);
    expect(p.valueAt(0)).toBe(10);
    expect(p.valueAt(500)).toBe(60);
    expect(p.valueAt(1500)).toBe(110);
    expect(p.valueAt(2250)).toBe(55);
    expect(p.valueAt(9999)).toBe(0);
    expect([0, 999, 1000, 2499, 2500].map((t) => p.stageAt(t))).toEqual([0, 0, 1, 2, 2]);
    expect(Profile.constant(4, 1000).constant).toBe(true);
  });

  it('spaces arrivals 1/rate apart at a constant rate, r*D of them in D seconds', () => {
    const p = Profile.constant(2000, 10_000);
    expect(p.arrivalTimeMs(0)).toBeCloseTo(0.25, 9);
    expect(p.arrivalTimeMs(1) - p.arrivalTimeMs(0)).toBeCloseTo(0.5, 9);
    expect(p.arrivalTimeMs(19_999)).toBeCloseTo(9999.75, 6);
    expect(p.arrivalTimeMs(20_000)).toBe(Number.POSITIVE_INFINITY);
    expect(p.arrivalsBefore(10_000)).toBe(20_000);
    expect(Profile.constant(3, Number.POSITIVE_INFINITY).arrivalTimeMs(1e6)).toBeCloseTo(((1e6 + 0.5) / 3) * 1000, 0);
  });

  it('arrival times and counts agree on any profile: arrivalsBefore(time of n) = n, and n + 1 just after', () => {
    const profiles = [
      new Profile(0, [
        { durationMs: 1000, target: 200 },
        { durationMs: 1000, target: 200 },
        { durationMs: 500, target: 0 },
      ]),
      new Profile(50, [
        { durationMs: 700, target: 3 },
        { durationMs: 300, target: 0 },
        { durationMs: 400, target: 0 },
        { durationMs: 900, target: 77 },
      ]),
    ];
    for (const p of profiles) {
      const total = p.arrivalsBefore(p.durationMs);
      let last = -1;
      for (let n = 0; n < total; n++) {
        const t = p.arrivalTimeMs(n);
        expect(t).toBeGreaterThan(last);
        expect(t).toBeLessThan(p.durationMs);
        expect(p.arrivalsBefore(t)).toBe(n);
        expect(p.arrivalsBefore(t + 1e-6)).toBe(n + 1);
        last = t;
      }
      expect(p.arrivalTimeMs(total)).toBe(Number.POSITIVE_INFINITY);
    }
    // No arrivals while the rate is 0 (stage 3 of the second profile).
    const p = profiles[1]!;
    expect(p.arrivalsBefore(1400) - p.arrivalsBefore(1000)).toBe(0);
  });
});

describe('load timeline', () => {
  it('counts per interval, leaves an empty interval empty, and closes the partial last one', () => {
    const t = new Timeline(1000, (ms) => ms / 100);
    t.started(10);
    t.completed(20, 5000, false, false);
    t.started(30);
    t.completed(2500, 2_000_000, true, false); // answered after a stall, an error
    t.dropped(2600);
    t.finish(2700);
    expect(t.points()).toEqual([
      { tMs: 0, durationMs: 1000, started: 2, completed: 1, dropped: 0, errors: 0, wrongCryptograms: 0, target: 5, latencyMs: { p50: 5, p99: 5, max: 5 } },
      { tMs: 1000, durationMs: 1000, started: 0, completed: 0, dropped: 0, errors: 0, wrongCryptograms: 0, target: 15, latencyMs: null },
      {
        tMs: 2000,
        durationMs: 700,
        started: 0,
        completed: 1,
        dropped: 1,
        errors: 1,
        wrongCryptograms: 0,
        target: 23.5,
        latencyMs: { p50: 2000, p99: 2000, max: 2000 },
      },
    ]);
  });

  it('stays bounded: past maxPoints, neighbours merge and the interval doubles, keeping the worst latency', () => {
    const t = new Timeline(10, () => 1, 8);
    for (let ms = 0; ms < 400; ms++) t.completed(ms + 0.5, ms === 123 ? 900_000 : 1000, false, false);
    t.finish(400);
    const points = t.points();
    expect(points.length).toBeLessThanOrEqual(9);
    expect(t.intervalMs).toBeGreaterThan(10);
    expect(points.reduce((n, p) => n + p.completed, 0)).toBe(400);
    expect(points.reduce((n, p) => n + p.durationMs, 0)).toBe(400);
    expect(Math.max(...points.map((p) => p.latencyMs?.max ?? 0))).toBe(900);
  });
});
