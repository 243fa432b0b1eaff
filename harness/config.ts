/**
 * The harness config file (docs/config.md): JSON, `${ENV}` expansion in string values,
 * unknown keys rejected, every error one line naming the key path and the file. Pure
 * except `loadConfig`, which reads the file and the TLS files it names.
 */
import { parseAuth } from './wire/auth/config.js';
import type { AuthConfig } from './wire/auth/types.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../simulator/errors.js';
import { readAdminKey, readAtr, readGuid, type Checked } from '../simulator/validate.js';
import { EXAMPLE, EXAMPLE_CARD } from '../contracts/fixtures.js';
import { checkOrigin } from './wire/origin.js';
import { DEFAULT_BASE_PATH, DEFAULT_TIMEOUT_MS } from './wire/cm-client.js';
import { isObject, show } from './wire/json-values.js';

export { DEFAULT_BASE_PATH, DEFAULT_TIMEOUT_MS };

/** The documented example (docs/protocol.md#the-documented-example), as the pact pins it: a card equal to it enables `example.documented`. */
export const DOCUMENTED_EXAMPLE = {
  reqid: EXAMPLE_CARD.reqid,
  scid: EXAMPLE_CARD.scid,
  cardid: EXAMPLE_CARD.cardid,
  adminKeyHex: EXAMPLE_CARD.adminKey,
  diversifiedKeyBase64: EXAMPLE.diversifiedKey,
  challengeBase64: EXAMPLE.challenge,
  responseBase64: EXAMPLE.response,
} as const;

export interface CardConfig {
  name: string;
  reqid: string;
  scid: string;
  cardid: string;
  /** Lower-case hex; absent when not configured (then the `atr` query parameter is not sent). */
  atr?: string;
  /** The key the server must use for `diversified=false` (24 or 16 bytes). */
  adminKey: Buffer;
  /** The key for `diversified=true`; `'server'` = fetch it from the diversifiedkey endpoint. */
  diversifiedKey?: Buffer | 'server';
}

export interface HarnessTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface HarnessConfig {
  /** Origin, e.g. https://cm.contoso.com (no path). */
  server: string;
  basePath: string;
  headers: Record<string, string>;
  /** A caller the server must refuse; cases that need one are skipped without it (or forbiddenAuth). */
  forbiddenHeaders?: Record<string, string>;
  /** How the caller with rights authenticates (combined with `headers`): negotiate, ntlm, oauth2 or headers. */
  auth?: AuthConfig;
  /** How the caller that must be refused authenticates (combined with `forbiddenHeaders`). */
  forbiddenAuth?: AuthConfig;
  tls?: HarnessTls;
  timeoutMs: number;
  /** The server also implements the request and smart card endpoints. */
  lifecycle: boolean;
  cards: CardConfig[];
  /** Where this config came from, for messages (a file path, or e.g. `embedded server`). */
  source: string;
  /**
   * Header values as written in the file when they use `${VAR}` (before expansion), so a
   * reproduction can say `Bearer ${CM_TOKEN}` instead of a placeholder of its own.
   */
  headerTemplates?: { headers?: Record<string, string>; forbiddenHeaders?: Record<string, string> };
  /** The same for the string fields of `auth` and `forbiddenAuth` (e.g. `"password": "${ALICE_PW}"`). */
  authTemplates?: { auth?: Record<string, string>; forbiddenAuth?: Record<string, string> };
}

export interface ConfigOverrides {
  /** `--server`: replaces (or supplies) the file's `server`. */
  server?: string;
  /** `--timeout`: replaces the file's `timeoutMs`. */
  timeoutMs?: number;
}

export interface ParseOptions extends ConfigOverrides {
  /** Where `${VAR}` values come from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Reads a TLS file (already resolved to an absolute path); default: not allowed. */
  readFile?: (absolutePath: string) => Buffer;
  /** Directory TLS paths are relative to; default the current directory. */
  baseDir?: string;
}

