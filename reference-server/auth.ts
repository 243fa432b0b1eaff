import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-error.js';
import type { Role } from './model.js';
import { tokenDigest, type Store } from './store.js';

export interface Principal {
  name: string;
  roles: readonly Role[];
}

const CHALLENGE = 'Bearer realm="CertificateManagement"';

/**
 * Who sent a request, or an HttpError 401. Synchronous for bearer tokens; a Promise when
 * it needs work off the event loop (a GSSAPI accept). It may set headers on the answer
 * (a Negotiate reply token).
 */
export interface RequestAuthenticator {
  authenticateRequest(req: IncomingMessage, res: ServerResponse): Principal | Promise<Principal>;
}

/**
 * Bearer-token authentication. Tokens are stored and looked up only as SHA-256 digests:
 * what the lookup's timing can depend on is the digest of what the caller sent, which
 * tells an attacker nothing about the bytes of a stored token. Loopback-only principals
 * (the demo tokens) are refused when the server listens on anything but loopback.
 */
export class Authenticator implements RequestAuthenticator {
  private cache = new Map<string, Principal & { loopbackOnly: boolean }>();
  private generation = -1;

  constructor(
    private readonly store: Store,
    private readonly listensOnLoopback: () => boolean,
  ) {}

  authenticateRequest(req: IncomingMessage): Principal {
    return this.authenticate(req.headers.authorization);
  }

  /** The caller, or a 401 with `WWW-Authenticate: Bearer`. */
  authenticate(authorization: string | undefined): Principal {
    if (authorization === undefined || authorization.trim() === '') {
      throw new HttpError(401, 'authentication required: send Authorization: Bearer <token>', { 'WWW-Authenticate': CHALLENGE });
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) {
      throw new HttpError(401, 'Authorization must use the Bearer scheme: Authorization: Bearer <token>', { 'WWW-Authenticate': CHALLENGE });
    }
    const principal = this.lookup(m[1]!);
    if (!principal) {
      throw new HttpError(401, 'the bearer token is not valid', { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` });
    }
    if (principal.loopbackOnly && !this.listensOnLoopback()) {
      throw new HttpError(401, 'this token is a demo token, accepted only while the server listens on loopback', {
        'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"`,
      });
    }
    return principal;
  }

  private lookup(token: string): (Principal & { loopbackOnly: boolean }) | undefined {
    if (this.generation !== this.store.principalsGeneration) {
      this.cache.clear();
      this.generation = this.store.principalsGeneration;
    }
    const digest = tokenDigest(token);
    const key = digest.toString('base64');
    const cached = this.cache.get(key);
    if (cached) return cached;
    const row = this.store.principalByDigest(digest);
    if (!row) return undefined;
    const principal = { name: row.name, roles: row.roles, loopbackOnly: row.loopbackOnly };
    this.cache.set(key, principal);
    return principal;
  }
}

/** 403 unless the principal holds the role. */
export function requireRole(principal: Principal, role: Role, what: string): void {
  if (!principal.roles.includes(role)) {
    throw new HttpError(403, `${principal.name} may not ${what} (needs the ${role} role)`);
  }
}
