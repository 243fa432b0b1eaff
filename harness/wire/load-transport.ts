/**
 * The lean request path of load mode: one connection per slot of the load engine, the
 * request of each card built once (endpoints.ts) and per exchange only the percent-encoded
 * challenge put in. It records nothing: the recording CmClient is for conformance.
 *
 * Two paths behind one interface:
 * - no Authenticator (fixed headers only, the common load test; an auth block of type
 *   headers is folded into them by the load session): raw-http.ts, a minimal
 *   keep-alive HTTP/1.1 client over node:net / node:tls whose request head is one string
 *   per exchange and whose parser state is reused. It costs less CPU per exchange than
 *   undici, and on a shared machine the client's CPU is taken from the server.
 * - an Authenticator: undici, one Client per connection, responses read through its raw
 *   dispatch handler (one handler object per connection, reused). A request-bound
 *   mechanism (OAuth 2) wraps each send; a connection-bound one (NTLM, Negotiate)
 *   authenticates each connection once, and again only after the server drops it.
 * Fixed headers ride on every request on both paths.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Client, Dispatcher } from 'undici';
import type { Authenticator, ConnectionSend, WireRequest, WireResponse } from './auth/types.js';
import { authResponseTemplate, normaliseBasePath } from './endpoints.js';
import { RawHttpConnection, RawHttpEndpoint, type RawTemplate } from './raw-http.js';
import { failureWithin } from './transport-error.js';

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

/** How one exchange ends: an error (no answer came; a TransportError or AuthFailure), or a status and a body. */
export type ReplyCallback = (err: unknown, status: number, body: string) => void;

export interface LoadTransportOptions {
  /** Origin, e.g. http://127.0.0.1:8080 (a path, if any, is ignored: use basePath). */
  server: string;
  basePath: string;
  headers?: Record<string, string>;
  auth?: Authenticator;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  timeoutMs: number;
  /** Connections, numbered 0..n-1; each carries one exchange at a time. */
  connections: number;
  /** diversified=True (the card's diversified key) or False (the template's default key). */
  diversified: boolean;
  targets: TransportTarget[];
}

export interface LoadTransport {
  /**
   * Sends the challenge for card `cardIndex` on connection `connection` (the caller keeps
   * at most one exchange in flight per connection) and calls `done` once.
   */
  send(connection: number, cardIndex: number, challenge: Buffer, done: ReplyCallback): void;
  close(): Promise<void>;
}

// Loaded by the first run with an authenticator: the raw path never needs it.
let undici: typeof Undici | undefined;
const loadUndici = (): typeof Undici => (undici ??= createRequire(import.meta.url)('undici') as typeof Undici);

/** Bodies larger than this fail the exchange: a cryptogram is a few dozen bytes. */
const MAX_BODY = 64 * 1024;

/**
 * One connection and the undici handler its exchanges reuse: with one exchange in flight
 * per connection, nothing is allocated per exchange here but the path and the body.
 */
class Connection implements Dispatcher.DispatchHandler {
  readonly client: Client;
  authenticated = false;
  readonly #opts: { origin: string; path: string; method: 'GET'; headers: string[] };
  readonly #timeoutMs: number;
  #status = 0;
  #body = '';
  #done: ReplyCallback | null = null;

  constructor(client: Client, origin: string, headers: string[], timeoutMs: number) {
    this.client = client;
    this.#opts = { origin, path: '/', method: 'GET', headers };
    this.#timeoutMs = timeoutMs;
    client.on('disconnect', () => {
      this.authenticated = false;
    });
  }

