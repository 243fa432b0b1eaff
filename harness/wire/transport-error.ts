/**
 * One taxonomy of "no HTTP answer came" for every client of the wire (conformance, unlock,
 * load): the kind names the cause; node:http and undici errors map onto the same kinds.
 */

export type TransportErrorKind =
  /** No complete answer within the time limit. */
  | 'timeout'
  /** Nothing listens on the port. */
  | 'refused'
  /** The host cannot be resolved or reached. */
  | 'unreachable'
  /** The connection was reset or closed before or during the answer. */
  | 'reset'
  /** The body was larger than the cap (an answer came: the server is there). */
  | 'too-large'
  /** The TLS handshake failed (certificate, protocol). */
  | 'tls'
  /** Whatever came was not HTTP, or anything else. */
  | 'protocol';

/** No HTTP answer came: the server is down, slow, lies about TLS, or sent too much. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when a failure of this kind means no HTTP answer came at all (a body over the cap was an answer). */
export function meansNoAnswer(kind: string): boolean {
  return kind !== 'too-large';
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_|HOSTNAME_MISMATCH)/;
const UNREACHABLE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The kind of a socket, DNS, TLS, node:http or undici error. */
export function kindOf(err: unknown): TransportErrorKind {
  const code = codeOf(err);
  if (code === 'ECONNREFUSED') return 'refused';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return 'too-large';
  if (TLS_CODES.test(code) || code.includes('CERT') || /certificate|ssl|tls/i.test(messageOf(err))) return 'tls';
  if (RESET_CODES.has(code) || /socket hang up/i.test(messageOf(err))) return 'reset';
  return 'protocol';
}

/** Maps an error to a TransportError whose message says where and why, in one line. */
export function classify(err: unknown, method: string, url: string): TransportError {
  if (err instanceof TransportError) return err;
  const code = codeOf(err);
  const kind = kindOf(err);
  const where = `${method} ${url}`;
  const suffix = code ? ` (${code})` : '';
  const message =
    kind === 'refused'
      ? `${where}: connection refused${suffix}`
      : kind === 'unreachable'
        ? `${where}: host unreachable${suffix}`
        : kind === 'timeout'
          ? `${where}: connection timed out${suffix}`
          : kind === 'tls'
            ? `${where}: TLS failed: ${messageOf(err)}${suffix}`
            : kind === 'reset'
              ? `${where}: connection closed before a complete answer: ${messageOf(err)}${suffix}`
              : `${where}: ${messageOf(err)}${suffix}`;
  return new TransportError(kind, message, { cause: err });
}

/** classify(), with a timeout worded as the caller's whole time limit (connect, or the answer) running out. */
export function failureWithin(err: unknown, method: string, url: string, timeoutMs: number): TransportError {
  const mapped = classify(err, method, url);
  if (mapped.kind === 'timeout' && !(err instanceof TransportError))
    return new TransportError('timeout', `${method} ${url}: no response within ${timeoutMs} ms`, { cause: err });
  return mapped;
}

export function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
}

export function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
