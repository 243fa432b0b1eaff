/**
 * OAuth 2 client credentials against a real authorization server on loopback
 * (oidc-provider), and a CM stand-in that checks each token by introspection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuth2Authenticator } from '../../../../harness/wire/auth/oauth2.js';
import { AuthFailure, type AuthContext } from '../../../../harness/wire/auth/types.js';
import { freePort } from '../../../support/wia/ports.js';
import { openConnection, type TestConnection } from './support/connection.js';
import { RESOURCE, SCOPE, startResourceServer, startTokenServer, type ResourceServer, type TokenServer } from './support/token-server.js';

describe('oauth2 client credentials against oidc-provider', () => {
  let tokens: TokenServer;
  let cm: ResourceServer;
  let conn: TestConnection;
  const secrets: string[] = [];
  const ctx: AuthContext = { server: 'http://127.0.0.1', timeoutMs: 10_000, onSecret: (s) => secrets.push(s) };
  const GET = { method: 'GET', path: '/api', headers: {} };

  beforeAll(async () => {
    tokens = await startTokenServer({ ttlSeconds: 600 });
    cm = await startResourceServer(tokens);
    conn = openConnection(cm.url);
  });
  afterAll(async () => {
    await conn?.close();
    await cm?.close();
    await tokens?.close();
  });
  const config = (over: Record<string, string> = {}) => ({
    tokenUrl: tokens.tokenUrl,
    clientId: tokens.clientId,
    clientSecret: tokens.clientSecret,
    resource: RESOURCE,
    ...over,
  });

  it('fetches a token with the ADFS-style resource, sends it as Bearer, and caches it', async () => {
    const before = tokens.tokenRequests();
    const auth = createOAuth2Authenticator(config(), ctx);
    try {
      expect(auth.binding).toBe('request');
      expect((await auth.send(GET, conn.send)).status).toBe(200);
      expect((await auth.send(GET, conn.send)).status).toBe(200);
      expect(tokens.tokenRequests() - before).toBe(1);
      const [a, b] = cm.seen.slice(-2);
      expect(a).toBe(b);
      expect(secrets).toContain(tokens.clientSecret);
      expect(secrets).toContain(a);
    } finally {
      await auth.close?.();
    }
  });

  it('works with scope instead of resource', async () => {
    const auth = createOAuth2Authenticator({ tokenUrl: tokens.tokenUrl, clientId: tokens.clientId, clientSecret: tokens.clientSecret, scope: SCOPE }, ctx);
    try {
      expect((await auth.send(GET, conn.send)).status).toBe(200);
    } finally {
      await auth.close?.();
    }
  });

  it('fetches a new token once the cached one is about to expire', async () => {
    let now = Date.now();
    const before = tokens.tokenRequests();
    const auth = createOAuth2Authenticator(config(), ctx, { now: () => now });
    try {
      await auth.send(GET, conn.send);
      now += 500_000; // 600 s token: still well inside its life
      await auth.send(GET, conn.send);
      expect(tokens.tokenRequests() - before).toBe(1);
      now += 60_000; // within the margin before expiry
      await auth.send(GET, conn.send);
      expect(tokens.tokenRequests() - before).toBe(2);
    } finally {
      await auth.close?.();
    }
  });

  it('a revoked token gets a 401: one new token, the request resent, 200', async () => {
    const auth = createOAuth2Authenticator(config(), ctx);
    try {
      await auth.send(GET, conn.send);
      const first = cm.seen.at(-1)!;
      await tokens.revoke(first);
      const before = tokens.tokenRequests();
      const res = await auth.send(GET, conn.send);
      expect(res.status).toBe(200);
      expect(tokens.tokenRequests() - before).toBe(1);
      expect(cm.seen.at(-1)).not.toBe(first);
    } finally {
      await auth.close?.();
    }
  });

  it('refetches only once: a server that keeps refusing gets its 401 back after two tries', async () => {
    const auth = createOAuth2Authenticator(config(), ctx);
    try {
      const before = tokens.tokenRequests();
      const sentBefore = conn.sent.length;
      const res = await auth.send({ ...GET, path: '/always-refuses' }, conn.send);
      expect(res.status).toBe(401);
      expect(tokens.tokenRequests() - before).toBe(2);
      expect(conn.sent.length - sentBefore).toBe(2);
    } finally {
      await auth.close?.();
    }
  });

  it('a wrong client secret: AuthFailure token-endpoint with the OAuth error, never the secret', async () => {
    const wrong = `${tokens.clientSecret}-wrong`;
    const auth = createOAuth2Authenticator(config({ clientSecret: wrong }), ctx);
    try {
      const err = await auth.send(GET, conn.send).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthFailure);
      expect((err as AuthFailure).kind).toBe('token-endpoint');
      expect((err as AuthFailure).message).toContain('invalid_client');
      expect((err as AuthFailure).message).toContain(tokens.clientId);
      expect((err as AuthFailure).message).not.toContain(wrong);
      expect((err as AuthFailure).message).not.toContain(tokens.clientSecret);
    } finally {
      await auth.close?.();
    }
  });

  it('an unknown resource: token-endpoint failure naming the OAuth error', async () => {
    const auth = createOAuth2Authenticator(config({ resource: 'https://not-the-cm.test/' }), ctx);
    try {
      const err = await auth.send(GET, conn.send).catch((e: unknown) => e);
      expect((err as AuthFailure).kind).toBe('token-endpoint');
      expect((err as AuthFailure).message).toMatch(/invalid_target|invalid_request/);
    } finally {
      await auth.close?.();
    }
  });

  it('a token endpoint nobody listens on: token-endpoint failure saying it cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}/token`;
    const auth = createOAuth2Authenticator(config({ tokenUrl: url }), ctx);
    try {
      const err = await auth.send(GET, conn.send).catch((e: unknown) => e);
      expect((err as AuthFailure).kind).toBe('token-endpoint');
      expect((err as AuthFailure).message).toMatch(/cannot reach the token endpoint .*ECONNREFUSED/);
    } finally {
      await auth.close?.();
    }
  });
});
