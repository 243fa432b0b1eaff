import type { CaseResult, RecordedExchange, RunReport } from '../events.js';
import { NAME_ONLY, REDACTED, redactUrl } from '../redact.js';

/**
 * The reporters' safety net, by the one policy of harness/redact.ts. The runner already
 * masks every credential and key the config knows; this second layer (header names, URL
 * passwords, bodies of the endpoints that answer with key material) means a report built
 * by hand or a slip there still never puts a credential or a key in a file that CI keeps.
 */

export { REDACTED, redactUrl };

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return NAME_ONLY.headers(headers);
}

export function redactExchange(exchange: RecordedExchange): RecordedExchange {
  return NAME_ONLY.exchange(exchange);
}

export function redactResult(result: CaseResult): CaseResult {
  return { ...result, exchanges: result.exchanges.map(redactExchange) };
}

export function redactReport(report: RunReport): RunReport {
  return { ...report, server: redactUrl(report.server), results: report.results.map(redactResult) };
}
