import type { Level, Outcome, RecordedExchange, Reporter, RunReport, RunSummary } from '../events.js';
import { redactReport } from './redact.js';
import { writeReportFile } from './write-file.js';

/** The JSON report, described by report.schema.json next to this file (docs/report.md). */
export const REPORT_SCHEMA_ID = 'cmcard/conformance-report@1';

/** An exchange in the report: the recorded one, its keys in the order of the spec (`error` says why no response came). */
export type JsonExchange = RecordedExchange;

export interface JsonCase {
  id: string;
  title: string;
  level: Level;
  outcome: Outcome;
  message: string;
  durationMs: number;
  exchanges: JsonExchange[];
}

export interface JsonReport {
  schema: typeof REPORT_SCHEMA_ID;
  tool: { name: string; version: string };
  server: string;
  startedAt: string;
  durationMs: number;
  summary: RunSummary;
  cases: JsonCase[];
  /** What the run says once (a likely root cause, weak keys); absent when nothing. */
  notes?: string[];
}

/** Pure: the report document, keys in the order of the spec, credentials redacted. */
export function toJsonReport(run: RunReport): JsonReport {
  const report = redactReport(run);
  return {
    schema: REPORT_SCHEMA_ID,
    tool: { name: report.tool.name, version: report.tool.version },
    server: report.server,
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    summary: {
      passed: report.summary.passed,
      failed: report.summary.failed,
      warnings: report.summary.warnings,
      skipped: report.summary.skipped,
    },
    cases: report.results.map((r) => ({
      id: r.id,
      title: r.title,
      level: r.level,
      outcome: r.outcome,
      message: r.message,
      durationMs: r.durationMs,
      exchanges: r.exchanges.map((e): JsonExchange => ({
        request: {
          method: e.request.method,
          url: e.request.url,
          headers: e.request.headers,
          ...(e.request.body !== undefined ? { body: e.request.body } : {}),
        },
        ...(e.response ? { response: { status: e.response.status, headers: e.response.headers, body: e.response.body } } : {}),
        ...(e.error !== undefined || !e.response ? { error: e.error ?? 'no response' } : {}),
        durationMs: e.durationMs,
        // Optional fields of the same schema version: a reader of older reports ignores them.
        ...(e.failed ? { failed: true } : {}),
        ...(e.failed && e.why !== undefined ? { why: e.why } : {}),
        ...(e.failed && e.reproduce !== undefined ? { reproduce: e.reproduce } : {}),
      })),
    })),
    ...(report.notes && report.notes.length ? { notes: [...report.notes] } : {}),
  };
}

export function renderJson(run: RunReport): string {
  return `${JSON.stringify(toJsonReport(run), null, 2)}\n`;
}

export function jsonReporter(path: string): Reporter {
  return {
    async onRunEnd(report) {
      await writeReportFile(path, renderJson(report));
    },
  };
}
