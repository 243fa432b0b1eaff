/**
 * Apache httpd with mod_auth_gssapi as the IIS stand-in: Windows Integrated
 * Authentication (Negotiate with Kerberos, NTLM through gss-ntlmssp) in front of a
 * backend, run as a plain process with its own config file in the test's directory and
 * stopped by its PID. Like IIS, an authenticated connection stays authenticated
 * (GssapiConnectionBound), and the backend learns the user from a header.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemons.js';
import { freePort } from './ports.js';
import { waitForPort, type Realm, type RealmUser } from './realm.js';
import { APACHE_MODULES, APACHE_MODULES_DIR, which } from './requirements.js';

/** The path Apache answers from the test bed's own echo backend: `{"user": REMOTE_USER as the backend saw it}`. */
export const WHOAMI_PATH = '/_testbed/whoami';

export interface ApacheOptions {
  dir: string;
  realm: Realm;
  /** Origin the authenticated requests are proxied to, e.g. a reference server's url. */
  backend: string;
  /** NTLM domain of `ntlmUsers` (gss-ntlmssp's user file). */
  ntlmDomain: string;
  ntlmUsers: readonly RealmUser[];
  /**
   * The `Authorization` Apache sends the backend, per authenticated user (REMOTE_USER as
   * `user@REALM` or `DOMAIN\user`): how a reference server behind it, which knows bearer
   * tokens, learns who the caller is. Users not listed reach the backend without one.
   */
  backendAuthorization?: Record<string, string>;
}

