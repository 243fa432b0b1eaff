import type { Command } from 'commander';
import {
  DEFAULT_MEMORY_AUDIT_ROWS,
  defaultSeed,
  loadSeedFile,
  parsePrincipalRoles,
  ProviderStatesOffLoopbackError,
  startReferenceServer,
  Store,
  type AuditRecord,
  type NegotiateOptions,
  type RunningServer,
} from '../../reference-server/index.js';
import { InputError } from '../../simulator/errors.js';
import { ExitError, EXIT } from '../cli-support.js';

interface ServeOptions {
  host: string;
  port: string;
  db?: string;
  seed?: string;
  providerStates?: boolean;
  printAudit?: boolean;
  printSeed?: boolean;
  json?: boolean;
  quiet?: boolean;
  auth: string;
  keytab?: string;
  principalRole: string[];
  auditRows?: string;
}

/** `cmcard serve`: the reference CM server; `--print-audit` reads a --db file's audit trail instead. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the reference CM server (prints its base URL on the first line of stdout)')
    .option('--host <host>', 'address to listen on; the demo tokens work only on loopback', '127.0.0.1')
    .option('--port <port>', 'TCP port (0 = a free port)', '8080')
    .option('--db <file>', 'SQLite database file, kept across restarts (default: in memory)')
    .option('--seed <file>', 'JSON seed: templates, requests, smart cards, principals (loaded into a new database)')
    .option(
      '--audit-rows <n>',
      `audit rows kept, the newest N, or "all" (default: ${DEFAULT_MEMORY_AUDIT_ROWS} in memory, all with --db); counts of every row stay exact`,
    )
    .option('--provider-states', 'serve POST /_pact/provider-states for Pact verification (tests only; loopback --host only)')
    .option('--print-audit', 'print the audit trail of --db and exit instead of serving')
    .option('--print-seed', 'print the default seed as JSON (a starting point for --seed) and exit')
    .option('--json', 'with --print-audit: one JSON object per line')
    .option('--quiet', 'no log lines on stderr')
    .option(
      '--auth <type>',
      "how callers authenticate: bearer (the seed's tokens) or negotiate (Kerberos, as IIS with Windows Authentication; needs --keytab)",
      'bearer',
    )
    .option('--keytab <file>', 'with --auth negotiate: the keytab holding the HTTP/<host> service keys')
    .option(
      '--principal-role <principal=role>',
      'with --auth negotiate: give a Kerberos principal a role, helpdesk or user (repeatable; unlisted principals are user, without rights)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (opts: ServeOptions) => {
      if (opts.printAudit) return printAudit(opts);
      if (opts.printSeed) {
        process.stdout.write(`${JSON.stringify(defaultSeed(), null, 2)}\n`);
        return;
      }
      if (opts.json) throw new InputError('--json goes with --print-audit');
      const port = parsePort(opts.port);
      const negotiate = parseAuthFlags(opts);
      const auditRows = opts.auditRows === undefined ? undefined : parseAuditRows(opts.auditRows);
      const seed = opts.seed ? loadSeedFile(opts.seed) : undefined;
      let server: RunningServer;
      try {
        server = await startReferenceServer({
          host: opts.host,
          port,
          dbFile: opts.db,
          seed,
          providerStates: opts.providerStates,
          quiet: opts.quiet,
          negotiate,
          ...(auditRows === undefined ? {} : { auditRows }),
        });
      } catch (err) {
        throw startError(err, opts);
      }
      process.stdout.write(`${server.url}\n`);
      const log = (line: string): void => {
        if (!opts.quiet) process.stderr.write(`cmcard serve: ${line}\n`);
      };
      log(`CM API at ${server.url}/CertificateManagement/api/v1.0 (${opts.db ? `database ${opts.db}` : 'in-memory database'})`);
      if (opts.seed && !server.seeded) log(`--seed ${opts.seed} not applied: ${opts.db} already holds data (use a new --db file to reseed)`);
      if (negotiate) {
        const mapped = Object.entries(negotiate.principalRoles ?? {}).map(([p, r]) => `${p}=${r}`);
        log(
          `callers authenticate with Negotiate (Kerberos), keys from ${negotiate.keytab}; ${mapped.length > 0 ? `roles: ${mapped.join(', ')}; ` : ''}any other principal is user (no rights)`,
        );
      } else if (!server.loopback) log('not on loopback: the demo tokens are refused');
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals): void => {
          if (stopping) {
            log(`${signal} again: exiting now`);
            process.exit(EXIT.FAILED);
          }
          stopping = true;
          log(`${signal}: finishing requests in flight, then stopping`);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      log('stopped');
    });
}

/** --auth, --keytab, --principal-role: the Negotiate options, or undefined for bearer tokens. */
function parseAuthFlags(opts: ServeOptions): NegotiateOptions | undefined {
  if (opts.auth !== 'bearer' && opts.auth !== 'negotiate') throw new InputError(`--auth must be bearer or negotiate, got ${JSON.stringify(opts.auth)}`);
  if (opts.auth === 'bearer') {
    if (opts.keytab !== undefined) throw new InputError('--keytab goes with --auth negotiate');
    if (opts.principalRole.length > 0) throw new InputError('--principal-role goes with --auth negotiate');
    return undefined;
  }
  if (opts.keytab === undefined) throw new InputError('--auth negotiate needs --keytab FILE (the keytab holding the HTTP/<host> service keys)');
  return { keytab: opts.keytab, principalRoles: parsePrincipalRoles(opts.principalRole) };
}

