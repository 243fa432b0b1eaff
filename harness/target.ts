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
}

export async function resolveTarget(flags: TargetFlags): Promise<Target> {
  const overrides = { ...(flags.server !== undefined ? { server: flags.server } : {}), ...(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {}) };
  if (flags.config !== undefined) return { config: loadConfig(flags.config, overrides), close: async () => {}, embedded: false };
  if (flags.server !== undefined) return { config: serverOnlyConfig(flags.server, flags.timeoutMs), close: async () => {}, embedded: false };
  const embedded = await startEmbedded(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {});
  return { config: embedded.config, close: embedded.close, embedded: true };
}

/**
 * `--server URL` without a config: all we know is the documentation, so test the
 * documented example card (default key 24 zero bytes, the documented diversified key)
 * with the reference server's demo tokens. Enough for a cmcard reference server or a
 * stand-in seeded like the docs; a real CM needs a config file.
 */
export function serverOnlyConfig(server: string, timeoutMs?: number): HarnessConfig {
  const config = withoutLabel(() => parseConfig(
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
  ));
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
