import type { LoadStats } from './engine.js';

/** The `cmcard load --json` object, key for key as SPEC.md section 3 fixes it. */
export interface LoadSummary {
  exchanges: number;
  durationMs: number;
  exchangesPerSecond: number;
  wrongCryptograms: number;
  errors: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p95: number; p99: number; max: number };
}

export interface LoadVerdict {
  /** 0 passed, 1 failed, 3 server unreachable (SPEC.md section 3). */
  exitCode: 0 | 1 | 3;
  /** One line: why it failed; empty when it passed. */
  reason: string;
}

const round = (n: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
const ms = (us: number): number => round(us / 1000, 3);

/** The summary of a run that made no exchange (the server did not answer the first request). */
export function emptySummary(): LoadSummary {
  return { exchanges: 0, durationMs: 0, exchangesPerSecond: 0, wrongCryptograms: 0, errors: 0, statusCodes: {}, latencyMs: { p50: 0, p90: 0, p95: 0, p99: 0, max: 0 } };
}

export function summariseLoad(stats: LoadStats): LoadSummary {
  const h = stats.latency;
  const durationMs = Math.max(0, Math.round(stats.elapsedMs));
  const statusCodes: Record<string, number> = {};
  for (const code of Object.keys(stats.statusCodes).sort()) statusCodes[code] = stats.statusCodes[code]!;
  return {
    exchanges: stats.exchanges,
    durationMs,
    exchangesPerSecond: stats.elapsedMs > 0 ? round((stats.exchanges * 1000) / stats.elapsedMs, 1) : 0,
    wrongCryptograms: stats.wrongCryptograms,
    errors: stats.errors,
    statusCodes,
    latencyMs: {
      p50: ms(h.percentileUs(50)),
      p90: ms(h.percentileUs(90)),
      p95: ms(h.percentileUs(95)),
      p99: ms(h.percentileUs(99)),
      max: ms(h.maxUs),
    },
  };
}

/** Errors per exchange, 0 for an empty run. */
export function errorRate(s: Pick<LoadSummary, 'errors' | 'exchanges'>): number {
  return s.exchanges === 0 ? 0 : s.errors / s.exchanges;
}

/**
 * Exit 3 when the server never answered; 1 on any wrong cryptogram or an error rate above
 * `maxErrorRate`; else 0.
 */
export function judgeLoad(stats: LoadStats, summary: LoadSummary, maxErrorRate: number): LoadVerdict {
  if (stats.unreachable) {
    return { exitCode: 3, reason: `server unreachable: ${stats.firstTransportError ?? 'no response'}` };
  }
  const reasons: string[] = [];
  if (summary.wrongCryptograms > 0) {
    const malformed = stats.malformedBodies > 0 ? ` (${stats.malformedBodies} not a base64 JSON string of the challenge's length)` : '';
    reasons.push(`${summary.wrongCryptograms} response(s) failed card verification${malformed}`);
  }
  const rate = errorRate(summary);
  if (rate > maxErrorRate) {
    reasons.push(`error rate ${formatRate(rate)} (${summary.errors}/${summary.exchanges}) is above --max-error-rate ${maxErrorRate}`);
  }
  if (summary.exchanges === 0 && reasons.length === 0) reasons.push('no exchange ran');
  return reasons.length === 0 ? { exitCode: 0, reason: '' } : { exitCode: 1, reason: reasons.join('; ') };
}

export function formatRate(rate: number): string {
  return `${round(rate * 100, 2)}%`;
}

/** The summary for people: a few aligned lines. */
export function formatSummary(stats: LoadStats, s: LoadSummary): string {
  const codes = Object.entries(s.statusCodes).map(([c, n]) => `${c}: ${n}`).join(', ') || 'none';
  const transport = Object.entries(stats.transportErrors).map(([k, n]) => `${k}: ${n}`).join(', ');
  const lines = [
    `exchanges          ${s.exchanges} in ${(s.durationMs / 1000).toFixed(2)} s (${s.exchangesPerSecond} /s)${stats.interrupted ? ', interrupted' : ''}`,
    `verified by card   ${stats.verified}`,
    `wrong cryptograms  ${s.wrongCryptograms}${stats.malformedBodies > 0 ? ` (${stats.malformedBodies} malformed bodies)` : ''}`,
    `errors             ${s.errors} (${formatRate(errorRate(s))})${transport ? `; transport: ${transport}` : ''}`,
    `status codes       ${codes}`,
    `latency ms         p50 ${s.latencyMs.p50}  p90 ${s.latencyMs.p90}  p95 ${s.latencyMs.p95}  p99 ${s.latencyMs.p99}  max ${s.latencyMs.max}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** One progress line for a TTY (rewritten in place). */
export function formatProgress(stats: LoadStats, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((stats.exchanges * 1000) / elapsedMs) : 0;
  const p95 = ms(stats.latency.percentileUs(95));
  return `${(elapsedMs / 1000).toFixed(1)} s  ${stats.exchanges} exchanges  ${rate}/s  p95 ${p95} ms  errors ${stats.errors}  wrong ${stats.wrongCryptograms}`;
}
