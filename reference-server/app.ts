import FindMyWay from 'find-my-way';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { abbreviate } from '../simulator/bytes.js';
import { requireRole, type Principal, type RequestAuthenticator } from './auth.js';
import { HttpError, badRequest } from './http-error.js';
import type { AuditTarget, Call, Method, Reply, Route } from './route-types.js';
import { BASE_PATH, PROVIDER_STATES_PATH } from './paths.js';
import type { AuditEntry, AuditOutcome, Store } from './store.js';
import { canonicalGuid } from './validate.js';

/** Longest request target we read (path and query). Anything longer is refused with 400. */
export const MAX_URL_LENGTH = 4096;
/** Largest JSON body we read; larger ones get 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What Node reports for a request whose headers or body did not arrive in time (server.headersTimeout, requestTimeout). */
const REQUEST_TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';

const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

export interface AppOptions {
  store: Store;
  auth: RequestAuthenticator;
  routes: readonly Route[];
  /** Handles POST /_pact/provider-states (no auth) when given. */
  providerStates?: (body: unknown) => unknown;
  /** Where unexpected errors are reported (with their correlation id); never the client. */
  logError?: (correlationId: string, err: unknown) => void;
  /** True once the server is shutting down: answers then close their connection. */
  isClosing?: () => boolean;
}

interface RouteStore {
  route: Route | null;
}

/**
 * The request pipeline: parse the target, route (case-insensitively), authenticate,
 * authorize, read and parse the body, run the handler, audit, write JSON. Every failure
 * becomes a JSON error body `{"Message", "CorrelationId"}`; unexpected ones become a 500
 * that says nothing about the internals.
 */
