/**
 * The HTTP client for the MIM CM REST API, used by every part of the harness that talks to
 * a server (conformance, unlock, verify-pact's proxy; load has its own lean path in
 * load-transport.ts over the same endpoints, decoders and credentials). It never follows
 * redirects and never interprets a status: any HTTP answer is a CmResponse; only transport
 * failures throw (TransportError) and credentials that cannot be produced (AuthFailure).
 *
 * Credentials are attached here and nowhere else. Each caller (the one with rights, the
 * forbidden one, an anonymous one, explicit headers) has its own connections: a connection
 * that NTLM authenticated as the help desk must never carry the anonymous caller's request.
 */
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { InputError } from '../../simulator/errors.js';
import type { RecordedExchange } from '../events.js';
import { isSecretHeaderName, REDACTED, Redactor } from '../redact.js';
import type { Authenticator, ConnectionSend, CookieJar, WireRequest, WireResponse } from './auth/types.js';
import {
  authResponsePath,
  cardPath,
  carriesKeyMaterial,
  DEFAULT_BASE_PATH,
  diversifiedKeyPath,
  findSmartcardsPath,
  normaliseBasePath,
  profileTemplatesPath,
  requestsPath,
  smartcardConfigurationPath,
  smartcardsPath,
  type AuthResponseQuery,
} from './endpoints.js';
import { checkOrigin } from './origin.js';
import { readDiversifiedKey } from './decode.js';
import { classify, TransportError } from './transport-error.js';

export { DEFAULT_BASE_PATH };
export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Connections per caller for connection-bound credentials (NTLM, Negotiate): each is authenticated once. */
export const DEFAULT_MAX_CONNECTIONS = 16;

/** PEM contents (not file names: the config loader reads the files). */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** Who is calling. `rights`: the configured caller; `forbidden`: the caller that must be refused; `anonymous`: no credentials. */
export type CallerRole = 'rights' | 'forbidden' | 'anonymous';

export interface CmClientOptions {
  /** Origin, e.g. http://127.0.0.1:8080 or https://cm.contoso.com. */
  server: string;
  basePath?: string;
  /** Fixed headers of the caller with rights (credentials, when no `auth` is given, and any extra headers). */
  headers?: Record<string, string>;
  /** The caller with rights authenticates with this (combined with `headers`). */
  auth?: Authenticator;
  /** Fixed headers of the forbidden caller. */
  forbiddenHeaders?: Record<string, string>;
  /** The forbidden caller authenticates with this (combined with `forbiddenHeaders`). */
  forbiddenAuth?: Authenticator;
  /** A cookie jar per caller (kept like a browser session); none when absent. */
  cookies?: () => CookieJar;
  tls?: TlsOptions;
  /** Per request leg, from sending to the last body byte. */
  timeoutMs?: number;
  /** Response size cap; a longer body is cut there and the request fails with kind 'too-large'. */
  maxBodyBytes?: number;
  /** Connections per caller for connection-bound credentials. */
  maxConnections?: number;
  /**
   * Called once per request, credentials redacted; a failed request carries `error`. `raw`
   * is what went and came before redaction: for checks that must see the real bytes (a
   * key in a body) and for reproductions. It must never reach any output.
   */
  onExchange?: (exchange: RecordedExchange, raw: RawExchange) => void;
  /** Masks credentials in what `onExchange` sees; default: the values of `headers`, plus header names. */
  redactor?: Redactor;
  /**
   * Keep-alive connections shared by every client given the same pool (a run's cases), per
   * caller; the pool's owner closes them. Without one, each client has its own.
   */
  agents?: AgentPool;
}

/**
 * The keep-alive agents of a run, one per caller (and per set of explicit headers), shared
 * by the clients of its cases: a conformance run then opens a connection per request in
 * flight instead of one per request. Connection-bound credentials keep their own lanes.
 */
export class AgentPool {
  readonly #agents = new Map<string, http.Agent>();

