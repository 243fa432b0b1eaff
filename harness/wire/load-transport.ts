/**
 * The lean request path of load mode: one undici connection per worker, the request path
 * of each card built once (endpoints.ts) and per exchange only the percent-encoded
 * challenge appended; responses read through undici's raw dispatch handler (no streams, no
 * promises per chunk). It records nothing: the recording CmClient is for conformance.
 * undici rather than node:http because node:http's client costs about three times the
 * CPU per request, which on a shared machine takes it from the server.
 *
 * Credentials: fixed headers ride on every request; a request-bound mechanism (OAuth 2)
 * wraps each send; a connection-bound one (NTLM, Negotiate) authenticates each connection
 * once, and again only after the server drops it.
 */
import { Client, type Dispatcher } from 'undici';
import type { Authenticator, ConnectionSend, WireRequest, WireResponse } from './auth/types.js';
import { authResponseTemplate, normaliseBasePath } from './endpoints.js';
import { classify, TransportError } from './transport-error.js';

export interface TransportTarget {
  reqid: string;
  scid: string;
  cardid: string;
  atr?: string;
}

/** What a transport returns for one request. */
export interface Reply {
  status: number;
  body: string;
}

export interface LoadTransportOptions {
  /** Origin, e.g. http://127.0.0.1:8080 (a path, if any, is ignored: use basePath). */
  server: string;
  basePath: string;
  headers?: Record<string, string>;
  auth?: Authenticator;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  timeoutMs: number;
  /** Connections: one per worker. */
  concurrency: number;
  /** diversified=True (the card's diversified key) or False (the template's default key). */
  diversified: boolean;
  targets: TransportTarget[];
}

export interface LoadTransport {
  /** Sends the challenge for card `cardIndex`; throws TransportError (or AuthFailure) when no answer came. */
  send(cardIndex: number, challenge: Buffer): Promise<Reply>;
  close(): Promise<void>;
}

/** Bodies larger than this fail the exchange: a cryptogram is a few dozen bytes. */
const MAX_BODY = 64 * 1024;

interface Connection {
  client: Client;
  authenticated: boolean;
}

export function createLoadTransport(o: LoadTransportOptions): LoadTransport {
  const url = new URL(o.server);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`server must be an http:// or https:// URL, got ${o.server}`);
  const origin = url.origin;
  const connections: Connection[] = [];
  for (let i = 0; i < o.concurrency; i++) {
    const client = new Client(origin, {
      pipelining: 1,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      maxResponseSize: MAX_BODY,
      connect: { timeout: o.timeoutMs, ...(o.tls ?? {}) },
    });
    const connection: Connection = { client, authenticated: false };
    client.on('disconnect', () => {
      connection.authenticated = false;
    });
    connections.push(connection);
  }
  // A worker has at most one exchange in flight, so a free connection is always there.
  const free = connections.map((_, i) => i).reverse();
  const fixed: Record<string, string> = { ...o.headers, accept: 'application/json' };
  // A flat [name, value, ...] list: undici takes it as is, an object it converts per request.
  const flatHeaders: string[] = Object.entries(fixed).flat();
  const base = normaliseBasePath(o.basePath);
  const templates = o.targets.map((t) => authResponseTemplate(base, t, o.diversified));
  const auth = o.auth;

  function fast(connection: Connection, path: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      let status = 0;
      let body = '';
      // The callback form of undici's handler: dispatch in undici 7 still checks for it.
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
          reject(failure(err, 'GET', origin + path, o.timeoutMs));
        },
      };
      connection.client.dispatch({ origin, path, method: 'GET', headers: flatHeaders }, handler);
    });
  }

  /** The full request path, for handshakes and request-bound mechanisms (answers with every header). */
  function full(connection: Connection): ConnectionSend {
    return async (req: WireRequest): Promise<WireResponse> => {
      try {
        const res = await connection.client.request({ origin, path: req.path, method: req.method as Dispatcher.HttpMethod, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
        const body = await res.body.text();
        const headers: Record<string, string> = {};
        const multi: Record<string, string[]> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
          if (name.toLowerCase() === 'www-authenticate' || name.toLowerCase() === 'set-cookie') multi[name.toLowerCase()] = Array.isArray(value) ? value : [value];
        }
        return { status: res.statusCode, headers, multi, body };
      } catch (err) {
        throw failure(err as Error & { code?: string }, req.method, origin + req.path, o.timeoutMs);
      }
    };
  }

  async function viaAuth(authenticator: Authenticator, connection: Connection, path: string): Promise<Reply> {
    if (authenticator.binding === 'connection' && connection.authenticated) {
      const reply = await fast(connection, path);
      if (reply.status !== 401) return reply;
      connection.authenticated = false;
    }
    const res = await authenticator.send({ method: 'GET', path, headers: { ...fixed } }, full(connection));
    if (authenticator.binding === 'connection') connection.authenticated = res.status !== 401;
    return { status: res.status, body: res.body };
  }

  async function send(cardIndex: number, challenge: Buffer): Promise<Reply> {
    const t = templates[cardIndex]!;
    const path = t.prefix + encodeURIComponent(challenge.toString('base64')) + t.suffix;
    const index = free.pop();
    if (index === undefined) throw new RangeError('load transport: more exchanges in flight than connections');
    const connection = connections[index]!;
    try {
      return auth ? await viaAuth(auth, connection, path) : await fast(connection, path);
    } finally {
      free.push(index);
    }
  }

  return {
    send,
    close: async () => {
      await Promise.all(connections.map((c) => c.client.destroy()));
    },
  };
}

/** An undici or socket error as a TransportError of the one taxonomy. */
function failure(err: Error & { code?: string }, method: string, url: string, timeoutMs: number): TransportError {
  const mapped = classify(err, method, url);
  if (mapped.kind === 'timeout') return new TransportError('timeout', `${method} ${url}: no response within ${timeoutMs} ms`, { cause: err });
  return mapped;
}