  /** A GET with the fixed headers: the exchange's fast path. */
  get(path: string, done: ReplyCallback): void {
    this.#status = 0;
    this.#body = '';
    this.#done = done;
    this.#opts.path = path; // undici copies what it needs of opts during dispatch
    this.client.dispatch(this.#opts, this);
  }

  // The callback form of undici's handler: dispatch in undici 7 still takes it as is.
  onConnect(): void {}
  onHeaders(statusCode: number): boolean {
    this.#status = statusCode;
    return true;
  }
  onData(chunk: Buffer): boolean {
    // A cryptogram arrives in one chunk; only a long body is ever joined.
    this.#body = this.#body === '' ? chunk.toString('latin1') : this.#body + chunk.toString('latin1');
    return true;
  }
  onComplete(): void {
    const done = this.#done!;
    this.#done = null;
    done(null, this.#status, this.#body);
  }
  onError(err: Error): void {
    const done = this.#done;
    this.#done = null;
    done?.(failureWithin(err, 'GET', this.#opts.origin + this.#opts.path, this.#timeoutMs), 0, '');
  }
}

export function createLoadTransport(o: LoadTransportOptions): LoadTransport {
  const url = new URL(o.server);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`server must be an http:// or https:// URL, got ${o.server}`);
  const fixed: Record<string, string> = { ...o.headers, accept: 'application/json' };
  const base = normaliseBasePath(o.basePath);
  const templates = o.targets.map((t) => authResponseTemplate(base, t, o.diversified));
  if (o.auth === undefined) return rawTransport(o, fixed, templates);
  const origin = url.origin;
  // A flat [name, value, ...] list: undici takes it as is, an object it converts per request.
  const flatHeaders: string[] = Object.entries(fixed).flat();
  const connections: Connection[] = [];
  const { Client: UndiciClient } = loadUndici();
  for (let i = 0; i < o.connections; i++) {
    // Connections open on first use: a large open-model pool costs nothing until needed.
    const client = new UndiciClient(origin, {
      pipelining: 1,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      maxResponseSize: MAX_BODY,
      connect: { timeout: o.timeoutMs, ...(o.tls ?? {}) },
    });
    connections.push(new Connection(client, origin, flatHeaders, o.timeoutMs));
  }
  const auth = o.auth;

  /** The full request path, for handshakes and request-bound mechanisms (answers with every header). */
  function full(connection: Connection): ConnectionSend {
    return async (req: WireRequest): Promise<WireResponse> => {
      try {
        const res = await connection.client.request({
          origin,
          path: req.path,
          method: req.method as Dispatcher.HttpMethod,
          headers: req.headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
        });
        const body = await res.body.text();
        const headers: Record<string, string> = {};
        const multi: Record<string, string[]> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
          if (name.toLowerCase() === 'www-authenticate' || name.toLowerCase() === 'set-cookie')
            multi[name.toLowerCase()] = Array.isArray(value) ? value : [value];
        }
        return { status: res.statusCode, headers, multi, body };
      } catch (err) {
        throw failureWithin(err, req.method, origin + req.path, o.timeoutMs);
      }
    };
  }

  function fast(connection: Connection, path: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => connection.get(path, (err, status, body) => (err ? reject(err) : resolve({ status, body }))));
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

  function send(index: number, cardIndex: number, challenge: Buffer, done: ReplyCallback): void {
    const t = templates[cardIndex]!;
    const path = t.prefix + encodeURIComponent(challenge.toString('base64')) + t.suffix;
    const connection = connections[index];
    if (connection === undefined) throw new RangeError(`load transport: no connection ${index} (there are ${connections.length})`);
    viaAuth(auth, connection, path).then(
      (r) => done(null, r.status, r.body),
      (err: unknown) => done(err, 0, ''),
    );
  }

  return {
    send,
    close: async () => {
      await Promise.all(connections.map((c) => c.client.destroy()));
    },
  };
}

/**
 * The path without an Authenticator: raw HTTP/1.1 keep-alive connections (raw-http.ts),
 * each card's request head made once around its challenge.
 */
function rawTransport(o: LoadTransportOptions, fixed: Record<string, string>, paths: Array<{ prefix: string; suffix: string }>): LoadTransport {
  const endpoint = new RawHttpEndpoint({ server: o.server, headers: fixed, ...(o.tls ? { tls: o.tls } : {}), timeoutMs: o.timeoutMs, maxBodyBytes: MAX_BODY });
  const templates: RawTemplate[] = paths.map((p) => endpoint.template(p.prefix, p.suffix));
  // Connections open on first use: a large open-model pool costs nothing until needed.
  const connections: RawHttpConnection[] = [];
  for (let i = 0; i < o.connections; i++) connections.push(new RawHttpConnection(endpoint));
  return {
    send(index, cardIndex, challenge, done) {
      const t = templates[cardIndex]!;
      const connection = connections[index];
      if (connection === undefined) throw new RangeError(`load transport: no connection ${index} (there are ${connections.length})`);
      connection.send(t.before + encodeURIComponent(challenge.toString('base64')) + t.after, done);
    },
    close: async () => {
      for (const c of connections) c.close();
    },
  };
}
