import { LatencyHistogram } from './histogram.js';

/**
 * A run over time, for the report's charts: per interval (1 s by default) the exchanges
 * started, completed, dropped, failed and wrong, the target the profile asked for, and the
 * latency of the exchanges completed in it. Memory stays bounded: past `maxPoints`
 * intervals, neighbours merge two by two and the interval doubles (counts add; p50, p99
 * and max take the higher of the two, so a stall is never averaged away).
 */

export interface TimelinePoint {
  /** Start of the interval, ms from the start of the run. */
  tMs: number;
  durationMs: number;
  started: number;
  completed: number;
  dropped: number;
  errors: number;
  wrongCryptograms: number;
  /** The profile's value (rate or workers) in the middle of the interval. */
  target: number;
  /** Of the exchanges completed in the interval; null when none got an answer. */
  latencyMs: { p50: number; p99: number; max: number } | null;
}

export const MAX_POINTS = 600;

const ms = (us: number): number => Math.round(us) / 1000;

export class Timeline {
  #intervalMs: number;
  readonly #maxPoints: number;
  readonly #targetAt: (tMs: number) => number;
  readonly #points: TimelinePoint[] = [];
  readonly #latency = new LatencyHistogram();
  #start = 0;
  #end: number;
  #started = 0;
  #completed = 0;
  #dropped = 0;
  #errors = 0;
  #wrong = 0;

  constructor(intervalMs: number, targetAt: (tMs: number) => number, maxPoints = MAX_POINTS) {
    if (!(intervalMs > 0)) throw new RangeError(`timeline interval must be above 0 ms, got ${intervalMs}`);
    this.#intervalMs = intervalMs;
    this.#end = intervalMs;
    this.#targetAt = targetAt;
    this.#maxPoints = Math.max(2, maxPoints);
  }

  /** An exchange started at t (ms from the start of the run). */
  started(tMs: number): void {
    if (tMs >= this.#end) this.#advance(tMs);
    this.#started += 1;
  }

  dropped(tMs: number): void {
    if (tMs >= this.#end) this.#advance(tMs);
    this.#dropped += 1;
  }

  /** An exchange ended at t; `latencyUs` < 0 when no answer came (a transport error). */
  completed(tMs: number, latencyUs: number, error: boolean, wrong: boolean): void {
    if (tMs >= this.#end) this.#advance(tMs);
    this.#completed += 1;
    if (latencyUs >= 0) this.#latency.record(latencyUs);
    if (error) this.#errors += 1;
    if (wrong) this.#wrong += 1;
  }

  /** Closes the last, partial interval at the end of the run. */
  finish(tMs: number): void {
    if (tMs >= this.#end) this.#advance(tMs);
    if (tMs > this.#start || this.#started + this.#completed + this.#dropped > 0) this.#close(Math.max(tMs, this.#start) - this.#start);
    this.#end = Number.POSITIVE_INFINITY;
  }

  points(): readonly TimelinePoint[] {
    return this.#points;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  #advance(tMs: number): void {
    while (tMs >= this.#end) {
      this.#close(this.#intervalMs);
      this.#start = this.#end;
      this.#end = this.#start + this.#intervalMs;
    }
  }

  #close(durationMs: number): void {
    const h = this.#latency;
    this.#points.push({
      tMs: Math.round(this.#start),
      durationMs: Math.round(durationMs),
      started: this.#started,
      completed: this.#completed,
      dropped: this.#dropped,
      errors: this.#errors,
      wrongCryptograms: this.#wrong,
      target: Math.round(this.#targetAt(this.#start + durationMs / 2) * 100) / 100,
      latencyMs: h.count === 0 ? null : { p50: ms(h.percentileUs(50)), p99: ms(h.percentileUs(99)), max: ms(h.maxUs) },
    });
    h.reset();
    this.#started = this.#completed = this.#dropped = this.#errors = this.#wrong = 0;
    if (this.#points.length > this.#maxPoints) this.#coarsen();
  }

  /** Halves the points: each pair becomes one point twice as long. */
  #coarsen(): void {
    const merged: TimelinePoint[] = [];
    for (let i = 0; i < this.#points.length; i += 2) {
      const a = this.#points[i]!;
      const b = this.#points[i + 1];
      merged.push(b ? mergePoints(a, b) : a);
    }
    this.#points.length = 0;
    this.#points.push(...merged);
    this.#intervalMs *= 2; // from the next interval on; each point keeps its own tMs and durationMs
  }
}

function mergePoints(a: TimelinePoint, b: TimelinePoint): TimelinePoint {
  const la = a.latencyMs;
  const lb = b.latencyMs;
  return {
    tMs: a.tMs,
    durationMs: a.durationMs + b.durationMs,
    started: a.started + b.started,
    completed: a.completed + b.completed,
    dropped: a.dropped + b.dropped,
    errors: a.errors + b.errors,
    wrongCryptograms: a.wrongCryptograms + b.wrongCryptograms,
    target: Math.round(((a.target + b.target) / 2) * 100) / 100,
    latencyMs: la && lb ? { p50: Math.max(la.p50, lb.p50), p99: Math.max(la.p99, lb.p99), max: Math.max(la.max, lb.max) } : (la ?? lb),
  };
}
