/**
 * A minimal ConnectionSend for the tests: one undici Client holding one connection
 * (pipelining 1), counting how many TCP connections it opened so a test can tell that a
 * handshake and the requests after it ran on the same socket.
 */
import { Client } from 'undici';
import type { ConnectionSend, WireRequest, WireResponse } from '../../../../../harness/wire/auth/types.js';

const MULTI = new Set(['set-cookie', 'www-authenticate']);

export interface TestConnection {
  send: ConnectionSend;
  /** TCP connections opened so far (1 while the server keeps the first one open). */
  connects(): number;
  /** Every request as sent, in order (headers as given). */
  sent: WireRequest[];
  close(): Promise<void>;
}

export function toWireResponse(status: number, raw: Record<string, string | string[] | undefined>, body: string): WireResponse {
  const headers: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    if (MULTI.has(key)) multi[key] = [...(multi[key] ?? []), ...values];
    headers[key] = values.join(', ');
  }
  return { status, headers, multi, body };
}

export function openConnection(origin: string, options: { timeoutMs?: number } = {}): TestConnection {
  const timeout = options.timeoutMs ?? 10_000;
  const client = new Client(origin, { pipelining: 1, headersTimeout: timeout, bodyTimeout: timeout, connectTimeout: timeout, keepAliveTimeout: 30_000 });
  let connects = 0;
  client.on('connect', () => {
    connects += 1;
  });
  const sent: WireRequest[] = [];
  const send: ConnectionSend = async (req) => {
    sent.push(req);
    const res = await client.request({ method: req.method as 'GET', path: req.path, headers: req.headers, body: req.body });
    const body = await res.body.text();
    return toWireResponse(res.statusCode, res.headers, body);
  };
  return { send, connects: () => connects, sent, close: () => client.close() };
}
