/** The CM client and the redaction a harness config describes (kept apart so the wire never depends on the config). */
import type { CmClientOptions } from './wire/cm-client.js';
import type { HarnessConfig } from './config.js';
import { Redactor } from './redact.js';

/** Server, base path, callers, TLS, timeout, and the run's redactor (which knows every configured credential and key). */
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
 * The redactor of a run: the config's credential values (headers, forbiddenHeaders) and
 * every key its cards hold. Keys fetched from the server are added as they arrive.
 */
export function redactorFor(config: Pick<HarnessConfig, 'headers' | 'forbiddenHeaders' | 'cards'>): Redactor {
  const keys = config.cards.flatMap((c) => [c.adminKey, ...(c.diversifiedKey instanceof Buffer ? [c.diversifiedKey] : [])]);
  return Redactor.forHeaders(config.headers, config.forbiddenHeaders).addKeys(keys);
}
