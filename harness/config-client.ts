/** The CM client a harness config describes (kept apart so cm-client.ts never depends on the config). */
import type { CmClientOptions } from './cm-client.js';
import type { HarnessConfig } from './config.js';
import { Redactor } from './redact.js';

/** Server, base path, headers, TLS, timeout, and a redactor that knows every configured credential. */
export function clientOptionsFor(config: HarnessConfig): CmClientOptions {
  return {
    server: config.server,
    basePath: config.basePath,
    headers: config.headers,
    timeoutMs: config.timeoutMs,
    ...(config.tls ? { tls: config.tls } : {}),
    redactor: redactorFor(config),
  };
}

/** Masks the config's headers and forbiddenHeaders values (SPEC.md section 6) wherever they appear. */
export function redactorFor(config: Pick<HarnessConfig, 'headers' | 'forbiddenHeaders'>): Redactor {
  return Redactor.forHeaders(config.headers, config.forbiddenHeaders);
}
