/**
 * Fixed headers on every request: today's `headers` / `forbiddenHeaders`, and the
 * `{"type": "headers"}` auth block. Every value is treated as a secret, as the config's
 * header values always were.
 */
import type { AuthContext, Authenticator, WireRequest, WireResponse, ConnectionSend } from './types.js';

export function createHeadersAuthenticator(headers: Record<string, string>, ctx: Pick<AuthContext, 'onSecret'>): Authenticator {
  const fixed = { ...headers };
  for (const value of Object.values(fixed)) ctx.onSecret(value);
  return {
    type: 'headers',
    binding: 'request',
    send(req: WireRequest, send: ConnectionSend): Promise<WireResponse> {
      return send({ ...req, headers: withHeaders(req.headers, fixed) });
    },
  };
}

/** `extra` over `base`, replacing a same-named header whatever its case (`authorization` vs `Authorization`). */
export function withHeaders(base: Record<string, string>, extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const replaced = new Set(Object.keys(extra).map((k) => k.toLowerCase()));
  for (const [name, value] of Object.entries(base)) if (!replaced.has(name.toLowerCase())) out[name] = value;
  return Object.assign(out, extra);
}
