/**
 * The CM session a harness config describes: the client options (with the run's shared
 * keep-alive connections), the credentials of each
 * caller (built once per run, so an OAuth 2 token or a Kerberos context is shared by every
 * client of the run), a cookie jar per caller, and the run's redactor. Kept apart so the
 * wire never depends on the config.
 */
import type { HarnessConfig } from './config.js';
import { Redactor } from './redact.js';
import { createAuthenticator, createCookieJar, type AuthConfig, type Authenticator } from './wire/auth/index.js';
import { AgentPool, type CmClientOptions } from './wire/cm-client.js';

export interface CmSession {
  /** Options for every CmClient of the run (add onExchange per client). */
  readonly options: CmClientOptions;
  readonly redactor: Redactor;
  /** The authenticator of the caller with rights, if the config has an `auth` block. */
  readonly auth?: Authenticator;
  /** Frees what the mechanisms hold. */
  close(): Promise<void>;
}

/** Opens the session of a config: nothing is sent until a client makes a request. */
export function openSession(config: HarnessConfig, redactor: Redactor = redactorFor(config)): CmSession {
  const ctx = {
    server: config.server,
    timeoutMs: config.timeoutMs,
    ...(config.tls ? { tls: config.tls } : {}),
    onSecret: (value: string) => void redactor.add([value]),
  };
  const auth = config.auth ? createAuthenticator(config.auth, ctx) : undefined;
  const forbiddenAuth = config.forbiddenAuth ? createAuthenticator(config.forbiddenAuth, ctx) : undefined;
  const agents = new AgentPool();
  const options: CmClientOptions = {
    ...clientOptionsFor(config, redactor),
    agents,
    ...(auth ? { auth } : {}),
    ...(forbiddenAuth ? { forbiddenAuth } : {}),
    cookies: () => {
      const jar = createCookieJar(config.server);
      return {
        header: (path) => jar.header(path),
        // A session cookie is a credential: masked from the moment it is set.
        store: (path, setCookie) => {
          jar.store(path, setCookie);
          redactor.add(jar.values());
        },
        values: () => jar.values(),
      };
    },
  };
  return {
    options,
    redactor,
    ...(auth ? { auth } : {}),
    close: async () => {
      agents.destroy();
      await Promise.all([auth?.close?.(), forbiddenAuth?.close?.()]);
    },
  };
}

/** Server, base path, fixed headers, TLS, timeout and the redactor; no credentials mechanism (see openSession). */
export function clientOptionsFor(config: HarnessConfig, redactor: Redactor = redactorFor(config)): CmClientOptions {
  return {
    server: config.server,
    basePath: config.basePath,
    headers: config.headers,
    ...(config.forbiddenHeaders ? { forbiddenHeaders: config.forbiddenHeaders } : {}),
    timeoutMs: config.timeoutMs,
    ...(config.tls ? { tls: config.tls } : {}),
    redactor,
  };
}

/**
 * The redactor of a run: the config's credential values (headers, forbiddenHeaders, the
 * passwords and secrets of auth blocks) and every key its cards hold. Keys fetched from
 * the server and tokens fetched by a mechanism are added as they arrive.
 */
export function redactorFor(config: Pick<HarnessConfig, 'headers' | 'forbiddenHeaders' | 'cards' | 'auth' | 'forbiddenAuth'>): Redactor {
  const keys = config.cards.flatMap((c) => [c.adminKey, ...(c.diversifiedKey instanceof Buffer ? [c.diversifiedKey] : [])]);
  return Redactor.forHeaders(config.headers, config.forbiddenHeaders)
    .add([...secretsOf(config.auth), ...secretsOf(config.forbiddenAuth)])
    .addKeys(keys);
}

function secretsOf(auth: AuthConfig | undefined): string[] {
  if (!auth) return [];
  switch (auth.type) {
    case 'ntlm':
      return [auth.password];
    case 'oauth2':
      return [auth.clientSecret];
    case 'headers':
      return Object.values(auth.headers);
    case 'negotiate':
      return [];
  }
}
