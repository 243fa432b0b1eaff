import type { CaseResult, RecordedExchange, RunReport } from '../events.js';

/**
 * Defensive redaction for every reporter. The client already redacts what it records;
 * this second layer means a slip there still never puts a credential or a key in a file
 * that CI keeps as an artefact.
 */

export const REDACTED = '[redacted]';

/** Header names whose values are credentials (compared case-insensitively). */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
]);

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
  }
  return out;
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
    const keyBody = KEY_ENDPOINT.test(exchange.request.url) && exchange.response.status >= 200 && exchange.response.status < 300;
    out.response = {
      ...exchange.response,
      headers: redactHeaders(exchange.response.headers),
      body: keyBody && exchange.response.body !== '' ? `${REDACTED} (key material, ${exchange.response.body.length} characters)` : exchange.response.body,
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
