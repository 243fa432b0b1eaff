/**
 * Negotiate (Kerberos) against real components: a throwaway MIT realm and Apache with
 * mod_auth_gssapi in front of the reference server, all on loopback, stopped by PID.
 * Skipped, with the install line, where the packages or the kerberos addon are missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, startReferenceServer, type RunningServer } from '../../../../reference-server/index.js';
import { createNegotiateAuthenticator } from '../../../../harness/wire/auth/negotiate.js';
import { AuthFailure } from '../../../../harness/wire/auth/types.js';
import { announceSkip, kerberosAddonSkipReason, REALM, startTestBed, WHOAMI_PATH, wiaSkipReason, type TestBed } from '../../../support/wia/testbed.js';
import { setEnv } from './support/env.js';
import { openConnection } from './support/connection.js';

const reason = wiaSkipReason() ?? (await kerberosAddonSkipReason());
announceSkip('negotiate against a real KDC and Apache', reason);

const CARD_PATH = `${BASE_PATH}/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099`;

describe.skipIf(reason !== null)(`negotiate through Apache mod_auth_gssapi to the reference server${reason ? ` [skipped: ${reason}]` : ''}`, () => {
  let bed: TestBed;
  let backend: RunningServer;
  let restoreEnv: (() => void) | undefined;
  const ctx = (server: string) => ({ server, timeoutMs: 10_000, onSecret: () => {} });

  beforeAll(async () => {
    backend = await startReferenceServer({ quiet: true });
    bed = await startTestBed({ backend: backend.url, backendAuthorization: { [`alice@${REALM}`]: 'Bearer demo-helpdesk' } });
  });
  afterAll(async () => {
    restoreEnv?.();
    await bed?.stop();
    await backend?.close();
  });
  const actAs = (user: 'alice' | null): void => {
    restoreEnv?.();
    restoreEnv = setEnv(bed.realm.clientEnv(user));
  };

  it('gets 200 through Apache, the backend sees user@REALM, and the connection stays authenticated', async () => {
    actAs('alice');
    const conn = openConnection(bed.apache.negotiateUrl);
    try {
      const auth = createNegotiateAuthenticator({}, ctx(bed.apache.negotiateUrl));
      const res = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn.send);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).user).toBe(`alice@${REALM}`);
      expect(conn.sent[0]!.headers.Authorization).toMatch(/^Negotiate \S+$/);
      // Later requests on the connection carry nothing and still pass (GssapiConnectionBound, as IIS).
      const again = await conn.send({ method: 'GET', path: CARD_PATH, headers: {} });
      expect(again.status).not.toBe(401);
      expect(conn.connects()).toBe(1);
      expect(bed.apache.whoamiSeen).toContain(`alice@${REALM}`);
    } finally {
      await conn.close();
    }
  });

  it('reaches the reference server, which answers the CM API for the mapped principal', async () => {
    actAs('alice');
    const conn = openConnection(bed.apache.negotiateUrl);
    try {
      const auth = createNegotiateAuthenticator({}, ctx(bed.apache.negotiateUrl));
      const res = await auth.send({ method: 'GET', path: CARD_PATH, headers: {} }, conn.send);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/application\/json/);
    } finally {
      await conn.close();
    }
  });

  it('targets 127.0.0.1 with its own SPN, and an explicit spn in HTTP/host form', async () => {
    actAs('alice');
    const byIp = bed.apache.negotiateUrl.replace('localhost', '127.0.0.1');
    for (const auth of [createNegotiateAuthenticator({}, ctx(byIp)), createNegotiateAuthenticator({ spn: 'HTTP/localhost' }, ctx(byIp))]) {
      const conn = openConnection(byIp);
      try {
        expect((await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn.send)).status).toBe(200);
      } finally {
        await conn.close();
      }
    }
  });

  it('without a ticket or keytab: AuthFailure no-credentials, before anything is sent', async () => {
    actAs(null);
    const conn = openConnection(bed.apache.negotiateUrl);
    try {
      const auth = createNegotiateAuthenticator({}, ctx(bed.apache.negotiateUrl));
      const err = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn.send).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthFailure);
      expect((err as AuthFailure).kind).toBe('no-credentials');
      expect((err as AuthFailure).message).toMatch(/kinit|KRB5_CLIENT_KTNAME/);
      expect((err as AuthFailure).message).not.toContain('\n');
      expect(conn.sent).toHaveLength(0);
    } finally {
      await conn.close();
    }
  });

  it('an SPN the KDC does not know: AuthFailure unknown-spn naming it', async () => {
    actAs('alice');
    const conn = openConnection(bed.apache.negotiateUrl);
    try {
      const auth = createNegotiateAuthenticator({ spn: 'HTTP/unknown.cmcard.test' }, ctx(bed.apache.negotiateUrl));
      const err = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn.send).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthFailure);
      expect((err as AuthFailure).kind).toBe('unknown-spn');
      expect((err as AuthFailure).message).toContain('HTTP/unknown.cmcard.test');
    } finally {
      await conn.close();
    }
  });

  it('a reply token that does not verify: AuthFailure mutual-auth', async () => {
    actAs('alice');
    const conn = openConnection(bed.apache.negotiateUrl);
    try {
      const auth = createNegotiateAuthenticator({}, ctx(bed.apache.negotiateUrl));
      // The real server's answer with its reply token altered on the way back.
      const tampering = async (req: Parameters<typeof conn.send>[0]) => {
        const res = await conn.send(req);
        const values = (res.multi['www-authenticate'] ?? []).map((v) =>
          v.replace(/^(Negotiate )(.{40})(.)/, (_m, a: string, b: string, c: string) => `${a}${b}${c === 'A' ? 'B' : 'A'}`),
        );
        return { ...res, multi: { ...res.multi, 'www-authenticate': values } };
      };
      const err = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, tampering).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthFailure);
      expect((err as AuthFailure).kind).toBe('mutual-auth');
    } finally {
      await conn.close();
    }
  });
});