export interface Apache {
  /** Kerberos only: `WWW-Authenticate: Negotiate`. */
  negotiateUrl: string;
  /** NTLM only (gss-ntlmssp): `WWW-Authenticate: Negotiate` and `NTLM`, accepts both schemes. */
  ntlmUrl: string;
  /** Kerberos and NTLM, as IIS's default Windows Authentication: `Negotiate` and `NTLM`. */
  bothUrl: string;
  /** No authentication in Apache: the same proxy path, for a fixed-header baseline. */
  plainUrl: string;
  /** Every REMOTE_USER the echo backend saw, in order. */
  whoamiSeen: string[];
  errorLog: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

/** uid/gid of www-data, which Apache's workers run as when it is started as root. */
function wwwData(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('www-data:'));
  if (!line) throw new Error('running as root, but there is no www-data user for Apache workers to run as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * An Apache expression regex matching exactly `value` (e.g. `CMCARD\bob`): every character
 * but letters and digits as `\xHH`, with the backslash doubled because the config file's
 * tokenizer halves backslashes before ap_expr sees them (measured: a `'CMCARD\\bob'`
 * string comparison never matched).
 */
function exactRegex(value: string): string {
  const body = [...value].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('');
  return `/^${body}$/`;
}

function startEcho(seen: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const user = req.headers['x-remote-user'];
    const value = typeof user === 'string' ? user : null;
    if (value !== null) seen.push(value);
    const body = JSON.stringify({ user: value, authorization: req.headers.authorization ?? null, headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

interface Ports {
  negotiate: number;
  ntlm: number;
  both: number;
  plain: number;
}

async function distinctPorts(): Promise<Ports> {
  const picked = new Set<number>();
  while (picked.size < 4) picked.add(await freePort());
  const [negotiate, ntlm, both, plain] = [...picked] as [number, number, number, number];
  return { negotiate, ntlm, both, plain };
}

async function waitForFile(path: string, daemon: Daemon, log: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(path)) {
    if (!daemon.alive()) throw new Error(`${daemon.name} exited during startup (see ${log})`);
    if (Date.now() > deadline) throw new Error(`${daemon.name} wrote no pid file within ${ms} ms (see ${log})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startApache(options: ApacheOptions): Promise<Apache> {
  const { dir, realm } = options;
  const whoamiSeen: string[] = [];
  const echo = await startEcho(whoamiSeen);
  const echoPort = (echo.address() as AddressInfo).port;
  const closeEcho = (): Promise<void> =>
    new Promise((r) => {
      echo.closeAllConnections();
      echo.close(() => r());
    });
  try {
    const runDir = join(dir, 'apache-run');
    const rcacheDir = join(dir, 'rcache');
    mkdirSync(runDir, { recursive: true });
    mkdirSync(rcacheDir, { recursive: true });
    const usersFile = join(dir, 'ntlm-users');
    writeFileSync(usersFile, options.ntlmUsers.map((u) => `${options.ntlmDomain}:${u.name}:${u.password}\n`).join(''), { mode: 0o600 });

    // Started as root, Apache's workers run as www-data: they read the keytab and the user
    // file and write the replay cache. Without access the only symptom is
    // "SPNEGO cannot find mechanisms to negotiate" in the error log.
    const workers = wwwData();
    if (workers) {
      chmodSync(dir, 0o711);
      for (const path of [realm.serviceKeytab, usersFile, rcacheDir, runDir]) chownSync(path, workers.uid, workers.gid);
      chmodSync(realm.krb5Conf, 0o644);
    }

    const backend = options.backend.replace(/\/+$/, '');
    const identity = Object.entries(options.backendAuthorization ?? {})
      .map(([user, value]) => `  RequestHeader set Authorization "${value.replace(/"/g, '\\"')}" "expr=%{REMOTE_USER} =~ ${exactRegex(user)}"`)
      .join('\n');
    const location = (mechs: string[]): string => `  <Location />
    AuthType GSSAPI
    AuthName "cmcard test bed"
${mechs.map((m) => `    GssapiAllowedMech ${m}`).join('\n')}
    GssapiConnectionBound On
    Require valid-user
  </Location>
  RequestHeader unset Authorization
  RequestHeader set X-Remote-User "expr=%{REMOTE_USER}"
${identity}`;
    const vhost = (port: number, body: string): string => `Listen 127.0.0.1:${port}
<VirtualHost 127.0.0.1:${port}>
${body}
  ProxyPass ${WHOAMI_PATH} http://127.0.0.1:${echoPort}/whoami
  ProxyPass / ${backend}/ ttl=3
</VirtualHost>`;
    const errorLog = join(dir, 'apache-error.log');
    const conf = join(dir, 'httpd.conf');
    const pidFile = join(runDir, 'httpd.pid');
    const writeConf = (ports: Ports): void =>
      writeFileSync(
        conf,
        `ServerRoot ${dir}
ServerName localhost
PidFile ${pidFile}
DefaultRuntimeDir ${runDir}
ErrorLog ${errorLog}
LogLevel ${process.env.CMCARD_WIA_DEBUG ? 'debug' : 'warn'}
${workers ? 'User www-data\nGroup www-data' : ''}
${APACHE_MODULES.map((m) => `LoadModule ${m.replace(/^mod_/, '')}_module ${join(APACHE_MODULES_DIR, `${m}.so`)}`).join('\n')}
StartServers 1
ServerLimit 2
ThreadsPerChild 64
MaxRequestWorkers 128
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
ProxyTimeout 30
${vhost(ports.negotiate, location(['krb5']))}
${vhost(ports.ntlm, location(['ntlmssp']))}
${vhost(ports.both, location(['krb5', 'ntlmssp']))}
${vhost(ports.plain, "  # No authentication: the client's own Authorization reaches the backend (the fixed-header baseline).")}
`,
      );
    const env = {
      PATH: process.env.PATH,
      KRB5_CONFIG: realm.krb5Conf,
      KRB5_KTNAME: `FILE:${realm.serviceKeytab}`,
      KRB5RCACHEDIR: rcacheDir,
      NTLM_USER_FILE: usersFile,
    };
    const log = join(dir, 'apache.out');
    let daemon: Daemon;
    let ports: Ports;
    for (let attempt = 1; ; attempt++) {
      ports = await distinctPorts();
      writeConf(ports);
      rmSync(pidFile, { force: true });
      const started = startDaemon('apache2', which('apache2') ?? 'apache2', ['-f', conf, '-DFOREGROUND'], { env, logFile: log });
      try {
        for (const port of Object.values(ports)) await waitForPort(port, started, errorLog);
        // The pid file is written once every Listen is bound: a port answered by someone
        // else while Apache failed to bind it does not count.
        await waitForFile(pidFile, started, errorLog);
        daemon = started;
        break;
      } catch (err) {
        const exited = !started.alive();
        await started.stop();
        // Someone took a port between our pick and Apache's bind: pick others.
        if (!exited || attempt >= 3) throw err;
      }
    }
    const url = (port: number): string => `http://localhost:${port}`;
    return {
      negotiateUrl: url(ports.negotiate),
      ntlmUrl: url(ports.ntlm),
      bothUrl: url(ports.both),
      plainUrl: url(ports.plain),
      whoamiSeen,
      errorLog,
      daemon,
      stop: async () => {
        await daemon.stop();
        await closeEcho();
      },
    };
  } catch (err) {
    await closeEcho();
    throw err;
  }
}
