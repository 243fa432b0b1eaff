import type { ReportSpec } from './index.js';
import { renderLoadHtml } from './load-html.js';
import type { LoadOutcome } from '../load/session.js';

/**
 * The `cmcard load --report FMT:PATH` documents: the formats live here, the command only
 * picks paths. `json` is `cmcard/load-report@1` (fields only ever added); `html` is load-html.ts.
 */

export interface LoadRunInfo {
  server: string;
  startedAt: string;
  /** What load was asked for, in words (model, workers or rate, stages, connections). */
  load: string;
  tool: { name: string; version: string };
}

export function renderLoadReport(format: Exclude<ReportSpec['format'], 'junit'>, run: LoadRunInfo, outcome: LoadOutcome): string {
  const { stats, summary, verdict, warmup } = outcome;
  const common = {
    server: run.server,
    startedAt: run.startedAt,
    load: run.load,
    concurrency: summary.model === 'closed' ? outcome.connections : null,
    connections: outcome.connections,
    cards: outcome.cards.length,
    tool: run.tool,
  };
  const timeline = stats.timeline.points();
  if (format === 'html') {
    return renderLoadHtml({ ...common, summary, transportErrors: stats.transportErrors, buckets: stats.latency.buckets(), timeline, verdict });
  }
  const document = {
    schema: 'cmcard/load-report@1',
    ...common,
    summary,
    verified: stats.verified,
    malformedBodies: stats.malformedBodies,
    transportErrors: stats.transportErrors,
    warmup: warmup ? { exchanges: warmup.exchanges, wrongCryptograms: warmup.wrongCryptograms, errors: warmup.errors } : null,
    verdict,
    latencyHistogramUs: stats.latency.buckets(),
    timelineIntervalMs: stats.timeline.intervalMs,
    timeline,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
