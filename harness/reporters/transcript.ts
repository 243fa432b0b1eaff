import type { RecordedExchange } from '../events.js';

/** Plain-text renderings of an HTTP exchange, shared by the console and JUnit reporters. */

export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}... (${text.length - limit} more characters)`;
}

/** `GET url -> 500 (3 ms)` or `GET url -> no response: timeout (5001 ms)`. */
export function exchangeLine(exchange: RecordedExchange): string {
  const outcome = exchange.response ? String(exchange.response.status) : `no response: ${exchange.error ?? 'unknown error'}`;
  return `${exchange.request.method} ${exchange.request.url} -> ${outcome} (${Math.round(exchange.durationMs)} ms)`;
}

/** The whole exchange as a readable transcript, bodies cut at `bodyLimit` characters. */
export function exchangeText(exchange: RecordedExchange, bodyLimit: number): string {
  const lines = [`${exchange.request.method} ${exchange.request.url}`];
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
