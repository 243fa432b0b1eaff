import type { LatencyHistogram } from './histogram.js';

/**
 * Pass/fail criteria in k6's spirit: `p99<50`, `p95<=20ms`, `max<1s`, `errors<0.1%`,
 * `errors<=10`, `wrong=0`, `dropped<1%`, `rate>=450`. Pure: parsing, the final verdict,
 * and whether a criterion can still hold part-way through a run (for --abort-on-fail).
 */

export type Operator = '<' | '<=' | '>' | '>=' | '=' | '!=';

export type ThresholdMetric =
  /** Latency percentile, ms. */
  | { kind: 'percentile'; p: number }
  | { kind: 'max' }
  /** Counts of exchanges, or a percentage of them (dropped: of the exchanges due). */
  | { kind: 'errors' | 'wrong' | 'dropped'; percent: boolean }
  /** Exchanges per second over the run. */
  | { kind: 'rate' };

export interface Threshold {
  /** As the user wrote it, spaces removed: the name in the summary and the exit line. */
  text: string;
  /** The metric's name: p99, p99.9, max, errors, wrong, dropped, rate. */
  name: string;
  metric: ThresholdMetric;
  op: Operator;
  /** In the metric's unit: ms, a count, a percentage (0-100), or exchanges per second. */
  value: number;
}

/** What the run measured, final or so far. */
export interface ThresholdInput {
  exchanges: number;
  errors: number;
  wrongCryptograms: number;
  dropped: number;
  latency: LatencyHistogram;
  exchangesPerSecond: number;
}

/** What may still come: exchanges not yet ended (in flight or due), and the run's length. */
export interface Outlook {
  /** Exchanges that may still end (in flight plus still to start); Infinity when unbounded. */
  remaining: number;
  /** Exchanges due to start that may yet be dropped instead (open model); 0 in the closed model. */
  droppable: number;
  /** The shortest the run can last, ms (planned length in the open model); NaN when unknown. */
  minDurationMs: number;
}

export interface ThresholdResult {
  /** As given, spaces removed, e.g. `p99<50`. */
  threshold: string;
  /** The metric's name, e.g. `p99`. */
  metric: string;
  /** The measured value, in `unit`. */
  actual: number;
  /** ` ms`, `%`, `/s`, or empty for a count. */
  unit: string;
  pass: boolean;
}

const OPS: Operator[] = ['<=', '>=', '!=', '<', '>', '='];
const GRAMMAR = /^(p\d+(?:\.\d+)?|max|errors|wrong|dropped|rate)(<=|>=|!=|==|<|>|=)(\d+(?:\.\d+)?)(ms|s|%|\/s)?$/;

/** Parses one --threshold; throws RangeError with one line naming the expression. */
export function parseThreshold(raw: string): Threshold {
  const text = raw.replace(/\s+/g, '');
  const m = GRAMMAR.exec(text);
  const help = "e.g. 'p99<50', 'p95<=20ms', 'max<2s', 'errors<0.1%', 'wrong=0', 'dropped<1%', 'rate>=450'";
  if (!m) throw new RangeError(`--threshold '${raw}' is not METRIC OP VALUE with METRIC one of pNN, max, errors, wrong, dropped, rate (${help})`);
  const [, name, opText, number, unit] = m as unknown as [string, string, string, string, string | undefined];
  const op = (opText === '==' ? '=' : opText) as Operator;
  if (!OPS.includes(op)) throw new RangeError(`--threshold '${raw}': unknown operator ${opText}`);
  let value = Number(number);
  let metric: ThresholdMetric;
  if (name.startsWith('p')) {
    const p = Number(name.slice(1));
    if (!(p > 0 && p <= 100)) throw new RangeError(`--threshold '${raw}': the percentile must be above 0 and at most 100`);
    metric = { kind: 'percentile', p };
  } else if (name === 'max') {
    metric = { kind: 'max' };
  } else if (name === 'rate') {
    metric = { kind: 'rate' };
  } else {
    metric = { kind: name as 'errors' | 'wrong' | 'dropped', percent: unit === '%' };
  }
  const latency = metric.kind === 'percentile' || metric.kind === 'max';
  if (latency) {
    if (unit !== undefined && unit !== 'ms' && unit !== 's') throw new RangeError(`--threshold '${raw}': ${name} is a latency in ms (or with s), not ${unit}`);
    if (unit === 's') value *= 1000;
  } else if (metric.kind === 'rate') {
    if (unit !== undefined && unit !== '/s') throw new RangeError(`--threshold '${raw}': rate is exchanges per second, not ${unit}`);
  } else {
    if (unit !== undefined && unit !== '%') throw new RangeError(`--threshold '${raw}': ${name} is a count or a percentage, not ${unit}`);
    if (unit === '%' && value > 100) throw new RangeError(`--threshold '${raw}': a percentage is at most 100`);
    if (unit === undefined && !Number.isInteger(value)) throw new RangeError(`--threshold '${raw}': a count of ${name} is a whole number (add % for a share)`);
  }
  return { text, name, metric, op, value };
}

