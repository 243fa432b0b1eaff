import { Pool, type Dispatcher } from 'undici';
import { TransportFailure, type Reply } from './engine.js';

/**
 * The lean request path of load mode: one undici keep-alive pool with as many connections
 * as workers, the request path of each card built once, and per exchange only the
 * percent-encoded challenge appended; responses read through undici's raw dispatch
 * handler (no streams, no promises per chunk). It records nothing: the recording CmClient
 * is for conformance. undici rather than node:http because node:http's client costs about
 * three times the CPU per request, which on a shared machine takes it from the server.
 */

export interface TransportTarget {
  reqid: string;
  scid: string;
  cardid: string;
  atr?: string;
}

export interface HttpTransportOptions {
  /** Origin, e.g. http://127.0.0.1:8080 (a path, if any, is ignored: use basePath). */
  server: string;
  basePath: string;
  headers?: Record<string, string>;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  timeoutMs: number;
  concurrency: number;
  /** diversified=True (the card's diversified key) or False (the template's default key). */
  diversified: boolean;
  targets: TransportTarget[];
}

export interface HttpTransport {
  send(cardIndex: number, challenge: Buffer): Promise<Reply>;
  close(): Promise<void>;
}

/** Bodies larger than this fail the exchange: a cryptogram is a few dozen bytes. */
const MAX_BODY = 64 * 1024;

export function createHttpTransport(o: HttpTransportOptions): HttpTransport {
  const url = new URL(o.server);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`server must be an http:// or https:// URL, got ${o.server}`);
  const pool = new Pool(url.origin, {
    connections: o.concurrency,
    pipelining: 1,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    maxResponseSize: MAX_BODY,
    connect: { timeout: o.timeoutMs, ...(o.tls ?? {}) },
  });
  const origin = url.origin;
  // A flat [name, value, ...] list: undici takes it as is, an object it converts per request.
  const headers: string[] = Object.entries({ ...o.headers, accept: 'application/json' }).flat();
  const base = o.basePath.replace(/\/+$/, '');
  const diversified = o.diversified ? 'True' : 'False';
  const e = encodeURIComponent;
  // Query order as in the documented example: cardid, challenge, diversified (then atr).
  const prefixes = o.targets.map((t) => `${base}/requests/${e(t.reqid)}/smartcards/${e(t.scid)}/authenticationresponse?cardid=${e(t.cardid)}&challenge=`);
  const suffixes = o.targets.map((t) => `&diversified=${diversified}${t.atr ? `&atr=${e(t.atr)}` : ''}`);

  function send(cardIndex: number, challenge: Buffer): Promise<Reply> {
    const path = prefixes[cardIndex]! + e(challenge.toString('base64')) + suffixes[cardIndex]!;
    return new Promise<Reply>((resolve, reject) => {
      let status = 0;
      let body = '';
      // The callback form of undici's handler: Pool.dispatch in undici 7 still checks for it.
      const handler: Dispatcher.DispatchHandler = {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData(chunk) {
          body += chunk.toString('latin1');
          return true;
        },
        onComplete() {
          resolve({ status, body });
        },
        onError(err) {
          reject(failure(err, o.timeoutMs));
        },
      };
      pool.dispatch({ origin, path, method: 'GET', headers }, handler);
    });
  }

  return { send, close: () => pool.destroy() };
}

/** An undici or socket error to a TransportFailure whose kind names the cause. */
function failure(err: Error & { code?: string }, timeoutMs: number): TransportFailure {
  const code = err.code ?? '';
  const kind =
    code === 'ECONNREFUSED' ? 'refused'
    : code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'unreachable'
    : code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED' ? 'reset'
    : code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' ? 'too-large'
    : code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL') ? 'tls'
    : code.startsWith('HPE_') || code === 'UND_ERR_INFO' ? 'protocol'
    : 'other';
  const message = kind === 'timeout' ? `no response within ${timeoutMs} ms` : err.message;
  return new TransportFailure(`${kind}: ${message}`, kind);
}