/** Reads and validates a config file. Throws InputError with one line naming the key and the file. */
export function loadConfig(path: string, overrides: ConfigOverrides = {}): HarnessConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read the config file (${errorCode(err)})`);
  }
  const baseDir = dirname(resolve(path));
  return parseConfig(text, path, { ...overrides, baseDir, readFile: (p) => readFileSync(p) });
}

/** `$schema` points an editor at schemas/config.schema.json; the loader checks it is a string and ignores it. */
const TOP_KEYS = ['$schema', 'server', 'basePath', 'headers', 'forbiddenHeaders', 'auth', 'forbiddenAuth', 'tls', 'timeoutMs', 'lifecycle', 'cards'] as const;
const TLS_KEYS = ['ca', 'cert', 'key'] as const;
const CARD_KEYS = ['name', 'reqid', 'scid', 'cardid', 'atr', 'adminKey', 'diversifiedKey'] as const;

/**
 * Parses config text (or an already parsed object). `fileLabel` names the file in every
 * message: `cmcard.json: cards[1].adminKey must be ...`.
 */
export function parseConfig(json: string | unknown, fileLabel: string, options: ParseOptions = {}): HarnessConfig {
  const fail = (path: string, problem: string): never => {
    throw new InputError(`${fileLabel}: ${path ? `${path} ` : ''}${problem}`);
  };
  let raw: unknown = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (err) {
      fail('', `is not valid JSON (${(err instanceof Error ? err.message : String(err)).split('\n')[0]})`);
    }
  }
  const env = options.env ?? process.env;
  const root = expandEnv(raw, '', env, fail);
  if (!isObject(root)) return fail('', 'must hold a JSON object');
  rejectUnknown(root, TOP_KEYS, '', fail);
  if (root.$schema !== undefined && typeof root.$schema !== 'string') fail('$schema', `must be a string (the schema's path or URL), got ${show(root.$schema)}`);

  const serverText = options.server ?? root.server;
  if (serverText === undefined) fail('server', 'is missing (give it in the file or with --server)');
  const server = parseServer(serverText, options.server !== undefined ? '--server' : 'server', fail);

  const basePath = root.basePath === undefined ? DEFAULT_BASE_PATH : parseBasePath(root.basePath, fail);
  const headers = root.headers === undefined ? {} : parseHeaders(root.headers, 'headers', fail);
  const forbiddenHeaders = root.forbiddenHeaders === undefined ? undefined : parseHeaders(root.forbiddenHeaders, 'forbiddenHeaders', fail);
  const auth = root.auth === undefined ? undefined : parseAuth(root.auth, 'auth', fail);
  const forbiddenAuth = root.forbiddenAuth === undefined ? undefined : parseAuth(root.forbiddenAuth, 'forbiddenAuth', fail);
  const tls = root.tls === undefined ? undefined : parseTls(root.tls, options, fail);
  if (tls && !server.startsWith('https:')) fail('tls', `is set but server ${server} is not https://`);

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (options.timeoutMs !== undefined) timeoutMs = options.timeoutMs;
  else if (root.timeoutMs !== undefined) {
    if (typeof root.timeoutMs !== 'number' || !Number.isInteger(root.timeoutMs) || root.timeoutMs < 1) {
      fail('timeoutMs', `must be a positive whole number of milliseconds, got ${show(root.timeoutMs)}`);
    }
    timeoutMs = root.timeoutMs as number;
  }

  if (root.lifecycle !== undefined && typeof root.lifecycle !== 'boolean') fail('lifecycle', `must be true or false, got ${show(root.lifecycle)}`);
  const lifecycle = root.lifecycle === true;

  if (root.cards === undefined) fail('cards', 'is missing: list at least one card the server knows');
  if (!Array.isArray(root.cards)) return fail('cards', `must be an array, got ${show(root.cards)}`);
  if (root.cards.length === 0) fail('cards', 'is empty: list at least one card the server knows');
  const cards = root.cards.map((c, i) => parseCard(c, i, fail));
  const seen = new Set<string>();
  cards.forEach((c, i) => {
    if (seen.has(c.name)) fail(`cards[${i}].name`, `${JSON.stringify(c.name)} is used by an earlier card; names must be unique`);
    seen.add(c.name);
  });

  const headerTemplates = templatesOf(raw, ['headers', 'forbiddenHeaders']);
  const authTemplates = templatesOf(raw, ['auth', 'forbiddenAuth']);
  return {
    server,
    basePath,
    headers,
    ...(forbiddenHeaders ? { forbiddenHeaders } : {}),
    ...(auth ? { auth } : {}),
    ...(forbiddenAuth ? { forbiddenAuth } : {}),
    ...(tls ? { tls } : {}),
    timeoutMs,
    lifecycle,
    cards,
    source: fileLabel,
    ...(headerTemplates ? { headerTemplates } : {}),
    ...(authTemplates ? { authTemplates } : {}),
  };
}

