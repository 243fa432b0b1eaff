import type { CaseResult, RecordedExchange, RunReport } from '../events.js';
import { NAME_ONLY, REDACTED } from '../redact.js';

/**
 * Defensive redaction for every reporter, by the rules of harness/redact.ts. The runner
 * already masks every configured credential value in what it reports; this second layer
 * (header names, URL passwords, key bodies) means a report built by hand or a slip there
 * still never puts a credential or a key in a file that CI keeps as an artefact.
 */

export { REDACTED };

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return NAME_ONLY.headers(headers);
}

/** Drops a password from `scheme://user:password@host` (a server URL given on the command line). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, `$1:${REDACTED}@`);
}

// The diversifiedkey endpoint answers with a card's admin key: key bytes never go in a report.
const KEY_ENDPOINT = /\/diversifiedkey(?:[/?#]|$)/i;

export function redactExchange(exchange: RecordedExchange): RecordedExchange {
  const request = { ...exchange.request, url: redactUrl(exchange.request.url), headers: redactHeaders(exchange.request.headers) };
  const out: RecordedExchange = { ...exchange, request };
  if (exchange.response) {
    const keyBody = KEY_ENDPOINT.test(exchange.request.url) && exchange.response.body !== '' && exchange.response.body !== REDACTED;
    out.response = {
      ...exchange.response,
      headers: redactHeaders(exchange.response.headers),
      body: keyBody ? `${REDACTED} (may hold key material, ${exchange.response.body.length} characters)` : exchange.response.body,
    };
  }
  return out;
}

export function redactResult(result: CaseResult): CaseResult {
  return { ...result, exchanges: result.exchanges.map(redactExchange) };
}

export function redactReport(report: RunReport): RunReport {
  return { ...report, server: redactUrl(report.server), results: report.results.map(redactResult) };
}
