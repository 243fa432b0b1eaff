/**
 * A real OAuth 2 authorization server on loopback for the oauth2 tests: oidc-provider
 * (certified OpenID Connect implementation) with the client-credentials grant, RFC 8707
 * resource indicators (ADFS's `resource`), introspection and revocation. A small CM-like
 * resource server beside it accepts a bearer token only while introspection says it is
 * active, so a revoked token really gets a 401.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';
import { freePort } from '../../../../support/wia/ports.js';

export const RESOURCE = 'https://cm.cmcard.test/CertificateManagement';
export const SCOPE = 'cm.api';

export interface TokenServer {
  tokenUrl: string;
  revocationUrl: string;
  clientId: string;
  clientSecret: string;
  /** POSTs to the token endpoint so far. */
  tokenRequests(): number;
  /** Revokes an access token, as an administrator would. */
  revoke(token: string): Promise<void>;
  /** Whether the token is active (RFC 7662 introspection, as the CM API's own client). */
  introspect(token: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function startTokenServer(options: { ttlSeconds?: number } = {}): Promise<TokenServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const client = { client_id: 'cmcard-ci', client_secret: `cs-${Math.random().toString(36).slice(2)}-${Date.now()}` };
  const api = { client_id: 'cm-api', client_secret: `api-${Math.random().toString(36).slice(2)}` };
  const ttl = options.ttlSeconds ?? 600;
  const provider = new Provider(issuer, {
    clients: [
      { ...client, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post', scope: SCOPE },
      { ...api, grant_types: [], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' },
    ],
    scopes: [SCOPE],
    ttl: { ClientCredentials: ttl },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget();
          return { scope: SCOPE, accessTokenTTL: ttl, accessTokenFormat: 'opaque' };
        },
      },
    },
  });
  let tokenRequests = 0;
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') tokenRequests += 1;
    await next();
  });
  const server = await new Promise<Server>((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s));
  });
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return {
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    tokenRequests: () => tokenRequests,
    revoke: async (token) => {
      const res = await fetch(`${issuer}/token/revocation`, form({ token, ...api }));
      if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
    },
    introspect: async (token) => {
      const res = await fetch(`${issuer}/token/introspection`, form({ token, ...api }));
      return ((await res.json()) as { active?: boolean }).active === true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ResourceServer {
  url: string;
  /** Bearer tokens it was sent, in order. */
  seen: string[];
  close(): Promise<void>;
}

/** A CM stand-in: 200 for an active token (asked of the token server), else 401 `Bearer error="invalid_token"`. */
export async function startResourceServer(tokens: TokenServer): Promise<ResourceServer> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const refuse = (): void => {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="cm", error="invalid_token"', 'Content-Type': 'application/json' });
      res.end('{"Message":"the bearer token is not valid"}');
    };
    if (!m) return refuse();
    seen.push(m[1]!);
    if (req.url === '/always-refuses') return refuse();
    tokens.introspect(m[1]!).then(
      (active) => {
        if (!active) return refuse();
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('"ok"');
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