export function createApp(options: AppOptions) {
  const router = FindMyWay({ caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 200 });
  const noop = (): void => {};
  for (const route of options.routes) router.on(route.method, BASE_PATH + route.path, noop, { route } satisfies RouteStore);
  if (options.providerStates) router.on('POST', PROVIDER_STATES_PATH, noop, { route: null } satisfies RouteStore);

  function find(method: string, path: string): { store: RouteStore; params: Record<string, string | undefined> } | null {
    if (!(METHODS as readonly string[]).includes(method)) return null;
    try {
      const found = router.find(method as Method, path);
      return found ? { store: found.store as RouteStore, params: found.params } : null;
    } catch {
      return null;
    }
  }

  function allowedMethods(path: string): Method[] {
    return METHODS.filter((m) => find(m, path) !== null);
  }

  function send(res: ServerResponse, correlationId: string, reply: Reply): void {
    const headers: Record<string, string | number> = { 'Cache-Control': 'no-store', 'X-Correlation-Id': correlationId, ...reply.headers };
    if (options.isClosing?.()) headers.Connection = 'close';
    if (reply.json === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
    } else {
      headers['Content-Type'] = 'application/json; charset=utf-8';
      headers['Content-Length'] = Buffer.byteLength(reply.json);
      res.writeHead(reply.status, headers);
      res.end(reply.json);
    }
  }

  function errorReply(err: unknown, correlationId: string): Reply {
    if (err instanceof HttpError) {
      return { status: err.status, json: JSON.stringify({ Message: err.message, CorrelationId: correlationId }), headers: err.headers };
    }
    options.logError?.(correlationId, err);
    return {
      status: 500,
      json: JSON.stringify({ Message: `An internal error occurred. Correlation ID: ${correlationId}`, CorrelationId: correlationId }),
    };
  }

  function auditEntry(
    route: Route,
    principal: Principal | null,
    target: AuditTarget,
    status: number,
    correlationId: string,
    detail: string | null,
  ): AuditEntry {
    return {
      principal: principal?.name ?? null,
      action: route.audit!,
      reqid: target.reqid ?? null,
      scid: target.scid ?? null,
      cardid: target.cardid ?? null,
      status,
      outcome: outcomeOf(status),
      correlationId,
      detail: detail ?? target.detail ?? null,
    };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const correlationId = randomUUID();
    let route: Route | null = null;
    let principal: Principal | null = null;
    const target: AuditTarget = {};
    /**
     * Sends the reply; on an audited route only once its audit row is committed (group
     * commit, see Store.commitAudit). A row that cannot be written turns the reply into a
     * 500, so nothing is handed out unrecorded.
     */
    const finish = (reply: Reply, detail: string | null = null): void => {
      if (!route?.audit) return send(res, correlationId, reply);
      options.store.commitAudit(auditEntry(route, principal, target, reply.status, correlationId, detail), (err) => {
        send(res, correlationId, err ? errorReply(new AuditWriteError(err), correlationId) : reply);
      });
    };
    const fail = (err: unknown): void => {
      const reply = errorReply(err, correlationId);
      finish(reply, err instanceof HttpError ? err.message : 'internal error');
    };
    /**
     * Runs the handler. GET handlers only read, so their row joins the group commit. Other
     * audited handlers write: their writes and their row commit together in one transaction
     * before anything is sent, and one that throws has its writes rolled back and its
     * refusal audited on its own.
     */
    const run = (current: Route, call: Call): void => {
      if (!current.audit || current.method === 'GET') return finish(current.handle(call));
      let reply: Reply;
      try {
        reply = options.store.transaction(() => {
          const r = current.handle(call);
          try {
            options.store.appendAudit(auditEntry(current, principal, target, r.status, correlationId, null));
          } catch (err) {
            throw new AuditWriteError(err);
          }
          return r;
        });
      } catch (err) {
        if (err instanceof AuditWriteError) return send(res, correlationId, errorReply(err, correlationId));
        return fail(err);
      }
      send(res, correlationId, reply);
    };
    try {
      const framing = framingProblem(req);
      if (framing) throw framing;
      const url = req.url ?? '/';
      if (url.length > MAX_URL_LENGTH) throw badRequest(`the request URL is too long: ${url.length} characters, at most ${MAX_URL_LENGTH}`);
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const rawQuery = q < 0 ? '' : url.slice(q + 1);
      const method = req.method ?? 'GET';
      const found = find(method, path);
      if (!found) {
        const allowed = allowedMethods(path);
        if (allowed.length > 0) {
          throw new HttpError(405, `method ${method} is not allowed here (allowed: ${allowed.join(', ')})`, { Allow: allowed.join(', ') });
        }
        throw new HttpError(404, `no such endpoint: ${method} ${abbreviate(path, 80)}`);
      }
      route = found.store.route;
      if (route === null) {
        readBody(req, (err, body) => {
          if (err) return fail(err);
          try {
            finish({ status: 200, json: JSON.stringify(options.providerStates!(body) ?? {}) });
          } catch (e) {
            fail(e);
          }
        });
        return;
      }
      for (const name of ['reqid', 'scid'] as const) {
        const v = found.params[name];
        const guid = v ? canonicalGuid(v) : null;
        if (guid) target[name] = guid;
      }
      // Node keeps the first of several Authorization headers; a proxy may keep the last.
      // Two views of who is calling must not exist, so such a request is refused outright.
      if (headerCount(req.rawHeaders, 'authorization') > 1) throw badRequest('more than one Authorization header: send exactly one');
      const current = route;
      const params = found.params;
      const authorized = (who: Principal): void => {
        principal = who;
        if (current.role !== 'any') requireRole(principal, current.role, current.what);
        const call: Call = { params, rawQuery, body: undefined, principal, correlationId, audit: target, store: options.store };
        if (!current.body) {
          // A body on a GET is ignored; Node discards unread request bodies when the response ends.
          run(current, call);
          return;
        }
        readBody(req, (err, body) => {
          if (err) return fail(err);
          try {
            call.body = body;
            run(current, call);
          } catch (e) {
            fail(e);
          }
        });
      };
      const who = options.auth.authenticateRequest(req, res);
      if (who instanceof Promise) {
        // A GSSAPI accept runs off the event loop; bearer tokens stay synchronous.
        who.then(authorized).catch((err: unknown) => {
          req.resume();
          fail(err);
        });
        return;
      }
      authorized(who);
    } catch (err) {
      req.resume();
      fail(err);
    }
  }

  /**
   * Node's own parser errors (a malformed request line, headers over the size limit, a
   * request whose headers or body did not arrive in time) never reach `handle`; answer
   * them in JSON too instead of Node's bare 400, 408 or 431. No answer is possible once a
   * response has started on the socket, or when the peer is gone: then the socket closes.
   */
  function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Node keeps the response in progress on the socket; don't write a second one into it.
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, message] = clientErrorAnswer(err.code);
    socket.end(rawErrorResponse(status, reason, message));
  }

  /**
   * CONNECT (server 'connect'): Node would drop the connection without a word when nobody
   * listens; say in JSON that this is no proxy, and close.
   */
  function onConnect(_req: IncomingMessage, socket: Duplex): void {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(rawErrorResponse(405, 'Method Not Allowed', 'CONNECT is not supported: this server is not a proxy', 'Allow: GET, POST, PUT\r\n'));
  }

  /**
   * `Expect: 100-continue` (server 'checkContinue'): a body we would refuse for its size is
   * refused before the client sends it (no 100); any other request gets its 100 and goes on.
   */
  function onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    if (!framingProblem(req) && Number(req.headers['content-length'] ?? 0) <= MAX_BODY_BYTES) res.writeContinue();
    handle(req, res);
  }

  /** Any other `Expect` (server 'checkExpectation'): 417 in JSON instead of Node's bare one. */
  function onCheckExpectation(req: IncomingMessage, res: ServerResponse): void {
    const correlationId = randomUUID();
    const err =
      framingProblem(req) ??
      new HttpError(417, `Expect: ${JSON.stringify(abbreviate(String(req.headers.expect), 80))} is not supported (only 100-continue is)`, {
        Connection: 'close',
      });
    req.resume();
    send(res, correlationId, errorReply(err, correlationId));
  }

  return { handle, onClientError, onCheckContinue, onCheckExpectation, onConnect };
}