/**
 * The string values of the unexpanded file that name environment variables, in the
 * objects under `keys` (e.g. headers and forbiddenHeaders); undefined when there are none.
 */
function templatesOf<K extends string>(raw: unknown, keys: readonly K[]): Partial<Record<K, Record<string, string>>> | undefined {
  if (!isObject(raw)) return undefined;
  const out: Partial<Record<K, Record<string, string>>> = {};
  for (const key of keys) {
    const map = raw[key];
    if (!isObject(map)) continue;
    const found = Object.fromEntries(Object.entries(map).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].includes('${')));
    if (Object.keys(found).length) out[key] = found;
  }
  return Object.keys(out).length ? out : undefined;
}

/** True when a card is the documented example, which enables `example.documented`. */
export function isDocumentedExample(card: CardConfig): boolean {
  return (
    card.reqid.toLowerCase() === DOCUMENTED_EXAMPLE.reqid &&
    card.scid.toLowerCase() === DOCUMENTED_EXAMPLE.scid &&
    card.cardid.toLowerCase() === DOCUMENTED_EXAMPLE.cardid &&
    card.adminKey.toString('hex') === DOCUMENTED_EXAMPLE.adminKeyHex
  );
}

type Fail = (path: string, problem: string) => never;

/** `${NAME}` in any string value becomes the variable's value; an unset variable is an error. */
function expandEnv(value: unknown, path: string, env: NodeJS.ProcessEnv, fail: Fail): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(path, `has \${${name}}, which is not a valid environment variable name`);
      const v = env[name];
      if (v === undefined) fail(path, `uses \${${name}}, but environment variable ${name} is not set`);
      return v as string;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, `${path}[${i}]`, env, fail));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, path ? `${path}.${k}` : k, env, fail);
    return out;
  }
  return value;
}

function parseServer(value: unknown, path: string, fail: Fail): string {
  if (typeof value !== 'string') return fail(path, `must be a URL string, got ${show(value)}`);
  const checked = checkOrigin(value);
  return checked.problem !== undefined ? fail(path, checked.problem) : checked.origin;
}

function parseBasePath(value: unknown, fail: Fail): string {
  if (typeof value !== 'string' || !value.startsWith('/')) return fail('basePath', `must be a path starting with /, got ${show(value)}`);
  if (/[?#\s]/.test(value)) fail('basePath', `must be a plain path (no query, fragment or spaces), got ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
}

function parseHeaders(value: unknown, path: string, fail: Fail): Record<string, string> {
  if (!isObject(value)) return fail(path, `must be an object of header names to string values, got ${show(value)}`);
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) fail(`${path}`, `has an invalid header name ${JSON.stringify(name)}`);
    if (typeof v !== 'string') fail(`${path}.${name}`, `must be a string, got ${show(v)}`);
    if (/[\r\n]/.test(v as string)) fail(`${path}.${name}`, 'must not contain line breaks');
    out[name] = v as string;
  }
  return out;
}

