/**
 * Load profiles: a starting value and stages, each ramping linearly to its target over its
 * duration (k6's `stages`). The value is an arrival rate (exchanges per second, open
 * model) or a number of workers (closed model). Pure: times are milliseconds from the
 * start of the run.
 */

export interface Stage {
  /** Milliseconds; Infinity only for the one stage of a run bounded by --exchanges. */
  durationMs: number;
  /** The value reached at the end of the stage. */
  target: number;
}

/** A bound that keeps a profile a person would write: at most this many stages. */
export const MAX_STAGES = 100;

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `2m`, `1m30s`, `500ms`, `1h`, or a bare number of seconds; NaN when unreadable. */
export function parseDurationMs(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  if (t === '') return Number.NaN;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let at = 0;
  for (let m = DURATION_PART.exec(t); m !== null; m = DURATION_PART.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = DURATION_PART.lastIndex;
  }
  return at === t.length ? total : Number.NaN;
}

/**
 * `30s:100,2m:500,30s:0` into stages; throws RangeError naming the stage that is wrong.
 * `maxTarget` bounds each target (e.g. the most workers a run may have).
 */
export function parseStages(text: string, maxTarget: number, what = '--stages'): Stage[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === ''))
    throw new RangeError(`${what} must be DURATION:TARGET[,DURATION:TARGET...] (e.g. 30s:100,2m:500,30s:0), got '${text}'`);
  if (parts.length > MAX_STAGES) throw new RangeError(`${what}: at most ${MAX_STAGES} stages, got ${parts.length}`);
  return parts.map((part, i) => {
    const [d, v, extra] = part.split(':');
    const durationMs = parseDurationMs(d ?? '');
    const target = Number(v);
    if (extra !== undefined || v === undefined || !(durationMs > 0) || !Number.isFinite(durationMs)) {
      throw new RangeError(`${what}: stage ${i + 1} '${part}' must be DURATION:TARGET with a duration above 0 such as 30s, 2m, 1m30s or 500ms`);
    }
    if (v.trim() === '' || !Number.isFinite(target) || target < 0 || target > maxTarget) {
      throw new RangeError(`${what}: stage ${i + 1} '${part}' needs a target from 0 to ${maxTarget}`);
    }
    return { durationMs, target };
  });
}

/** A piecewise-linear profile: `start` at time 0, then each stage ramps to its target. */
export class Profile {
  readonly stages: readonly Stage[];
  readonly start: number;
  /** When each stage begins, ms from the start of the run. */
  readonly stageStartsMs: readonly number[];
  readonly durationMs: number;
  /** The highest value the profile takes. */
  readonly peak: number;
  /** True when the value never changes (no ramp to follow). */
  readonly constant: boolean;
  /** Arrivals (open model) expected by the start of each stage. */
  readonly #arrivalsAtStart: number[];

  constructor(start: number, stages: readonly Stage[]) {
    if (stages.length === 0) throw new RangeError('a profile needs at least one stage');
    this.start = start;
    this.stages = stages;
    const starts: number[] = [];
    const arrivals: number[] = [];
    let t = 0;
    let n = 0;
    let from = start;
    for (const s of stages) {
      starts.push(t);
      arrivals.push(n);
      t += s.durationMs;
      n += ((from + s.target) / 2) * (s.durationMs / 1000);
      from = s.target;
    }
    this.stageStartsMs = starts;
    this.#arrivalsAtStart = arrivals;
    this.durationMs = t;
    this.peak = Math.max(start, ...stages.map((s) => s.target));
    this.constant = stages.every((s) => s.target === start);
  }

  /** A constant value for `durationMs` (Infinity: until the exchange count is reached). */
  static constant(value: number, durationMs: number): Profile {
    return new Profile(value, [{ durationMs, target: value }]);
  }

  /** The stage holding time t (the last one at or after the end). */
  stageAt(tMs: number, from = 0): number {
    let i = from;
    while (i + 1 < this.stages.length && tMs >= this.stageStartsMs[i + 1]!) i += 1;
    return i;
  }

  /** The value at time t: linear within a stage, the last target after the end. */
  valueAt(tMs: number): number {
    if (tMs >= this.durationMs) return this.stages[this.stages.length - 1]!.target;
    const i = this.stageAt(Math.max(0, tMs));
    const s = this.stages[i]!;
    const from = i === 0 ? this.start : this.stages[i - 1]!.target;
    if (!Number.isFinite(s.durationMs)) return from;
    return from + ((s.target - from) * (tMs - this.stageStartsMs[i]!)) / s.durationMs;
  }

  /**
   * When arrival n (0-based) is due, in ms, for the value read as a rate per second: the
   * time by which the integral of the rate reaches n + 1/2 (so a constant rate r spaces
   * arrivals 1/r apart, the first 1/(2r) in, and a run of D seconds holds exactly r*D of
   * them), or Infinity when the profile ends first.
   */
  arrivalTimeMs(n: number, fromStage = 0): number {
    for (let i = fromStage; i < this.stages.length; i++) {
      const s = this.stages[i]!;
      const r0 = i === 0 ? this.start : this.stages[i - 1]!.target;
      const dSec = s.durationMs / 1000;
      const slope = Number.isFinite(dSec) ? (s.target - r0) / dSec : 0; // per s^2
      const need = n + 0.5 - this.#arrivalsAtStart[i]!;
      const inStage = Number.isFinite(dSec) ? ((r0 + s.target) / 2) * dSec : r0 > 0 ? Number.POSITIVE_INFINITY : 0;
      if (need > 0 && need < inStage) {
        // r0*t + slope*t^2/2 = need, in the form that stays stable for a slope of 0 or below.
        const root = r0 + Math.sqrt(Math.max(0, r0 * r0 + 2 * slope * need));
        const tSec = (2 * need) / root;
        return this.stageStartsMs[i]! + Math.min(tSec * 1000, s.durationMs);
      }
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Arrivals due before time t (open model): the count of n with arrivalTimeMs(n) < t. */
  arrivalsBefore(tMs: number): number {
    if (tMs <= 0) return 0;
    const i = this.stageAt(tMs);
    const s = this.stages[i]!;
    const r0 = i === 0 ? this.start : this.stages[i - 1]!.target;
    const dt = (Math.min(tMs, this.stageStartsMs[i]! + s.durationMs) - this.stageStartsMs[i]!) / 1000;
    const slope = Number.isFinite(s.durationMs) ? (s.target - r0) / (s.durationMs / 1000) : 0;
    const integral = this.#arrivalsAtStart[i]! + r0 * dt + (slope * dt * dt) / 2;
    return Math.max(0, Math.ceil(integral - 0.5 - 1e-9));
  }
}
