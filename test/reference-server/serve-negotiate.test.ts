/**
 * The reference server demanding Negotiate (`cmcard serve --auth negotiate`), against a
 * throwaway realm: our own negotiate mechanism as the client, in process and through the
 * built CLI. Skipped, with the install line, without the packages or the kerberos addon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, EXAMPLE, startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { createNegotiateAuthenticator } from '../../harness/wire/auth/negotiate.js';
import { createRealm, REALM, type Realm } from '../support/wia/realm.js';
import { announceSkip, kerberosAddonSkipReason, wiaSkipReason } from '../support/wia/requirements.js';
import { BIN, runCli } from '../support/cli.js';
import { openConnection } from '../harness/wire/auth/support/connection.js';
import { setEnv } from '../harness/wire/auth/support/env.js';

const reason = wiaSkipReason() ?? (await kerberosAddonSkipReason());
announceSkip('cmcard serve --auth negotiate', reason);

const RESPONSE_PATH = `${BASE_PATH}/requests/${EXAMPLE.reqid}/smartcards/${EXAMPLE.scid}/authenticationresponse?cardid=${EXAMPLE.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`;
const GET = { method: 'GET', path: RESPONSE_PATH, headers: {} };

describe('cmcard serve --auth negotiate: flag errors', () => {
  it.each([
    [['--auth', 'negotiate'], '--auth negotiate needs --keytab FILE'],
    [['--auth', 'kerberos'], '--auth must be bearer or negotiate, got "kerberos"'],
    [['--keytab', 'x.keytab'], '--keytab goes with --auth negotiate'],
    [['--auth', 'negotiate', '--keytab', '/nonexistent/http.keytab'], '--keytab /nonexistent/http.keytab cannot be read'],
    [['--auth', 'negotiate', '--keytab', BIN, '--principal-role', 'alice'], '--principal-role must look like PRINCIPAL=helpdesk or PRINCIPAL=user'],
  ])('%j', async (args, line) => {
    const r = await runCli(['serve', '--port', '0', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(line);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(reason !== null)(`the reference server demanding Negotiate${reason ? ` [skipped: ${reason}]` : ''}`, () => {
  let dir: string;
  let realm: Realm;
  let server: RunningServer;
  let restore: () => void = () => {};
  const actAs = (user: string): void => {
    restore();
    restore = setEnv(realm.clientEnv(user));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cmcard-serve-neg-'));
    realm = await createRealm(dir, ['alice', 'bob']);
    server = await startReferenceServer({ quiet: true, negotiate: { keytab: realm.serviceKeytab, principalRoles: { [`ALICE@${REALM}`]: 'helpdesk' } } });
  });
  afterAll(async () => {
    restore();
    await server?.close();
    await realm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 WWW-Authenticate: Negotiate without credentials, and to a bearer token', async () => {
    const conn = openConnection(server.url);
    try {
      for (const headers of [{}, { Authorization: 'Bearer demo-helpdesk' }] as Array<Record<string, string>>) {
        const res = await conn.send({ ...GET, headers });
        expect(res.status).toBe(401);
        expect(res.multi['www-authenticate']).toEqual(['Negotiate']);
        expect(JSON.parse(res.body)).toHaveProperty('CorrelationId');
      }
    } finally {
      await conn.close();
    }
  });

  it('the help desk principal gets the response, with a reply token that passes mutual authentication; the connection stays authenticated', async () => {
    actAs('alice');
    const conn = openConnection(server.url);
    try {
      const auth = createNegotiateAuthenticator({}, { server: server.url });
      const res = await auth.send(GET, conn.send);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toBe('F0Zudm4wPLY=');
      expect(res.multi['www-authenticate']?.[0]).toMatch(/^Negotiate \S+$/);
      const again = await conn.send(GET);
      expect(again.status).toBe(200);
      expect(conn.connects()).toBe(1);
      // Another connection has to authenticate itself.
      const other = openConnection(server.url);
      try {
        expect((await other.send(GET)).status).toBe(401);
      } finally {
        await other.close();
      }
      expect(
        server.store
          .listAudit()
          .filter((r) => r.status === 200)
          .map((r) => r.principal),
      ).toContain(`alice@${REALM}`);
    } finally {
      await conn.close();
    }
  });

  it('an unlisted principal is an authenticated user without rights: 403', async () => {
    actAs('bob');
    const conn = openConnection(server.url);
    try {
      const res = await createNegotiateAuthenticator({}, { server: server.url }).send(GET, conn.send);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).Message).toContain(`bob@${REALM}`);
    } finally {
      await conn.close();
    }
  });

  it('a Negotiate token that does not verify: 401 with a fresh challenge, no detail', async () => {
    const conn = openConnection(server.url);
    try {
      const res = await conn.send({ ...GET, headers: { Authorization: 'Negotiate YIIBAAYGKwYBBQUCoA==' } });
      expect(res.status).toBe(401);
      expect(res.multi['www-authenticate']).toEqual(['Negotiate']);
      expect(JSON.parse(res.body).Message).toBe('the Negotiate token was not accepted');
    } finally {
      await conn.close();
    }
  });

  it('through the built CLI: cmcard serve --auth negotiate --keytab FILE --principal-role', async () => {
    actAs('alice');
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--auth', 'negotiate', '--keytab', realm.serviceKeytab, '--principal-role', `alice@${REALM}=helpdesk`],
      {
        env: { ...process.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const kill = (): void => {
      child.kill('SIGTERM');
    };
    process.once('exit', kill);
    try {
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no URL within 15 s: ${stderr}`)), 15_000);
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n') && line) {
            clearTimeout(timer);
            resolve(line.trim());
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      const conn = openConnection(url);
      try {
        const res = await createNegotiateAuthenticator({}, { server: url }).send(GET, conn.send);
        expect(res.status).toBe(200);
      } finally {
        await conn.close();
      }
      expect(stderr).toContain(`roles: alice@${REALM.toLowerCase()}=helpdesk; any other principal is user (no rights)`);
    } finally {
      process.off('exit', kill);
      kill();
    }
  });
});