  /** The agent for `key`, made by `make` on first use. */
  get(key: string, make: () => http.Agent): http.Agent {
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent = make();
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** Closes every connection; agents are made again on the next request. */
  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

export interface CmResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  durationMs: number;
  /** Headers that may repeat and must stay apart: every `www-authenticate` and `set-cookie` value. */
  multi?: Record<string, string[]>;
}

/** One exchange before redaction (see `onExchange`). */
export interface RawExchange {
  /** Who sent it: a configured caller, or explicit headers. */
  caller: CallerRole | 'explicit';
  /** The last leg sent; a header given as an array went out as that many header lines. */
  request: { method: string; path: string; headers: Record<string, string | readonly string[]>; body?: string };
  /** Absent when no answer came. */
  response?: CmResponse;
}

export interface RequestOverrides {
  /**
   * Sent instead of the caller's credentials and headers; null = none at all (anonymous).
   * An array value goes out as one header line per element (a repeated Authorization).
   */
  headers?: Record<string, string | readonly string[]> | null;
  /** Which configured caller sends it (default `rights`); ignored when `headers` is given. */
  caller?: CallerRole;
  /** E.g. a mixed-case variant of the base path. */
  basePath?: string;
  /** E.g. 'POST' to check method.not-allowed. */
  method?: string;
}

export interface AuthResponseParams extends AuthResponseQuery {
  reqid: string;
  scid: string;
  /** When set, used verbatim (after the '?') instead of building the query. */
  rawQuery?: string;
}

interface SendOptions {
  method: string;
  path: string;
  /** Per-request headers on top of the caller's (Accept, Content-Type). */
  headers: Record<string, string>;
  body?: string;
  overrides: RequestOverrides;
}

/** One connection of a caller whose credentials bind to a connection. */
interface Lane {
  agent: http.Agent;
  busy: boolean;
  authenticated: boolean;
  socket?: Socket;
}

/** What one caller sends with, and on which connections. */
interface Caller {
  headers: Record<string, string>;
  auth?: Authenticator;
  cookies?: CookieJar;
  /** Request-bound or no credentials: one keep-alive agent. */
  agent: http.Agent;
  /** Connection-bound credentials: one agent of one socket per lane. */
  lanes: Lane[];
  waiting: Array<(lane: Lane) => void>;
}

/** The headers the client sets itself: not credentials. */
const CLIENT_HEADERS = new Set(['accept', 'content-type']);

export class CmClient {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly maxConnections: number;
  private readonly onExchange: ((exchange: RecordedExchange, raw: RawExchange) => void) | undefined;
  private readonly redactor: Redactor;
  private readonly transport: typeof http | typeof https;
  private readonly agentOptions: https.AgentOptions;
  private readonly callers = new Map<string, Caller>();

  constructor(private readonly options: CmClientOptions) {
    this.origin = parseOrigin(options.server);
    this.basePath = normaliseBasePath(options.basePath ?? DEFAULT_BASE_PATH);
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.maxBodyBytes = positive(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes');
    this.maxConnections = positive(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    this.onExchange = options.onExchange;
    this.redactor = options.redactor ?? Redactor.forHeaders(options.headers, options.forbiddenHeaders);
    const tls = options.tls ?? {};
    // node:https (and TLS with it) is loaded only for an https origin: a plain-HTTP run never pays for it.
    this.transport = this.origin.startsWith('https:') ? (createRequire(import.meta.url)('node:https') as typeof https) : http;
    this.agentOptions = {
      keepAlive: true,
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
    };
  }

  /** GET .../requests/{reqid}/smartcards/{scid}/authenticationresponse?cardid&challenge&diversified[&atr] */
  authenticationResponse(p: AuthResponseParams, o: RequestOverrides = {}): Promise<CmResponse> {
    const base = this.base(o);
    const path = p.rawQuery !== undefined ? `${cardPath(base, p)}/authenticationresponse?${p.rawQuery.replace(/^\?/, '')}` : authResponsePath(base, p, p);
    return this.send({ method: o.method ?? 'GET', path: stripEmptyQuery(path), headers: {}, overrides: o });
  }

  /** GET .../requests/{reqid}/smartcards/{scid}/diversifiedkey?cardid: the body is an admin key, so it is not recorded. */
  diversifiedKey(p: { reqid: string; scid: string; cardid?: string }, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: diversifiedKeyPath(this.base(o), p, p.cardid), headers: {}, overrides: o });
  }