/** A whole HTTP/1.1 error response with the JSON body, for a socket Node no longer parses requests on. */
function rawErrorResponse(status: number, reason: string, message: string, extraHeaders = ''): string {
  const correlationId = randomUUID();
  const body = JSON.stringify({ Message: message, CorrelationId: correlationId });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nDate: ${new Date().toUTCString()}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nX-Correlation-Id: ${correlationId}\r\n${extraHeaders}Connection: close\r\n\r\n${body}`
  );
}

/** Status, reason phrase and message for an error Node's HTTP parser or its timers raised. */
function clientErrorAnswer(code: string | undefined): [number, string, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'Request Header Fields Too Large', 'the request line or headers are too large'];
    case REQUEST_TIMEOUT:
      return [408, 'Request Timeout', 'the request headers or body did not arrive in time'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'Payload Too Large', 'the chunk extensions of the request body are too large'];
    default:
      return [400, 'Bad Request', 'the request is not valid HTTP'];
  }
}

/**
 * What HTTP/1.1 itself refuses and Node would answer bare (or let through): a request
 * without a Host header, or with several (RFC 9112 section 3.2: 400 either way).
 */
function framingProblem(req: IncomingMessage): HttpError | null {
  const hosts = headerCount(req.rawHeaders, 'host');
  if (hosts > 1) return new HttpError(400, 'more than one Host header', { Connection: 'close' });
  if (hosts === 0 && req.httpVersion === '1.1') return new HttpError(400, 'the request has no Host header (HTTP/1.1 requires one)', { Connection: 'close' });
  return null;
}

/** How many times a header occurs in a request (names as sent, compared case-insensitively). */
function headerCount(rawHeaders: readonly string[], lowerName: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) n += 1;
  }
  return n;
}

/** Reads a JSON body of at most MAX_BODY_BYTES; undefined when empty. */
function readBody(req: IncomingMessage, done: (err: HttpError | null, body?: unknown) => void): void {
  const type = req.headers['content-type'];
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    done(new HttpError(413, `the request body is too large: ${declared} bytes, at most ${MAX_BODY_BYTES}`, { Connection: 'close' }));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      failed = true;
      done(new HttpError(413, `the request body is too large: more than ${MAX_BODY_BYTES} bytes`, { Connection: 'close' }));
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => {
    failed = true;
  });
  req.on('end', () => {
    if (failed) return;
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    if (type !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      return done(new HttpError(415, `the request body must be JSON (Content-Type: application/json), got ${JSON.stringify(abbreviate(type, 80))}`));
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(badRequest('the request body is not valid JSON'));
    }
  });
}

/** The audit row of a request could not be written: the request gets a 500 and nothing else. */
class AuditWriteError extends Error {
  override readonly name = 'AuditWriteError';
  constructor(cause: unknown) {
    super(`the audit row could not be written: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 204) return 'no-key';
  if (status >= 200 && status < 300) return 'granted';
  if (status === 401 || status === 403) return 'refused';
  if (status === 404) return 'not-found';
  if (status >= 500) return 'error';
  return 'rejected';
}
