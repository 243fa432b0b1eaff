/**
 * How a credential is attached to a CM request: the one seam every command (conformance,
 * unlock, load, verify-pact's proxy) goes through. A mechanism never opens connections of
 * its own for the CM server: it is handed a `ConnectionSend` bound to one connection and
 * runs its legs on it, because NTLM (and Kerberos under IIS) authenticate a connection,
 * not a request.
 */

/** One HTTP request as the wire sends it. Header names as given; `path` includes the query. */
export interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** One HTTP answer. Header names lower-case; repeated headers joined with ', ' except `set-cookie` and `www-authenticate`, which keep every value in `multi`. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** Headers that may repeat and must not be joined (`www-authenticate`, `set-cookie`). */
  multi: Record<string, string[]>;
  body: string;
}

/** Sends one request on ONE connection: every call uses the same socket while the server keeps it open. */
export type ConnectionSend = (req: WireRequest) => Promise<WireResponse>;

/** The `auth` / `forbiddenAuth` blocks of the config file, after `${ENV}` expansion. */
export type AuthConfig =
  | { type: 'headers'; headers: Record<string, string> }
  | { type: 'negotiate'; spn?: string }
  | { type: 'ntlm'; username: string; password: string; domain?: string; workstation?: string }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; resource?: string; scope?: string };

export type AuthType = AuthConfig['type'];

export interface AuthContext {
  /** The CM server's origin, e.g. https://cm.contoso.com (the default SPN is HTTP/<its host>). */
  server: string;
  /** Per request, for the mechanism's own calls (an OAuth 2 token endpoint). */
  timeoutMs: number;
  /** TLS material for the mechanism's own https calls (the token endpoint), as for the CM server. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** Every secret the mechanism holds or makes (password, client secret, access token): masked in all output from then on. */
  onSecret(value: string): void;
}

export interface Authenticator {
  readonly type: AuthType;
  /**
   * 'request': the credential rides on every request (fixed headers, a bearer token).
   * 'connection': a handshake authenticates the connection (NTLM; Negotiate as IIS and
   * mod_auth_gssapi with GssapiConnectionBound keep it); later requests on it carry nothing.
   */
  readonly binding: 'request' | 'connection';
  /**
   * Sends `req` with credentials and returns the final answer to it.
   * - request-bound: adds its headers (fetching a token first when it has none) and, on a
   *   401, may refresh once (oauth2 refetches its token) and resend;
   * - connection-bound: runs the handshake on `send` (as many legs as the mechanism needs,
   *   each leg a copy of `req` with an `Authorization` header), the last answer being the
   *   answer to `req`. The wire marks the connection authenticated when this resolves with
   *   a status other than 401, and calls `send` again after the connection drops.
   * Throws AuthFailure when credentials cannot be produced or the handshake breaks; a
   * server that refuses complete credentials is a 401 answer, not a throw.
   */
  send(req: WireRequest, send: ConnectionSend): Promise<WireResponse>;
  /** Frees what the mechanism holds (a GSSAPI context, a token client). */
  close?(): Promise<void>;
}

export type AuthFailureKind =
  /** The native Kerberos addon is not installed (negotiate needs the optional `kerberos` package). */
  | 'missing-addon'
  /** No Kerberos ticket or keytab for the current user. */
  | 'no-credentials'
  /** The KDC does not know the service principal (SPN). */
  | 'unknown-spn'
  /** The server's reply token did not verify (mutual authentication failed). */
  | 'mutual-auth'
  /** The OAuth 2 token endpoint refused or could not be reached. */
  | 'token-endpoint'
  /** The handshake broke (the server's challenge was malformed, the connection closed mid-handshake). */
  | 'handshake';

/** A credential that could not be produced or used; `message` is one line and never holds a secret. */
export class AuthFailure extends Error {
  override readonly name = 'AuthFailure';
  constructor(
    readonly kind: AuthFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Cookies a server sets, kept per client and sent back like a browser session. */
export interface CookieJar {
  /** The `Cookie` header for a request to `path` on the CM server, or undefined when none applies. */
  header(path: string): string | undefined;
  /** Takes the `set-cookie` values of an answer to a request to `path`. */
  store(path: string, setCookie: readonly string[]): void;
  /** Every cookie value held (for redaction). */
  values(): string[];
}