  profileTemplates(o: RequestOverrides = {}): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: profileTemplatesPath(this.base(o)), headers: {}, overrides: o });
  }

  /** The body carries the template's DefaultAdminKeyHex, so it is not recorded. */
  smartcardConfiguration(profileTemplateId: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: smartcardConfigurationPath(this.base(o), profileTemplateId), headers: {}, overrides: o });
  }

  createRequest(body: Record<string, unknown>, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.sendJson('POST', requestsPath(this.base(o)), body, o);
  }

  getRequest(id: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: requestsPath(this.base(o), id), headers: {}, overrides: o });
  }

  updateRequest(id: string, status: 'Completed' | 'Canceled' | 'Abandoned', o: RequestOverrides = {}): Promise<CmResponse> {
    return this.sendJson('PUT', requestsPath(this.base(o), id), { status }, o);
  }

  createSmartcard(body: { requestid: string; cardid: string; atr?: string }, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.sendJson('POST', smartcardsPath(this.base(o)), body, o);
  }

  getSmartcard(id: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: smartcardsPath(this.base(o), id), headers: {}, overrides: o });
  }

  findSmartcards(cardid: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: findSmartcardsPath(this.base(o), cardid), headers: {}, overrides: o });
  }

  /** Anything else: `pathAndQuery` is appended to the origin exactly as given (no base path, no encoding). */
  raw(
    method: string,
    pathAndQuery: string,
    o: RequestOverrides & { body?: string; contentType?: string; extraHeaders?: Record<string, string> } = {},
  ): Promise<CmResponse> {
    // Extra headers ride with the caller's credentials (a proxy forwarding Accept, Content-Type...).
    const headers: Record<string, string> = { ...(o.extraHeaders ?? {}) };
    if (o.body !== undefined && !hasHeader(headers, 'content-type')) headers['Content-Type'] = o.contentType ?? 'application/json';
    const path = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
    return this.send({ method: o.method ?? method, path, headers, ...(o.body !== undefined ? { body: o.body } : {}), overrides: o });
  }

  /** Frees its keep-alive sockets (a shared pool's stay open: its owner closes them); the client stays usable (new sockets are opened on demand). */
  close(): void {
    for (const caller of this.callers.values()) {
      if (!this.options.agents) caller.agent.destroy();
      for (const lane of caller.lanes) lane.agent.destroy();
    }
    this.callers.clear();
  }

  /** The origin and base path this client sends to (for reproductions and messages). */
  get target(): { origin: string; basePath: string } {
    return { origin: this.origin, basePath: this.basePath };
  }

  private base(o: RequestOverrides): string {
    return o.basePath !== undefined ? normaliseBasePath(o.basePath) : this.basePath;
  }

  private sendJson(method: string, path: string, body: unknown, o: RequestOverrides): Promise<CmResponse> {
    return this.send({ method: o.method ?? method, path, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), overrides: o });
  }

  /** The caller a request goes out as, created on first use. */
  private callerFor(o: RequestOverrides): Caller {
    if (o.headers !== undefined) {
      // Explicit headers (anonymous, a garbage token): their own connections, never an authenticated one.
      // Array values (a repeated header) pass through node:http as separate header lines.
      const headers = (o.headers ?? {}) as Record<string, string>;
      const key = `explicit:${JSON.stringify(headers)}`;
      return this.caller(key, headers, undefined);
    }
    const role = o.caller ?? 'rights';
    if (role === 'anonymous') return this.caller('explicit:{}', {}, undefined);
    if (role === 'forbidden') return this.caller('forbidden', this.options.forbiddenHeaders ?? {}, this.options.forbiddenAuth);
    return this.caller('rights', this.options.headers ?? {}, this.options.auth);
  }

  private caller(key: string, headers: Record<string, string>, auth: Authenticator | undefined): Caller {
    let caller = this.callers.get(key);
    if (!caller) {
      caller = {
        headers,
        ...(auth ? { auth } : {}),
        ...(this.options.cookies ? { cookies: this.options.cookies() } : {}),
        agent: this.options.agents
          ? this.options.agents.get(`${this.origin} ${key}`, () => new this.transport.Agent(this.agentOptions))
          : new this.transport.Agent(this.agentOptions),
        lanes: [],
        waiting: [],
      };
      this.callers.set(key, caller);
    }
    return caller;
  }

  private async send(req: SendOptions): Promise<CmResponse> {
    const url = `${this.origin}${req.path}`;
    const started = performance.now();
    const caller = this.callerFor(req.overrides);
    const role: RawExchange['caller'] = req.overrides.headers !== undefined ? 'explicit' : (req.overrides.caller ?? 'rights');
    const headers: Record<string, string> = { ...caller.headers, ...req.headers };
    if (!hasHeader(headers, 'accept')) headers['Accept'] = 'application/json';
    const cookie = caller.cookies?.header(req.path);
    if (cookie !== undefined) headers['Cookie'] = cookie;
    const wire: WireRequest = { method: req.method, path: req.path, headers, ...(req.body !== undefined ? { body: req.body } : {}) };
    // The last leg sent is what the report shows (an NTLM handshake's earlier legs carry no answer of the API).
    let last: WireRequest = wire;
    let response: WireResponse;
    try {
      response = await this.dispatch(caller, wire, (leg) => {
        last = leg;
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.record(role, last, undefined, message, started);
      if (err instanceof TransportError || (err instanceof Error && err.name === 'AuthFailure')) throw err;
      throw classify(err, req.method, url);
    }
    if (caller.cookies && response.multi['set-cookie']) caller.cookies.store(req.path, response.multi['set-cookie']);
    const out: CmResponse = {
      status: response.status,
      headers: response.headers,
      body: response.body,
      durationMs: round(performance.now() - started),
      multi: response.multi,
    };
    this.record(role, last, out, undefined, started);
    return out;
  }

  /** Sends on the caller's connections, with its credentials. */
  private async dispatch(caller: Caller, req: WireRequest, onLeg: (leg: WireRequest) => void): Promise<WireResponse> {
    const { auth } = caller;
    if (!auth) return this.exchange(caller.agent, req, onLeg);
    if (auth.binding === 'request') return auth.send(req, (leg) => this.exchange(caller.agent, leg, onLeg));
    const lane = await this.acquire(caller);
    try {
      const sendOnLane: ConnectionSend = (leg) => this.exchange(lane.agent, leg, onLeg, lane);
      if (lane.authenticated) {
        const res = await sendOnLane(req);
        // The server closed the connection (or forgot it): authenticate the new one.
        if (res.status !== 401) return res;
        lane.authenticated = false;
      }
      const res = await auth.send(req, sendOnLane);
      lane.authenticated = res.status !== 401;
      return res;
    } finally {
      this.release(caller, lane);
    }
  }

  private acquire(caller: Caller): Promise<Lane> {
    const free = caller.lanes.find((l) => !l.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (caller.lanes.length < this.maxConnections) {
      const lane: Lane = { agent: new this.transport.Agent({ ...this.agentOptions, maxSockets: 1 }), busy: true, authenticated: false };
      caller.lanes.push(lane);
      return Promise.resolve(lane);
    }
    return new Promise((resolve) => caller.waiting.push(resolve));
  }

  private release(caller: Caller, lane: Lane): void {
    const next = caller.waiting.shift();
    if (next) next(lane);
    else lane.busy = false;
  }

  private record(caller: RawExchange['caller'], req: WireRequest, res: CmResponse | undefined, error: string | undefined, started: number): void {
    if (!this.onExchange) return;
    const raw: RawExchange = { caller, request: req, ...(res ? { response: res } : {}) };
    // A repeated header (an array value) is recorded as one line joined with ', '.
    const flat: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers as Record<string, string | readonly string[]>))
      flat[name] = typeof value === 'string' ? value : value.join(', ');
    // Every header a caller gave (config or per request, e.g. a forbidden caller) may be a credential.
    // Credential-named headers (an NTLM blob, a cookie) are masked by name already: learning each would rebuild the redactor per request.
    const given = Object.entries(req.headers as Record<string, string | readonly string[]>).filter(
      ([name]) => !CLIENT_HEADERS.has(name.toLowerCase()) && !isSecretHeaderName(name),
    );
    const redactor = this.redactor.with(given.flatMap(([, value]) => (typeof value === 'string' ? [value] : [...value])));
    const url = `${this.origin}${req.path}`;
    const request: RecordedExchange['request'] = { method: req.method, url, headers: flat, ...(req.body !== undefined ? { body: req.body } : {}) };
    if (!res) {
      this.onExchange(redactor.exchange({ request, error: error ?? 'no answer', durationMs: round(performance.now() - started) }), raw);
      return;
    }
    const keyBody = carriesKeyMaterial(req.path) && res.body.length > 0;
    this.onExchange(
      redactor.exchange({
        request,
        response: { status: res.status, headers: res.headers, body: keyBody ? REDACTED : res.body },
        durationMs: res.durationMs,
      }),
      raw,
    );
  }

  /** One request leg on `agent`; on a lane, notes which socket carried it (a new socket is not authenticated). */
  private exchange(agent: http.Agent, req: WireRequest, onLeg: (leg: WireRequest) => void, lane?: Lane): Promise<WireResponse> {
    onLeg(req);
    const url = `${this.origin}${req.path}`;
    return new Promise<WireResponse>((resolve, reject) => {
      let settled = false;
      const fail = (error: TransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(error);
      };
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
      const request = this.transport.request(url, { method: req.method, headers, agent });
      // One deadline for the whole leg: connect, headers and body.
      const timer = setTimeout(
        () => fail(new TransportError('timeout', `${req.method} ${url}: no complete answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      if (lane) {
        request.on('socket', (socket: Socket) => {
          if (lane.socket === socket) return;
          lane.authenticated = false;
          lane.socket = socket;
          socket.once('close', () => {
            if (lane.socket === socket) {
              lane.authenticated = false;
              lane.socket = undefined;
            }
          });
        });
      }
      request.on('error', (err) => fail(classify(err, req.method, url)));
      request.on('response', (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
          fail(tooLarge(req.method, url, this.maxBodyBytes, `Content-Length ${declared}`));
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBodyBytes) {
            // Stop reading at the cap: a runaway server must not fill our memory. Fail first:
            // destroying emits 'aborted', which must not win.
            fail(tooLarge(req.method, url, this.maxBodyBytes, `more than ${this.maxBodyBytes} bytes`));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => fail(classify(err, req.method, url)));
        res.on('aborted', () => fail(new TransportError('reset', `${req.method} ${url}: connection closed in the middle of the body`)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, ...splitHeaders(res.headers, res.headersDistinct), body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      request.end(req.body);
    });
  }
}

function parseOrigin(server: string): string {
  const checked = checkOrigin(server);
  if (checked.problem !== undefined) throw new InputError(`server ${checked.problem}`);
  return checked.origin;
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new InputError(`${what} must be a positive number, got ${n}`);
  return n;
}

function stripEmptyQuery(path: string): string {
  return path.endsWith('?') ? path.slice(0, -1) : path;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** Headers that may repeat and must stay apart (a server may offer `Negotiate` and `NTLM` in two headers). */
const MULTI = ['www-authenticate', 'set-cookie'];

export function splitHeaders(
  headers: http.IncomingHttpHeaders,
  distinct: Record<string, string[] | undefined>,
): { headers: Record<string, string>; multi: Record<string, string[]> } {
  const out: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  for (const name of MULTI) {
    const values = distinct[name];
    if (values) multi[name] = values;
  }
  return { headers: out, multi };
}

function tooLarge(method: string, url: string, cap: number, what: string): TransportError {
  return new TransportError('too-large', `${method} ${url}: response body too large (${what}; the cap is ${cap} bytes)`);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export type FetchedKey = { key: Buffer; status: 200; reason?: undefined } | { key?: undefined; status: number; reason: string };

/**
 * A card's diversified key from the server's diversifiedkey endpoint. Never throws on a bad
 * answer and never quotes the body (whatever its status, it may be a key): `reason` says
 * what was wrong in words. Transport failures still throw TransportError.
 */
export async function fetchDiversifiedKey(client: CmClient, card: { reqid: string; scid: string; cardid: string }): Promise<FetchedKey> {
  const res = await client.diversifiedKey({ reqid: card.reqid, scid: card.scid, cardid: card.cardid });
  const read = readDiversifiedKey(res);
  return read.key ? { key: read.key, status: 200 } : { status: res.status, reason: read.reason };
}