function parseTls(value: unknown, options: ParseOptions, fail: Fail): HarnessTls {
  if (!isObject(value)) return fail('tls', `must be an object with ca, cert, key file paths, got ${show(value)}`);
  rejectUnknown(value, TLS_KEYS, 'tls', fail);
  const out: HarnessTls = {};
  for (const key of TLS_KEYS) {
    const file = value[key];
    if (file === undefined) continue;
    if (typeof file !== 'string' || file.length === 0) fail(`tls.${key}`, `must be a file path, got ${show(file)}`);
    const absolute = resolve(options.baseDir ?? process.cwd(), file as string);
    if (!options.readFile) fail(`tls.${key}`, 'names a file, but this config was not loaded from a file');
    try {
      out[key] = options.readFile!(absolute);
    } catch (err) {
      fail(`tls.${key}`, `names ${absolute}, which cannot be read (${errorCode(err)})`);
    }
  }
  if ((out.cert === undefined) !== (out.key === undefined)) fail(out.cert ? 'tls.key' : 'tls.cert', 'is missing: a client certificate needs both cert and key');
  return out;
}

function parseCard(value: unknown, i: number, fail: Fail): CardConfig {
  const at = `cards[${i}]`;
  if (!isObject(value)) return fail(at, `must be an object, got ${show(value)}`);
  rejectUnknown(value, CARD_KEYS, at, fail);
  let name = `card${i + 1}`;
  if (value.name !== undefined) {
    if (typeof value.name !== 'string' || value.name.trim() === '') fail(`${at}.name`, `must be a non-empty string, got ${show(value.name)}`);
    name = value.name as string;
  }
  const guid = (key: 'reqid' | 'scid' | 'cardid'): string => {
    const v = value[key];
    if (v === undefined) fail(`${at}.${key}`, 'is missing');
    if (typeof v !== 'string') return fail(`${at}.${key}`, `must be a GUID string, got ${show(v)}`);
    return checked(readGuid(v), `${at}.${key}`, fail);
  };
  const card: CardConfig = {
    name,
    reqid: guid('reqid'),
    scid: guid('scid'),
    cardid: guid('cardid'),
    adminKey: key(value.adminKey, `${at}.adminKey`, fail, true),
  };
  if (value.atr !== undefined) {
    if (typeof value.atr !== 'string') fail(`${at}.atr`, `must be a hex string, got ${show(value.atr)}`);
    card.atr = checked(readAtr(value.atr as string), `${at}.atr`, fail);
  }
  if (value.diversifiedKey !== undefined) {
    card.diversifiedKey = value.diversifiedKey === 'server' ? 'server' : key(value.diversifiedKey, `${at}.diversifiedKey`, fail, false);
  }
  return card;
}

function key(value: unknown, path: string, fail: Fail, required: boolean): Buffer {
  if (value === undefined && required) fail(path, 'is missing (the 3DES admin key, 48 or 32 hex digits)');
  const hint = path.endsWith('diversifiedKey') ? ' (or "server")' : '';
  if (typeof value !== 'string') return fail(path, `must be 48 or 32 hex digits (or base64 of 24 or 16 bytes)${hint}, got ${show(value)}`);
  // The kit's problems never echo the key: a malformed key is likely a mistyped real one.
  const read = readAdminKey(value);
  return read.ok ? read.value.key : fail(path, `${read.problem}${hint}`);
}

/** The kit's value, or its problem as this file's one-line error. */
function checked<T>(result: Checked<T>, path: string, fail: Fail): T {
  return result.ok ? result.value : fail(path, result.problem);
}

function rejectUnknown(obj: Record<string, unknown>, allowed: readonly string[], at: string, fail: Fail): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase());
      fail(at ? `${at}.${k}` : k, `is not a known key${near ? ` (did you mean ${near}?)` : ` (known: ${allowed.join(', ')})`}`);
    }
  }
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : err instanceof Error ? err.message : String(err);
}
