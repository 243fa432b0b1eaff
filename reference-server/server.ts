import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { InputError } from '../simulator/errors.js';
import { createApp } from './app.js';
import { Authenticator, type RequestAuthenticator } from './auth.js';
import { NegotiateAuthenticator, type NegotiateOptions } from './auth-negotiate.js';
import { handleProviderStateRequest } from './provider-states.js';
import { allRoutes } from './routes/index.js';
import { applySeed, defaultSeed, type SeedData } from './seed.js';
import { Store } from './store.js';

export interface ServerOptions {
  host?: string;
  port?: number;
  dbFile?: string;
  seed?: SeedData;
  providerStates?: boolean;
  quiet?: boolean;
  /** Demand Windows Integrated Authentication (Kerberos) instead of bearer tokens. */
  negotiate?: NegotiateOptions;
  /**
   * Audit rows kept: the newest N (exact counts of all rows are kept besides). null keeps
   * every row. Default: DEFAULT_MEMORY_AUDIT_ROWS in memory, every row with a dbFile.
   */
  auditRows?: number | null;
  /** How long a request's headers, and the whole request, may take to arrive (ms); 10 s and 30 s by default. */
  timeouts?: { headers?: number; request?: number };
}

export interface RunningServer {
  /** Origin, e.g. http://127.0.0.1:41234, no base path. */
  url: string;
  close(): Promise<void>;
  store: Store;
  /** True when this start wrote the seed (a new database); false when the database already held data. */
  seeded: boolean;
  /** True when it listens on a loopback address: only then do the demo tokens (and provider states) work. */
  loopback: boolean;
}

/**
 * `providerStates: true` with a host that is not loopback. The provider-states endpoint
 * takes no token and rewrites the data, so it is only for a server nobody else can reach.
 */
export class ProviderStatesOffLoopbackError extends InputError {
  constructor(readonly address: string) {
    super(`provider states are served only on loopback: ${address} is not a loopback address (the endpoint takes no token and rewrites the data)`);
  }
}

/** How long close() waits for requests in flight before cutting their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.') || address === 'localhost';
}

/**
 * Starts the reference CM server. Port 0 (the default) takes a free port. The seed goes
 * into a new database only: a `dbFile` that already holds data keeps its data.
 */
export async function startReferenceServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  // An address literal is refused before anything is bound; a name is checked once it resolved.
  if (options.providerStates && isIP(host) !== 0 && !isLoopbackAddress(host)) throw new ProviderStatesOffLoopbackError(host);
  // Before the database: a missing addon or keytab leaves nothing to clean up.
  const negotiate = options.negotiate ? await NegotiateAuthenticator.create(options.negotiate) : undefined;
  const store = new Store(options.dbFile, options.auditRows === undefined ? {} : { auditRows: options.auditRows });
  let seeded = false;
  try {
    if (store.getMeta('seeded') === undefined) {
      seeded = true;
      applySeed(store, options.seed ?? defaultSeed());
      store.setMeta('seeded', new Date().toISOString());
    }
  } catch (err) {
    store.close();
    throw err;
  }
  let loopback = true;
  let closing = false;
  const auth: RequestAuthenticator = negotiate ?? new Authenticator(store, () => loopback);
  const app = createApp({
    store,
    auth,
    routes: allRoutes,
    providerStates: options.providerStates ? (body) => handleProviderStateRequest(store, body) : undefined,
    isClosing: () => closing,
    logError: options.quiet
      ? undefined
      : (id, err) => process.stderr.write(`cmcard serve: internal error ${id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`),
  });
  // requireHostHeader off: Node would answer a missing Host with a bare 400; the app answers it in JSON.
  const headersTimeout = options.timeouts?.headers ?? 10_000;
  const requestTimeout = options.timeouts?.request ?? 30_000;
  const server: Server = createServer(
    {
      keepAliveTimeout: 5_000,
      requestTimeout,
      headersTimeout,
      requireHostHeader: false,
      // Node looks for late requests every 30 s by default, so a 10 s limit could take 40 s.
      connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.floor(headersTimeout / 4))),
    },
    app.handle,
  );
  server.on('clientError', app.onClientError);
  server.on('checkContinue', app.onCheckContinue);
  server.on('checkExpectation', app.onCheckExpectation);
  server.on('connect', app.onConnect);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      // Decided here, before the first connection is read: the listening callback runs first.
      const bound = (server.address() as AddressInfo).address;
      loopback = isLoopbackAddress(bound);
      if (options.providerStates && !loopback) {
        server.close();
        reject(new ProviderStatesOffLoopbackError(bound));
        return;
      }
      resolve();
    });
  }).catch((err: unknown) => {
    store.close();
    throw err;
  });
  const address = server.address() as AddressInfo;
  const origin = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${origin}:${address.port}`;

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        store.close();
        resolve();
      });
      // Idle keep-alive connections would hold close() open; busy ones finish their request first.
      server.closeIdleConnections();
    });
    return closed;
  };
  return { url, close, store, seeded, loopback };
}
