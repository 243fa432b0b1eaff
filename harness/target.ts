/**
 * Which server a harness command talks to: `--config FILE` (with `--server` overriding its
 * origin), `--server URL` alone (the documented example card and the demo tokens), or
 * neither (the embedded reference server on a free loopback port).
 */
import { InputError } from '../simulator/errors.js';
import { DEFAULT_BASE_PATH, DEFAULT_TIMEOUT_MS, DOCUMENTED_EXAMPLE, loadConfig, parseConfig, type HarnessConfig } from './config.js';
import { startEmbedded } from './embedded.js';

export interface Target {
  config: HarnessConfig;
  /** Stops the embedded server, if one was started. */
  close(): Promise<void>;
  embedded: boolean;
}

export interface TargetFlags {
  server?: string;
  config?: string;
  timeoutMs?: number;
  /** `--header`: merged into the config's headers (a name given here replaces the config's). */
  headers?: Record<string, string>;
}

export async function resolveTarget(flags: TargetFlags): Promise<Target> {
  const overrides = {
    ...(flags.server !== undefined ? { server: flags.server } : {}),
    ...(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {}),
  };
  const extra = (config: HarnessConfig): HarnessConfig => withHeaders(config, flags.headers);
  if (flags.config !== undefined) return { config: extra(loadConfig(flags.config, overrides)), close: async () => {}, embedded: false };
  if (flags.server !== undefined) return { config: extra(serverOnlyConfig(flags.server, flags.timeoutMs)), close: async () => {}, embedded: false };
  const embedded = await startEmbedded(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {});
  return { config: extra(embedded.config), close: embedded.close, embedded: true };
}

/** The config with `--header` values merged into its headers; a name given twice (any case) keeps the flag's value. */
export function withHeaders(config: HarnessConfig, headers: Record<string, string> | undefined): HarnessConfig {
  if (!headers || Object.keys(headers).length === 0) return config;
  const given = new Set(Object.keys(headers).map((n) => n.toLowerCase()));
  const keep = <T>(map: Record<string, T> | undefined): Record<string, T> =>
    Object.fromEntries(Object.entries(map ?? {}).filter(([n]) => !given.has(n.toLowerCase())));
  const templates = config.headerTemplates;
  return {
    ...config,
    headers: { ...keep(config.headers), ...headers },
    ...(templates ? { headerTemplates: { ...templates, headers: keep(templates.headers) } } : {}),
  };
}

/** `--header 'Name: value'` (repeatable) as a header map. The value is never echoed: it is likely a credential. */
export function parseHeaderFlags(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const text of values) {
    const colon = text.indexOf(':');
    const name = colon < 0 ? '' : text.slice(0, colon).trim();
    if (colon < 0 || name === '') throw new InputError("--header must look like 'Name: value', e.g. 'Authorization: Bearer ...' (no header name before a ':')");
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InputError(`--header ${JSON.stringify(name.slice(0, 40))} is not a valid header name`);
    const value = text.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw new InputError(`--header ${name}: the value must not contain line breaks or NUL`);
    for (const existing of Object.keys(out)) if (existing.toLowerCase() === name.toLowerCase()) delete out[existing];
    out[name] = value;
  }
  return out;
}

/**
 * `--server URL` without a config: all we know is the documentation, so test the
 * documented example card (default key 24 zero bytes, the documented diversified key)
 * with the reference server's demo tokens. Enough for a cmcard reference server or a
 * stand-in seeded like the docs; a real CM needs a config file.
 */
export function serverOnlyConfig(server: string, timeoutMs?: number): HarnessConfig {
  const config = withoutLabel(() =>
    parseConfig(
      {
        basePath: DEFAULT_BASE_PATH,
        headers: { Authorization: 'Bearer demo-helpdesk' },
        forbiddenHeaders: { Authorization: 'Bearer demo-user' },
        timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
        lifecycle: false,
        cards: [
          {
            name: 'example',
            reqid: DOCUMENTED_EXAMPLE.reqid,
            scid: DOCUMENTED_EXAMPLE.scid,
            cardid: DOCUMENTED_EXAMPLE.cardid,
            adminKey: DOCUMENTED_EXAMPLE.adminKeyHex,
            diversifiedKey: Buffer.from(DOCUMENTED_EXAMPLE.diversifiedKeyBase64, 'base64').toString('hex'),
          },
        ],
      },
      LABEL,
      { server },
    ),
  );
  return { ...config, source: 'the --server defaults (the documented example card)' };
}

const LABEL = 'the --server defaults';

/** Only --server can be wrong here: say so without naming a file the user never wrote. */
function withoutLabel<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputError && err.message.startsWith(`${LABEL}: `)) throw new InputError(err.message.slice(LABEL.length + 2));
    throw err;
  }
}

/** `--timeout MS` as a positive whole number. */
export function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InputError(`--timeout must be a positive whole number of milliseconds, got '${text}'`);
  return Number(text);
}