function parseAuditRows(text: string): number | null {
  if (text === 'all') return null;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) {
    throw new InputError(`--audit-rows must be a whole number >= 1 or "all", got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new InputError(`--port must be a number from 0 to 65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

function startError(err: unknown, opts: ServeOptions): Error {
  if (err instanceof ProviderStatesOffLoopbackError) {
    const where = err.address === opts.host ? opts.host : `${opts.host} (${err.address})`;
    return new InputError(
      `--provider-states works only on loopback: --host ${where} is not a loopback address (the endpoint takes no token and rewrites the data)`,
    );
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return new ExitError(`port ${opts.port} on ${opts.host} is in use (--port 0 takes a free port)`, EXIT.FAILED);
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return new InputError(`--host ${opts.host} is not an address of this machine`);
  if (e.code === 'EACCES') return new ExitError(`no permission to listen on port ${opts.port}`, EXIT.FAILED);
  if (opts.db && /directory does not exist/.test(e.message ?? '')) return new InputError(`--db ${opts.db}: its directory does not exist`);
  if (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CANTOPEN' || e.code === 'SQLITE_CORRUPT') {
    return new InputError(`--db ${opts.db} is not a usable SQLite database (${e.code})`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function printAudit(opts: ServeOptions): void {
  if (!opts.db) throw new InputError('--print-audit needs --db FILE (an in-memory server keeps no audit after it stops)');
  let store: Store;
  try {
    store = new Store(opts.db, { readonly: true });
  } catch (err) {
    throw new InputError(`--db ${opts.db} cannot be read: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    for (const r of store.listAudit()) process.stdout.write(`${opts.json ? JSON.stringify(r) : formatAudit(r)}\n`);
    const counts = store.auditCounts();
    if (counts.total > counts.kept) {
      const by = Object.entries(counts.byOutcome)
        .filter(([, n]) => n > 0)
        .map(([o, n]) => `${o} ${n}`)
        .join(', ');
      process.stderr.write(`cmcard serve: ${counts.kept} of ${counts.total} audit rows kept (--audit-rows); all ${counts.total}: ${by}\n`);
    }
  } finally {
    store.close();
  }
}

function formatAudit(r: AuditRecord): string {
  const ids = [r.reqid && `req=${r.reqid}`, r.scid && `sc=${r.scid}`, r.cardid && `card=${r.cardid}`].filter(Boolean).join(' ');
  return `${r.at} ${r.principal ?? '(anonymous)'} ${r.action} ${r.status} ${r.outcome}${ids ? ` ${ids}` : ''} id=${r.correlationId}${r.detail ? ` "${r.detail}"` : ''}`;
}
