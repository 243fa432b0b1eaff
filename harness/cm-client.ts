/**
 * The HTTP client for the MIM CM REST API, used by every part of the harness that talks to
 * a server (conformance, unlock, load). It never follows redirects and never interprets a
 * status: any HTTP answer is a CmResponse; only transport failures throw (CmTransportError).
 * What it records is redacted by harness/redact.ts (credential values and names).
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { isBase64, toBase64 } from '../simulator/bytes.js';
import { InputError } from '../simulator/errors.js';
import type { RecordedExchange } from './events.js';
import { REDACTED, Redactor } from './redact.js';

export const DEFAULT_BASE_PATH = '/CertificateManagement/api/v1.0';
export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** PEM contents (not file names: the config loader reads the files). */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface CmClientOptions {
  /** Origin, e.g. http://127.0.0.1:8080 or https://cm.contoso.com. */
  server: string;
  basePath?: string;
  headers?: Record<string, string>;
  tls?: TlsOptions;
  /** Per request, from sending to the last body byte. */
  timeoutMs?: number;
  /** Response size cap; a longer body is cut there and the request fails with kind 'too-large'. */
  maxBodyBytes?: number;
  /** Called once per request, credentials redacted; a failed request carries `error`. */
  onExchange?: (exchange: RecordedExchange) => void;
  /** Masks credentials in what `onExchange` sees; default: the values of `headers`, plus header names. */
  redactor?: Redactor;
}

export interface CmResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  durationMs: number;
}

export interface RequestOverrides {
  /** Sent instead of the configured headers; null = none at all (anonymous). */
  headers?: Record<string, string> | null;
  /** E.g. a mixed-case variant of the base path. */
  basePath?: string;
  /** E.g. 'POST' to check method.not-allowed. */
  method?: string;
}

export interface AuthResponseParams {
  reqid: string;
  scid: string;
  /** Omitted from the query when undefined. */
  cardid?: string;
  /** Bytes -> standard base64; a string is sent as given (percent-encoded). Omitted when undefined. */
  challenge?: Uint8Array | string;
  /** Boolean -> 'False'/'True' as the docs spell it; a string as given. Omitted when undefined. */
  diversified?: boolean | string;
  atr?: string;
  /** When set, used verbatim (after the '?') instead of building the query. */
  rawQuery?: string;
}

export type TransportErrorKind = 'timeout' | 'refused' | 'unreachable' | 'too-large' | 'tls' | 'protocol';

