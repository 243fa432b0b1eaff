/**
 * A throwaway MIT Kerberos realm on a loopback port, in a test's own directory: its own
 * krb5.conf and kdc.conf (nothing under /etc is read or written), a database made with
 * kdb5_util, principals and keytabs made with kadmin.local, and `krb5kdc -n` as a
 * background process stopped by its PID. No root needed; no kinit needed by clients
 * (GSSAPI gets the ticket itself from KRB5_CLIENT_KTNAME).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemons.js';
import { freePort } from './ports.js';
import { which } from './requirements.js';

export const REALM = 'CMCARD.TEST';
/** The service principals Apache (and `cmcard serve --auth negotiate`) hold keys for. */
export const SERVICE_PRINCIPALS = ['HTTP/localhost', 'HTTP/127.0.0.1'] as const;

export interface RealmUser {
  name: string;
  password: string;
}

export interface Realm {
  name: string;
  kdcPort: number;
  dir: string;
  krb5Conf: string;
  kdcConf: string;
  /** Keys of SERVICE_PRINCIPALS. */
  serviceKeytab: string;
  users: readonly RealmUser[];
  /** The keytab holding `user`'s key, for clients that get their ticket without kinit. */
  clientKeytab(user: string): string;
  /**
   * Environment of a Kerberos client acting as `user` (null: no credentials at all): own
   * krb5.conf, the user's client keytab, and a fresh in-memory credential cache.
   */
  clientEnv(user: string | null): Record<string, string>;
  kdc: Daemon;
  stop(): Promise<void>;
}

const TOOL_TIMEOUT_MS = 15_000;

function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(which(command) ?? command, args, { env, timeout: TOOL_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(`${stdout}${stderr}`);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => s.destroy());
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
  });
}

export async function waitForPort(port: number, daemon: Daemon, log: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await listening(port))) {
    if (!daemon.alive()) throw new Error(`${daemon.name} exited before listening on port ${port} (see ${log})`);
    if (Date.now() > deadline) throw new Error(`${daemon.name} did not listen on port ${port} within ${ms} ms (see ${log})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function writeConfigs(dir: string, port: number): { krb5Conf: string; kdcConf: string } {
  const krb5Conf = join(dir, 'krb5.conf');
  const kdcConf = join(dir, 'kdc.conf');
  writeFileSync(
    krb5Conf,
    `[libdefaults]
  default_realm = ${REALM}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
[realms]
  ${REALM} = {
    kdc = 127.0.0.1:${port}
  }
[domain_realm]
  localhost = ${REALM}
  127.0.0.1 = ${REALM}
  .cmcard.test = ${REALM}
`,
  );
  writeFileSync(
    kdcConf,
    `[kdcdefaults]
  kdc_listen = 127.0.0.1:${port}
  kdc_tcp_listen = 127.0.0.1:${port}
[realms]
  ${REALM} = {
    database_name = ${join(dir, 'principal')}
    key_stash_file = ${join(dir, 'stash')}
    acl_file = ${join(dir, 'kadm5.acl')}
    master_key_type = aes256-cts-hmac-sha1-96
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
[logging]
  kdc = FILE:${join(dir, 'kdc.log')}
`,
  );
  return { krb5Conf, kdcConf };
}

/** Creates the realm with `users` (random passwords) and starts its KDC. */
export async function createRealm(dir: string, userNames: readonly string[] = ['alice', 'bob']): Promise<Realm> {
  let port = await freePort();
  const { krb5Conf, kdcConf } = writeConfigs(dir, port);
  const env = { PATH: process.env.PATH, KRB5_CONFIG: krb5Conf, KRB5_KDC_PROFILE: kdcConf };
  await run('kdb5_util', ['create', '-s', '-r', REALM, '-P', randomBytes(12).toString('base64url'), '-W'], env);
  const users = userNames.map((name) => ({ name, password: `Pw-${randomBytes(9).toString('base64url')}` }));
  const serviceKeytab = join(dir, 'service.keytab');
  const clientKeytab = (user: string): string => join(dir, `client-${user}.keytab`);
  const script = [
    ...users.map((u) => `addprinc -pw ${u.password} ${u.name}`),
    ...SERVICE_PRINCIPALS.map((p) => `addprinc -randkey ${p}`),
    `ktadd -k ${serviceKeytab} ${SERVICE_PRINCIPALS.join(' ')}`,
    ...users.map((u) => `ktadd -norandkey -k ${clientKeytab(u.name)} ${u.name}`),
    'quit',
    '',
  ].join('\n');
  await run('kadmin.local', ['-r', REALM], env, script);

  const log = join(dir, 'krb5kdc.out');
  let kdc: Daemon;
  for (let attempt = 1; ; attempt++) {
    const started = startDaemon('krb5kdc', which('krb5kdc') ?? 'krb5kdc', ['-n', '-r', REALM], { env, logFile: log });
    try {
      await waitForPort(port, started, log);
      kdc = started;
      break;
    } catch (err) {
      const exited = !started.alive();
      await started.stop();
      // Someone took the port between our pick and the KDC's bind: pick another.
      if (!exited || attempt >= 3) throw err;
      port = await freePort();
      writeConfigs(dir, port);
    }
  }
  let cacheSeq = 0;
  return {
    name: REALM,
    kdcPort: port,
    dir,
    krb5Conf,
    kdcConf,
    serviceKeytab,
    users,
    clientKeytab,
    clientEnv: (user) => ({
      KRB5_CONFIG: krb5Conf,
      // An empty keytab path when there is no user: GSSAPI then finds no credentials at all.
      KRB5_CLIENT_KTNAME: user === null ? `FILE:${join(dir, 'no-such.keytab')}` : `FILE:${clientKeytab(user)}`,
      KRB5CCNAME: `MEMORY:cmcard-${process.pid}-${++cacheSeq}`,
    }),
    kdc,
    stop: () => kdc.stop(),
  };
}
