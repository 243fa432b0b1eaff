import type { RecordedExchange } from '../events.js';
import { visible } from '../show-body.js';

/** Plain-text renderings of an HTTP exchange, shared by the console and JUnit reporters. */

export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}... (${text.length - limit} more characters)`;
}

/** A body as a JSON string literal (quotes, whitespace, BOM, escapes visible), cut at `limit` characters of the body. */
export function visibleBody(body: string, limit: number): string {
  if (body === '') return '(empty body)';
  return body.length <= limit ? visible(body) : `${visible(body.slice(0, limit))}... (${body.length} characters)`;
}

/** `GET url -> 500 (3 ms)` or `GET url -> no response: timeout (5001 ms)`. */
export function exchangeLine(exchange: RecordedExchange): string {
  const outcome = exchange.response ? String(exchange.response.status) : `no response: ${exchange.error ?? 'unknown error'}`;
  return `${exchange.request.method} ${exchange.request.url} -> ${outcome} (${Math.round(exchange.durationMs)} ms)`;
}

/** The exchanges a case failed on (marked by the case), in the order they were recorded. */
export function failedExchanges(exchanges: readonly RecordedExchange[]): RecordedExchange[] {
  return exchanges.filter((e) => e.failed);
}

/** What a report says about a failing exchange beyond the transcript: why, and how to send it again. */
export function failureLines(exchange: RecordedExchange): string[] {
  const lines: string[] = [];
  if (exchange.why) lines.push(`why: ${exchange.why}`);
  if (exchange.reproduce) lines.push(`reproduce: ${exchange.reproduce}`);
  return lines;
}

/** The whole exchange as a readable transcript, bodies cut at `bodyLimit` characters; a failing one says so first. */
export function exchangeText(exchange: RecordedExchange, bodyLimit: number): string {
  const lines = exchange.failed ? ['FAILED ON THIS EXCHANGE', ...failureLines(exchange), ''] : [];
  lines.push(`${exchange.request.method} ${exchange.request.url}`);
  for (const [name, value] of Object.entries(exchange.request.headers)) lines.push(`${name}: ${value}`);
  if (exchange.request.body !== undefined && exchange.request.body !== '') lines.push('', truncate(exchange.request.body, bodyLimit));
  lines.push('');
  if (exchange.response) {
    lines.push(`-> ${exchange.response.status} (${Math.round(exchange.durationMs)} ms)`);
    for (const [name, value] of Object.entries(exchange.response.headers)) lines.push(`${name}: ${value}`);
    lines.push('', truncate(exchange.response.body, bodyLimit));
  } else {
    lines.push(`-> no response: ${exchange.error ?? 'unknown error'} (${Math.round(exchange.durationMs)} ms)`);
  }
  return lines.join('\n');
}