/** No HTTP answer came: the server is down, slow, lies about TLS, or sent too much. */
export class CmTransportError extends Error {
  override readonly name = 'CmTransportError';
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A body that is not what the API promises (a JSON string holding base64, a resource URI). */
export class CmFormatError extends Error {
  override readonly name = 'CmFormatError';
}

export { REDACTED } from './redact.js';

/** Credentials out of a header map, keeping the scheme (`Bearer [redacted]`): harness/redact.ts by name. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return new Redactor().headers(headers);
}

/** The headers the client sets itself: not credentials. */
const CLIENT_HEADERS = new Set(['accept', 'content-type']);

interface SendOptions {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The response body is a secret (an admin key): keep it out of the recorded exchange. */
  secretResponse?: boolean;
}

export class CmClient {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly onExchange: ((exchange: RecordedExchange) => void) | undefined;
  private readonly redactor: Redactor;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(options: CmClientOptions) {
    this.origin = parseOrigin(options.server);
    this.basePath = normaliseBasePath(options.basePath ?? DEFAULT_BASE_PATH);
    this.headers = { ...(options.headers ?? {}) };
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.maxBodyBytes = positive(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes');
    this.onExchange = options.onExchange;
    this.redactor = options.redactor ?? Redactor.forHeaders(options.headers);
    if (this.origin.startsWith('https:')) {
      this.transport = https;
      const tls = options.tls ?? {};
      this.agent = new https.Agent({
        keepAlive: true,
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key } : {}),
      });
    } else {
      this.transport = http;
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  /** GET .../requests/{reqid}/smartcards/{scid}/authenticationresponse?cardid&challenge&diversified[&atr] */
  authenticationResponse(p: AuthResponseParams, o: RequestOverrides = {}): Promise<CmResponse> {
    const path = `${this.cardPath(p.reqid, p.scid, o)}/authenticationresponse`;
    let query: string;
    if (p.rawQuery !== undefined) {
      query = p.rawQuery.replace(/^\?/, '');
    } else {
      const challenge = p.challenge === undefined ? undefined : typeof p.challenge === 'string' ? p.challenge : toBase64(p.challenge);
      const diversified = typeof p.diversified === 'boolean' ? (p.diversified ? 'True' : 'False') : p.diversified;
      query = buildQuery([
        ['cardid', p.cardid],
        ['challenge', challenge],
        ['diversified', diversified],
        ['atr', p.atr],
      ]);
    }
    return this.send({ method: o.method ?? 'GET', path: query ? `${path}?${query}` : path, headers: this.headersFor(o) });
  }

  /** GET .../requests/{reqid}/smartcards/{scid}/diversifiedkey?cardid: the body is an admin key, so it is not recorded. */
  diversifiedKey(p: { reqid: string; scid: string; cardid?: string }, o: RequestOverrides = {}): Promise<CmResponse> {
    const query = buildQuery([['cardid', p.cardid]]);
    const path = `${this.cardPath(p.reqid, p.scid, o)}/diversifiedkey`;
    return this.send({ method: o.method ?? 'GET', path: query ? `${path}?${query}` : path, headers: this.headersFor(o), secretResponse: true });
  }

  profileTemplates(o: RequestOverrides = {}): Promise<CmResponse> {
    return this.get('/profiletemplates', o);
  }

  /** The body carries the template's DefaultAdminKeyHex, so it is not recorded. */
  smartcardConfiguration(profileTemplateId: string, o: RequestOverrides = {}): Promise<CmResponse> {
    const path = `${this.base(o)}/profiletemplates/${seg(profileTemplateId)}/configuration/smartcards`;
    return this.send({ method: o.method ?? 'GET', path, headers: this.headersFor(o), secretResponse: true });
  }

  createRequest(body: Record<string, unknown>, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.sendJson('POST', '/requests', body, o);
  }

  getRequest(id: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.get(`/requests/${seg(id)}`, o);
  }

  updateRequest(id: string, status: 'Completed' | 'Canceled' | 'Abandoned', o: RequestOverrides = {}): Promise<CmResponse> {
    return this.sendJson('PUT', `/requests/${seg(id)}`, { status }, o);
  }

  createSmartcard(body: { requestid: string; cardid: string; atr?: string }, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.sendJson('POST', '/smartcards', body, o);
  }

  getSmartcard(id: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.get(`/smartcards/${seg(id)}`, o);
  }

  findSmartcards(cardid: string, o: RequestOverrides = {}): Promise<CmResponse> {
    return this.get(`/smartcards?${buildQuery([['cardid', cardid]])}`, o);
  }

  /** Anything else: `pathAndQuery` is appended to the origin exactly as given (no base path, no encoding). */
  raw(method: string, pathAndQuery: string, o: RequestOverrides & { body?: string } = {}): Promise<CmResponse> {
    const headers = this.headersFor(o);
    if (o.body !== undefined && !hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
    const path = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
    return this.send({ method: o.method ?? method, path, headers, ...(o.body !== undefined ? { body: o.body } : {}) });
  }

  /** Frees the keep-alive sockets; the client stays usable (new sockets are opened on demand). */
  close(): void {
    this.agent.destroy();
  }

  private base(o: RequestOverrides): string {
    return o.basePath !== undefined ? normaliseBasePath(o.basePath) : this.basePath;
  }

  private cardPath(reqid: string, scid: string, o: RequestOverrides): string {
    return `${this.base(o)}/requests/${seg(reqid)}/smartcards/${seg(scid)}`;
  }

  private headersFor(o: RequestOverrides): Record<string, string> {
    const chosen = o.headers === null ? {} : (o.headers ?? this.headers);
    const headers: Record<string, string> = { ...chosen };
    if (!hasHeader(headers, 'accept')) headers['Accept'] = 'application/json';
    return headers;
  }

  private get(relative: string, o: RequestOverrides): Promise<CmResponse> {
    return this.send({ method: o.method ?? 'GET', path: `${this.base(o)}${relative}`, headers: this.headersFor(o) });
  }

  private sendJson(method: string, relative: string, body: unknown, o: RequestOverrides): Promise<CmResponse> {
    const headers = this.headersFor(o);
    if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
    return this.send({ method: o.method ?? method, path: `${this.base(o)}${relative}`, headers, body: JSON.stringify(body) });
  }

  private async send(req: SendOptions): Promise<CmResponse> {
    const url = `${this.origin}${req.path}`;
    const started = performance.now();
    // Every header a caller gave (config or per request, e.g. a forbidden caller) may be a credential.
    const given = Object.entries(req.headers).filter(([name]) => !CLIENT_HEADERS.has(name.toLowerCase()));
    const redactor = this.redactor.with(given.map(([, value]) => value));
    const request: RecordedExchange['request'] = { method: req.method, url, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) };
    let response: CmResponse;
    try {
      response = await this.exchange(url, req, started);
    } catch (err) {
      const error = err instanceof CmTransportError ? err : new CmTransportError('protocol', `${req.method} ${url}: ${messageOf(err)}`, { cause: err });
      this.onExchange?.(redactor.exchange({ request, error: error.message, durationMs: round(performance.now() - started) }));
      throw error;
    }
    this.onExchange?.(redactor.exchange({
      request,
      response: {
        status: response.status,
        headers: response.headers,
        body: req.secretResponse && response.body.length > 0 ? REDACTED : response.body,
      },
      durationMs: response.durationMs,
    }));
    return response;
  }

  private exchange(url: string, req: SendOptions, started: number): Promise<CmResponse> {
    return new Promise<CmResponse>((resolve, reject) => {
      let settled = false;
      const fail = (error: CmTransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(error);
      };
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
      const request = this.transport.request(url, { method: req.method, headers, agent: this.agent });
      // One deadline for the whole exchange: connect, headers and body.
      const timer = setTimeout(
        () => fail(new CmTransportError('timeout', `${req.method} ${url}: no complete answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
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
        res.on('aborted', () => fail(new CmTransportError('protocol', `${req.method} ${url}: connection closed in the middle of the body`)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: flattenHeaders(res.headers),
            body: Buffer.concat(chunks).toString('utf8'),
            durationMs: round(performance.now() - started),
          });
        });
      });
      request.end(req.body);
    });
  }
}

/**
 * The bytes of a 200 answer whose body must be a JSON string holding standard base64,
 * e.g. `"F0Zudm4wPLY="`. Throws CmFormatError saying what is wrong.
 */
export function decodeBase64Body(res: CmResponse): Buffer {
  if (res.status !== 200) throw new CmFormatError(`expected status 200, got ${res.status}${describeBody(res.body)}`);
  let value: unknown;
  try {
    value = JSON.parse(res.body);
  } catch {
    throw new CmFormatError(`body is not JSON${describeBody(res.body)}`);
  }
  if (typeof value !== 'string') throw new CmFormatError(`body is JSON but not a string (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})${describeBody(res.body)}`);
  if (value.length === 0) throw new CmFormatError('body is an empty JSON string');
  if (!isPaddedBase64(value)) {
    throw new CmFormatError(`body is a JSON string but not standard padded base64: ${JSON.stringify(abbreviate(value))}`);
  }
  return Buffer.from(value, 'base64');
}

/** The length the diversifiedkey endpoint must hand out (SPEC.md section 5: 24 bytes, a 3-key 3DES key). */
export const DIVERSIFIED_KEY_BYTES = 24;

export type FetchedKey =
  | { key: Buffer; status: 200; reason?: undefined }
  | { key?: undefined; status: number; reason: string };

/**
 * A card's diversified key from the server's diversifiedkey endpoint. Never throws on a bad
 * answer and never quotes the body (whatever its status, it may be a key): `reason` says
 * what was wrong in words. Transport failures still throw CmTransportError.
 */
export async function fetchDiversifiedKey(client: CmClient, card: { reqid: string; scid: string; cardid: string }): Promise<FetchedKey> {
  const res = await client.diversifiedKey({ reqid: card.reqid, scid: card.scid, cardid: card.cardid });
  const hidden = '(body not shown: it may hold a key)';
  if (res.status !== 200) return { status: res.status, reason: `the diversifiedkey endpoint answered ${res.status}, expected 200 ${hidden}` };
  let value: unknown;
  try {
    value = JSON.parse(res.body);
  } catch {
    return { status: 200, reason: `the diversifiedkey endpoint answered 200 but its body is not JSON ${hidden}` };
  }
  if (typeof value !== 'string' || !isPaddedBase64(value)) {
    return { status: 200, reason: `the diversifiedkey endpoint answered 200 but not with a JSON string of standard padded base64 ${hidden}` };
  }
  const key = Buffer.from(value, 'base64');
  if (key.length !== DIVERSIFIED_KEY_BYTES) return { status: 200, reason: `the diversifiedkey endpoint gave a ${key.length}-byte key, expected ${DIVERSIFIED_KEY_BYTES}` };
  return { status: 200, key };
}

/** Standard base64 with its padding, as the API carries bytes (`F0Zudm4wPLY=`; no URL-safe alphabet, no missing `=`). */
export function isPaddedBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text) && isBase64(text);
}

/** The id at the end of a created-resource body such as `"api/v1.0/requests/{id}"` (JSON string or bare). */
export function idFromUri(body: string): string {
  let text = body.trim();
  if (text.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'string') throw new Error('not a string');
      text = parsed;
    } catch {
      throw new CmFormatError(`created-resource body is not a JSON string: ${JSON.stringify(abbreviate(body))}`);
    }
  }
  const path = text.split(/[?#]/)[0] ?? '';
  const id = path.split('/').filter((s) => s.length > 0).pop();
  if (!id || !path.includes('/')) throw new CmFormatError(`created-resource body is not a URI like "api/v1.0/requests/{id}": ${JSON.stringify(abbreviate(body))}`);
  return decodeURIComponent(id);
}

/**
 * A server URL as the harness takes it: an http(s) origin, no path, query or credentials.
 * `problem` completes a sentence about the value (`server is not a URL: ...`), for the
 * config loader and the client alike.
 */
export function checkOrigin(server: string): { origin: string; problem?: undefined } | { origin?: undefined; problem: string } {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return { problem: `is not a URL: ${JSON.stringify(server)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must start with http:// or https://, got ${JSON.stringify(server)}` };
  if (url.username || url.password) return { problem: 'must not carry credentials; put them in headers' };
  if (url.pathname !== '/' || url.search || url.hash) {
    return { problem: `must be an origin like https://cm.contoso.com (put the path in basePath), got ${JSON.stringify(server)}` };
  }
  return { origin: url.origin };
}

function parseOrigin(server: string): string {
  const checked = checkOrigin(server);
  if (checked.problem !== undefined) throw new InputError(`server ${checked.problem}`);
  return checked.origin;
}

function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new InputError(`${what} must be a positive number, got ${n}`);
  return n;
}

/** encodeURIComponent also encodes `+ / =`, which a challenge in a query must have encoded. */
function buildQuery(pairs: Array<[string, string | undefined]>): string {
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
}

function seg(id: string): string {
  return encodeURIComponent(id);
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_|HOSTNAME_MISMATCH)/;

/** Maps a socket, DNS or TLS error to the kind of transport failure (exported for its tests). */
export function classify(err: unknown, method: string, url: string): CmTransportError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  const where = `${method} ${url}`;
  if (code === 'ECONNREFUSED') return new CmTransportError('refused', `${where}: connection refused`, { cause: err });
  if (['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL'].includes(code)) {
    return new CmTransportError('unreachable', `${where}: host unreachable (${code})`, { cause: err });
  }
  if (code === 'ETIMEDOUT') return new CmTransportError('timeout', `${where}: connection timed out`, { cause: err });
  if (TLS_CODES.test(code) || /certificate|ssl|tls/i.test(messageOf(err))) {
    return new CmTransportError('tls', `${where}: TLS failed: ${messageOf(err)}${code ? ` (${code})` : ''}`, { cause: err });
  }
  return new CmTransportError('protocol', `${where}: ${messageOf(err)}${code ? ` (${code})` : ''}`, { cause: err });
}

function tooLarge(method: string, url: string, cap: number, what: string): CmTransportError {
  return new CmTransportError('too-large', `${method} ${url}: response body too large (${what}; the cap is ${cap} bytes)`);
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function describeBody(body: string): string {
  return body.length === 0 ? ' (empty body)' : `: ${JSON.stringify(abbreviate(body))}`;
}

function abbreviate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