function holds(actual: number, op: Operator, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '=':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** The value of a threshold's metric, in its unit, rounded as the summary prints it. */
export function measure(t: Threshold, s: ThresholdInput): number {
  const m = t.metric;
  switch (m.kind) {
    case 'percentile':
      return round3(s.latency.percentileUs(m.p) / 1000);
    case 'max':
      return round3(s.latency.maxUs / 1000);
    case 'rate':
      return s.exchangesPerSecond;
    case 'errors':
      return m.percent ? percent(s.errors, s.exchanges) : s.errors;
    case 'wrong':
      return m.percent ? percent(s.wrongCryptograms, s.exchanges) : s.wrongCryptograms;
    case 'dropped':
      return m.percent ? percent(s.dropped, s.exchanges + s.dropped) : s.dropped;
  }
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : round3((100 * part) / whole);
}

/** The final verdict of each threshold. */
export function judgeThresholds(thresholds: readonly Threshold[], s: ThresholdInput): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual = measure(t, s);
    return { threshold: t.text, metric: t.name, actual, unit: unitOf(t), pass: holds(actual, t.op, t.value) };
  });
}

/**
 * False only when no way the rest of the run can go would make the threshold hold: the
 * range of final values still possible lies wholly on the failing side. With an unbounded
 * rest (a --duration run in the closed model) shares, percentiles and the rate stay open
 * until the end; counts and max only grow, so those are decided as soon as they pass a `<`.
 */
export function canStillHold(t: Threshold, s: ThresholdInput, o: Outlook): boolean {
  const [lo, hi] = finalRange(t, s, o);
  switch (t.op) {
    case '<':
      return lo < t.value;
    case '<=':
      return lo <= t.value;
    case '>':
      return hi > t.value;
    case '>=':
      return hi >= t.value;
    case '=':
      return lo <= t.value && t.value <= hi;
    case '!=':
      return !(lo === t.value && hi === t.value);
  }
}

/** The lowest and highest final value the metric can still take. */
function finalRange(t: Threshold, s: ThresholdInput, o: Outlook): [number, number] {
  const m = t.metric;
  const r = o.remaining;
  switch (m.kind) {
    case 'percentile':
      return [s.latency.percentileUs(m.p, r, 0) / 1000, s.latency.percentileUs(m.p, 0, r) / 1000];
    case 'max':
      return [s.latency.maxUs / 1000, r > 0 ? Number.POSITIVE_INFINITY : s.latency.maxUs / 1000];
    case 'rate': {
      // Only the open model knows its length up front: the rate can reach at most all
      // remaining exchanges over that length; it can always still fall.
      if (!Number.isFinite(r) || !(o.minDurationMs > 0)) return [0, Number.POSITIVE_INFINITY];
      return [0, ((s.exchanges + r) * 1000) / o.minDurationMs];
    }
    case 'errors':
    case 'wrong': {
      const c = m.kind === 'errors' ? s.errors : s.wrongCryptograms;
      if (!m.percent) return [c, c + r];
      return shareRange(c, s.exchanges, r);
    }
    case 'dropped': {
      const d = o.droppable;
      if (!m.percent) return [s.dropped, s.dropped + d];
      return shareRange(s.dropped, s.exchanges + s.dropped, d);
    }
  }
}

/** c of n so far, with up to r more that may or may not count: the final percentage's range. */
function shareRange(c: number, n: number, r: number): [number, number] {
  if (!Number.isFinite(r)) return [0, 100];
  if (n + r === 0) return [0, 0];
  return [(100 * c) / (n + r), (100 * (c + r)) / (n + r)];
}

/** How a threshold's value is written after the number. */
export function unitOf(t: Threshold): string {
  const m = t.metric;
  return m.kind === 'percentile' || m.kind === 'max' ? ' ms' : m.kind === 'rate' ? '/s' : m.percent ? '%' : '';
}
