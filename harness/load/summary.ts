import type { LatencyHistogram } from './histogram.js';
import type { LoadStats } from './engine.js';
import { canStillHold, judgeThresholds, type Outlook, type Threshold, type ThresholdInput, type ThresholdResult } from './thresholds.js';
import type { WrongDetail } from './wrong-cryptograms.js';

/**
 * A load run's outcome in numbers and in words: the `--json` summary, the verdict and its
 * exit code, and the lines for people (the summary and the live progress line).
 */

export interface LatencySummary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** One stage of a --stages run. */
export interface StageSummary {
  stage: number;
  durationMs: number;
  /** The profile's value at the start and end of the stage (workers, or exchanges per second). */
  from: number;
  to: number;
  exchanges: number;
  dropped: number;
  exchangesPerSecond: number;
  errors: number;
  wrongCryptograms: number;
  latencyMs: LatencySummary;
}

/**
 * The `cmcard load --json` object. The first seven keys, in this order, are the fixed
 * interface; the rest were added after them (docs/load.md).
 */
export interface LoadSummary {
  exchanges: number;
  durationMs: number;
  exchangesPerSecond: number;
  wrongCryptograms: number;
  errors: number;
  statusCodes: Record<string, number>;
  latencyMs: LatencySummary;
  model: 'closed' | 'open';
  verified: number;
  dropped: number;
  thresholds: ThresholdResult[];
  stages: StageSummary[];
  firstWrongCryptograms: WrongDetail[];
  /** The threshold that ended the run early (--abort-on-fail), else null. */
  abortedBy: string | null;
}

export interface LoadVerdict {
  /** 0 passed, 1 failed, 3 server unreachable. */
  exitCode: 0 | 1 | 3;
  /** One line: why it failed; empty when it passed. */
  reason: string;
}

/** What a run is judged by: the user's thresholds and the rules that hold unless one replaces them. */
export interface LoadCriteria {
  thresholds: Threshold[];
  /** --max-error-rate (0..1); null when a threshold on errors replaced it. */
  maxErrorRate: number | null;
  /** True unless a threshold on `wrong` replaced the rule that every answer must verify. */
  noWrong: boolean;
}

/** The rules in force: an `errors` threshold replaces the default --max-error-rate 0 (not one given explicitly); a `wrong` threshold replaces "no wrong cryptogram". */
export function criteriaFor(thresholds: Threshold[], maxErrorRate: number | undefined): LoadCriteria {
  const on = (kind: string): boolean => thresholds.some((t) => t.metric.kind === kind);
  return { thresholds, maxErrorRate: maxErrorRate ?? (on('errors') ? null : 0), noWrong: !on('wrong') };
}

