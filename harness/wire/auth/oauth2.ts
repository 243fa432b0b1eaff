/**
 * OAuth 2 client-credentials grant (ADFS or any OAuth 2 server): a bearer token fetched
 * from `tokenUrl`, cached until shortly before `expires_in`, sent on every request, and
 * fetched again once when the CM server answers 401 to it. Failures of the token endpoint
 * are one line with the OAuth error code; the client secret never appears in them.
 */
import type { Agent } from 'undici';
import { withHeaders } from './headers.js';
import { AuthFailure, type AuthContext, type Authenticator, type ConnectionSend, type WireRequest, type WireResponse } from './types.js';

export interface OAuth2Config {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** ADFS names the CM web API by `resource` (its identifier); RFC 8707 servers accept it too. */
  resource?: string;
  scope?: string;
}

export interface OAuth2Deps {
  /** Milliseconds since the epoch; tests move it to expire a token. */
  now?: () => number;
}

interface CachedToken {
  value: string;
  /** Refetch from this time on (undefined: keep until the CM server refuses it). */
  refreshAt?: number;
}

/** A token is refetched this long before it expires (a tenth of its lifetime when that is shorter). */
export const EXPIRY_MARGIN_MS = 60_000;

/** Hints for the OAuth error codes a misconfigured client meets (RFC 6749 section 5.2, RFC 8707, ADFS). */
const HINTS: Record<string, string> = {
  invalid_client: 'check auth.clientId and auth.clientSecret',
  unauthorized_client:
    'the client may not use the client-credentials grant (in ADFS: a server application with a client secret, given access to the CM web API)',
  unsupported_grant_type: 'the server does not offer the client-credentials grant',
  invalid_scope: 'check auth.scope',
  invalid_target: 'check auth.resource',
  invalid_resource: "check auth.resource (in ADFS: the CM web API's identifier)",
  invalid_request: 'check auth.resource and auth.scope',
};

export function createOAuth2Authenticator(config: OAuth2Config, ctx: AuthContext, deps: OAuth2Deps = {}): Authenticator {
  ctx.onSecret(config.clientSecret);
  const now = deps.now ?? Date.now;
  // undici is loaded with the first token request: a run without OAuth 2 never loads it.
  let agent: Agent | undefined;
  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;

  const fetchToken = async (): Promise<CachedToken> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: config.clientId, client_secret: config.clientSecret });
    if (config.resource !== undefined) form.set('resource', config.resource);
    if (config.scope !== undefined) form.set('scope', config.scope);
    const asked = now();
    let status: number;
    let text: string;
    try {
      const undici = await import('undici');
      agent ??= new undici.Agent({
        headersTimeout: ctx.timeoutMs,
        bodyTimeout: ctx.timeoutMs,
        connect: { timeout: ctx.timeoutMs, ...(ctx.tls ?? {}) },
      });
      const res = await undici.request(config.tokenUrl, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(ctx.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const code = e.code ?? e.cause?.code ?? e.name;
      throw new AuthFailure('token-endpoint', `oauth2: cannot reach the token endpoint ${config.tokenUrl} (${code})`, { cause: err });
    }
    const body = parseJson(text);
    if (status < 200 || status > 299) {
      const error = typeof body?.error === 'string' ? body.error : undefined;
      const description = typeof body?.error_description === 'string' ? ` (${oneLine(body.error_description, config.clientSecret)})` : '';
      const hint = error && HINTS[error] ? `: ${HINTS[error]}` : '';
      throw new AuthFailure(
        'token-endpoint',
        `oauth2: the token endpoint ${config.tokenUrl} refused the client-credentials grant for client ${config.clientId}: ${status}${error ? ` ${error}` : ''}${description}${hint}`,
      );
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new AuthFailure('token-endpoint', `oauth2: the token endpoint ${config.tokenUrl} answered ${status} without an access_token`);
    }
    ctx.onSecret(token);
    const type = body?.token_type;
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
      throw new AuthFailure(
        'token-endpoint',
        `oauth2: the token endpoint ${config.tokenUrl} issued a ${oneLine(type, config.clientSecret)} token; cmcard sends bearer tokens only`,
      );
    }
    const seconds = Number(body?.expires_in);
    if (!Number.isFinite(seconds) || seconds <= 0) return { value: token };
    const lifetime = seconds * 1000;
    return { value: token, refreshAt: asked + lifetime - Math.min(EXPIRY_MARGIN_MS, lifetime / 10) };
  };

  /** The cached token, or a new one; concurrent callers share one fetch. */
  const token = async (): Promise<string> => {
    if (cached && (cached.refreshAt === undefined || now() < cached.refreshAt)) return cached.value;
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined;
    });
    cached = await inFlight;
    return cached.value;
  };

  const withToken = (req: WireRequest, value: string): WireRequest => ({ ...req, headers: withHeaders(req.headers, { Authorization: `Bearer ${value}` }) });

  return {
    type: 'oauth2',
    binding: 'request',
    async send(req: WireRequest, send: ConnectionSend): Promise<WireResponse> {
      const used = await token();
      const res = await send(withToken(req, used));
      if (res.status !== 401) return res;
      // Refused: revoked or expired early. Fetch once more (unless another request already did).
      if (cached?.value === used) cached = undefined;
      const fresh = await token();
      return send(withToken(req, fresh));
    },
    close: async () => agent?.close(),
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Server text for our one-line messages: one line, bounded, and never the secret even if the server echoes it. */
function oneLine(text: string, secret: string): string {
  let out = text.replace(/\s+/g, ' ').trim();
  if (secret.length > 0) out = out.split(secret).join('[redacted]');
  return out.length > 200 ? `${out.slice(0, 200)}...` : out;
}