const round = (n: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
const ms = (us: number): number => round(us / 1000, 3);

function latencyOf(h: LatencyHistogram): LatencySummary {
  return { p50: ms(h.percentileUs(50)), p90: ms(h.percentileUs(90)), p95: ms(h.percentileUs(95)), p99: ms(h.percentileUs(99)), max: ms(h.maxUs) };
}

/** The summary of a run that made no exchange (the server did not answer the first request). */
export function emptySummary(model: LoadSummary['model'] = 'closed'): LoadSummary {
  return {
    exchanges: 0,
    durationMs: 0,
    exchangesPerSecond: 0,
    wrongCryptograms: 0,
    errors: 0,
    statusCodes: {},
    latencyMs: { p50: 0, p90: 0, p95: 0, p99: 0, max: 0 },
    model,
    verified: 0,
    dropped: 0,
    thresholds: [],
    stages: [],
    firstWrongCryptograms: [],
    abortedBy: null,
  };
}

/** Exchanges per second over the run so far. */
export function achievedRate(stats: Pick<LoadStats, 'exchanges' | 'elapsedMs'>): number {
  return stats.elapsedMs > 0 ? round((stats.exchanges * 1000) / stats.elapsedMs, 1) : 0;
}

function thresholdInput(stats: LoadStats, elapsedMs: number): ThresholdInput {
  return {
    exchanges: stats.exchanges,
    errors: stats.errors,
    wrongCryptograms: stats.wrongCryptograms,
    dropped: stats.dropped,
    latency: stats.latency,
    exchangesPerSecond: achievedRate({ exchanges: stats.exchanges, elapsedMs }),
  };
}

export interface SummaryExtras {
  thresholds?: Threshold[];
  /** Per-stage figures only when the user gave --stages. */
  withStages?: boolean;
  wrong?: WrongDetail[];
}

export function summariseLoad(stats: LoadStats, extras: SummaryExtras = {}): LoadSummary {
  const statusCodes: Record<string, number> = {};
  for (const code of Object.keys(stats.statusCodes).sort()) statusCodes[code] = stats.statusCodes[code]!;
  return {
    exchanges: stats.exchanges,
    durationMs: Math.max(0, Math.round(stats.elapsedMs)),
    exchangesPerSecond: achievedRate(stats),
    wrongCryptograms: stats.wrongCryptograms,
    errors: stats.errors,
    statusCodes,
    latencyMs: latencyOf(stats.latency),
    model: stats.model,
    verified: stats.verified,
    dropped: stats.dropped,
    thresholds: judgeThresholds(extras.thresholds ?? [], thresholdInput(stats, stats.elapsedMs)),
    stages: extras.withStages
      ? stats.stages.map((s, i) => ({
          stage: i + 1,
          durationMs: Math.round(s.durationMs),
          from: s.from,
          to: s.to,
          exchanges: s.exchanges,
          dropped: s.dropped,
          exchangesPerSecond: s.elapsedMs > 0 ? round((s.exchanges * 1000) / s.elapsedMs, 1) : 0,
          errors: s.errors,
          wrongCryptograms: s.wrongCryptograms,
          latencyMs: latencyOf(s.latency),
        }))
      : [],
    firstWrongCryptograms: extras.wrong ?? [],
    abortedBy: stats.stoppedBy,
  };
}

/** Errors per exchange, 0 for an empty run. */
export function errorRate(s: Pick<LoadSummary, 'errors' | 'exchanges'>): number {
  return s.exchanges === 0 ? 0 : s.errors / s.exchanges;
}

/**
 * The rules in force as thresholds, for deciding early (--abort-on-fail) whether the run
 * can still pass: the user's, `wrong=0` and the error-rate bound unless replaced.
 */
export function criteriaAsThresholds(c: LoadCriteria): Threshold[] {
  const out = [...c.thresholds];
  if (c.noWrong) out.push({ text: 'wrong=0', name: 'wrong', metric: { kind: 'wrong', percent: false }, op: '=', value: 0 });
  if (c.maxErrorRate !== null) {
    out.push(
      c.maxErrorRate === 0
        ? { text: 'errors=0', name: 'errors', metric: { kind: 'errors', percent: false }, op: '=', value: 0 }
        : {
            text: `errors<=${round(c.maxErrorRate * 100, 6)}%`,
            name: 'errors',
            metric: { kind: 'errors', percent: true },
            op: '<=',
            value: c.maxErrorRate * 100,
          },
    );
  }
  return out;
}

/** The first rule in force that the run can no longer meet, or null (for --abort-on-fail). */
export function firstLostCause(stats: LoadStats, elapsedMs: number, c: LoadCriteria, outlook: Outlook): Threshold | null {
  const input = thresholdInput(stats, elapsedMs);
  return criteriaAsThresholds(c).find((t) => !canStillHold(t, input, outlook)) ?? null;
}

/**
 * Exit 3 when the server never answered; 1 on a wrong cryptogram (unless a `wrong`
 * threshold allows it), an error rate above --max-error-rate, or a breached threshold;
 * else 0.
 */
export function judgeLoad(stats: LoadStats, summary: LoadSummary, criteria: LoadCriteria): LoadVerdict {
  if (stats.unreachable) {
    return { exitCode: 3, reason: `server unreachable: ${stats.firstTransportError ?? 'no response'}` };
  }
  const reasons: string[] = [];
  if (criteria.noWrong && summary.wrongCryptograms > 0) {
    const malformed = stats.malformedBodies > 0 ? `, ${stats.malformedBodies} not a base64 JSON string of the challenge's length` : '';
    const first = summary.firstWrongCryptograms.find((w) => w.phase === 'run');
    const detail = first ? `; first: card ${first.card}, challenge ${first.challenge}: ${first.diagnosis}` : '';
    reasons.push(`${summary.wrongCryptograms} response(s) failed card verification (${summary.wrongCryptograms} of ${summary.exchanges}${malformed}${detail})`);
  }
  const rate = errorRate(summary);
  if (criteria.maxErrorRate !== null && rate > criteria.maxErrorRate) {
    reasons.push(`error rate ${formatRate(rate)} (${summary.errors}/${summary.exchanges}) is above --max-error-rate ${criteria.maxErrorRate}`);
  }
  for (const r of summary.thresholds) {
    if (!r.pass) reasons.push(`threshold ${r.threshold} breached (${r.metric} ${r.actual}${r.unit})`);
  }
  if (summary.abortedBy) reasons.push(`stopped early: ${summary.abortedBy} can no longer hold`);
  if (summary.exchanges === 0 && reasons.length === 0) reasons.push('no exchange ran');
  return reasons.length === 0 ? { exitCode: 0, reason: '' } : { exitCode: 1, reason: reasons.join('; ') };
}

export function formatRate(rate: number): string {
  return `${round(rate * 100, 2)}%`;
}

function latencyLine(l: LatencySummary): string {
  return `p50 ${l.p50}  p90 ${l.p90}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max}`;
}

/** The summary for people: a few aligned lines. */
export function formatSummary(stats: LoadStats, s: LoadSummary): string {
  const codes =
    Object.entries(s.statusCodes)
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ') || 'none';
  const transport = Object.entries(stats.transportErrors)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const ended = stats.interrupted ? ', interrupted' : s.abortedBy ? `, stopped early (${s.abortedBy} can no longer hold)` : '';
  const lines = [`exchanges          ${s.exchanges} in ${(s.durationMs / 1000).toFixed(2)} s (${s.exchangesPerSecond} /s)${ended}`];
  if (s.model === 'open') lines.push(`dropped            ${s.dropped} (due while every connection was busy)`);
  lines.push(
    `verified by card   ${s.verified}`,
    `wrong cryptograms  ${s.wrongCryptograms}${stats.malformedBodies > 0 ? ` (${stats.malformedBodies} malformed bodies)` : ''}`,
  );
  for (const w of s.firstWrongCryptograms) {
    lines.push(`  ${w.phase === 'warmup' ? 'warm-up: ' : ''}card ${w.card}, challenge ${w.challenge}, answer ${w.response}: ${w.diagnosis}`);
  }
  lines.push(
    `errors             ${s.errors} (${formatRate(errorRate(s))})${transport ? `; transport: ${transport}` : ''}`,
    `status codes       ${codes}`,
    `latency ms         ${latencyLine(s.latencyMs)}${s.model === 'open' ? " (from each exchange's due time)" : ''}`,
  );
  for (const st of s.stages) {
    lines.push(
      `stage ${st.stage}            ${(st.durationMs / 1000).toFixed(1)} s ${st.from}->${st.to}${s.model === 'open' ? '/s' : ' workers'}: ${st.exchanges} exchanges (${st.exchangesPerSecond} /s)${s.model === 'open' ? `, ${st.dropped} dropped` : ''}, ${st.errors} errors, ${st.wrongCryptograms} wrong; ${latencyLine(st.latencyMs)}`,
    );
  }
  for (const t of s.thresholds) lines.push(`threshold          ${t.pass ? 'pass' : 'FAIL'}  ${t.threshold} (${t.metric} ${t.actual}${t.unit})`);
  return `${lines.join('\n')}\n`;
}

/** What the progress line shows. */
export interface LiveProgress {
  stats: LoadStats;
  elapsedMs: number;
  /** Workers or exchanges per second the profile asks for now. */
  target: number;
  /** 1-based, of `stages`; 0 without --stages. */
  stage: number;
  stages: number;
  /** Exchanges per second since the last progress line. */
  recentRate: number;
}

/** One progress line for a TTY (rewritten in place). */
export function formatProgress(p: LiveProgress): string {
  const s = p.stats;
  const open = s.model === 'open';
  const stage = p.stage > 0 ? `stage ${p.stage}/${p.stages}  ` : '';
  const target = open ? `target ${Math.round(p.target)}/s  ` : p.stage > 0 ? `${Math.ceil(p.target)} workers  ` : '';
  return `${(p.elapsedMs / 1000).toFixed(1)} s  ${stage}${target}${s.exchanges} exchanges  ${Math.round(p.recentRate)}/s  p99 ${ms(s.latency.percentileUs(99))} ms  ${open ? `dropped ${s.dropped}  ` : ''}errors ${s.errors}  wrong ${s.wrongCryptograms}`;
}
