/**
 * The `auth` / `forbiddenAuth` blocks of the config file, validated after `${ENV}`
 * expansion. Every problem is one line naming the key (`auth.password is required for
 * type ntlm`); a value that may be a secret is never repeated in it.
 */
import type { AuthConfig, AuthType } from './types.js';
import { isObject, show } from '../json-values.js';

/** Reports a problem at a key path and does not return (the config loader adds the file name). */
export type AuthFail = (path: string, problem: string) => never;

export const AUTH_TYPES: readonly AuthType[] = ['headers', 'negotiate', 'ntlm', 'oauth2'];

const KEYS: Record<AuthType, { required: readonly string[]; optional: readonly string[] }> = {
  headers: { required: ['headers'], optional: [] },
  negotiate: { required: [], optional: ['spn'] },
  ntlm: { required: ['username', 'password'], optional: ['domain', 'workstation'] },
  oauth2: { required: ['tokenUrl', 'clientId', 'clientSecret'], optional: ['resource', 'scope'] },
};

/** Keys whose values are secrets: never shown, even abbreviated. */
const SECRET_KEYS = new Set(['password', 'clientSecret', 'headers']);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** `HTTP/cm.contoso.com`: a service class, a slash, a host (and an optional port), no realm. */
const SPN = /^[A-Za-z][A-Za-z0-9-]*\/[A-Za-z0-9.-]+(:\d+)?$/;

export function parseAuth(value: unknown, keyPath: string, fail: AuthFail): AuthConfig {
  if (!isObject(value)) return fail(keyPath, `must be an object with a "type" (${AUTH_TYPES.join(', ')}), got ${show(value)}`);
  const type = value.type;
  if (type === undefined) return fail(`${keyPath}.type`, `is missing (one of ${AUTH_TYPES.join(', ')})`);
  if (typeof type !== 'string' || !(AUTH_TYPES as readonly string[]).includes(type)) {
    const near =
      typeof type === 'string'
        ? AUTH_TYPES.find(
            (t) => t === type.toLowerCase() || (type.toLowerCase() === 'kerberos' && t === 'negotiate') || (type.toLowerCase() === 'bearer' && t === 'oauth2'),
          )
        : undefined;
    return fail(`${keyPath}.type`, `must be one of ${AUTH_TYPES.join(', ')}, got ${show(type)}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  const t = type as AuthType;
  const { required, optional } = KEYS[t];
  const allowed = ['type', ...required, ...optional];
  for (const k of Object.keys(value)) {
    if (allowed.includes(k)) continue;
    const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase());
    const elsewhere = (Object.keys(KEYS) as AuthType[]).find((other) => other !== t && [...KEYS[other].required, ...KEYS[other].optional].includes(k));
    fail(
      `${keyPath}.${k}`,
      `is not a key of type ${t}${near ? ` (did you mean ${near}?)` : elsewhere ? ` (it belongs to type ${elsewhere})` : ` (known: ${allowed.join(', ')})`}`,
    );
  }
  for (const k of required) if (value[k] === undefined) fail(`${keyPath}.${k}`, `is required for type ${t}`);
  const str = (k: string, opts: { allowEmpty?: boolean } = {}): string | undefined => {
    const v = value[k];
    if (v === undefined) return undefined;
    const shown = SECRET_KEYS.has(k) ? (typeof v === 'string' ? 'a string' : typeof v) : show(v);
    if (typeof v !== 'string') return fail(`${keyPath}.${k}`, `must be a string, got ${shown}`);
    if (!opts.allowEmpty && v.trim() === '') return fail(`${keyPath}.${k}`, 'must not be empty');
    if (/[\r\n]/.test(v)) return fail(`${keyPath}.${k}`, 'must not contain line breaks');
    return v;
  };

  switch (t) {
    case 'headers':
      return { type: 'headers', headers: parseHeaderMap(value.headers, `${keyPath}.headers`, fail) };
    case 'negotiate': {
      const spn = str('spn');
      if (spn !== undefined && !SPN.test(spn)) {
        fail(`${keyPath}.spn`, `must be a service principal name like HTTP/cm.contoso.com (service/host, no realm), got ${show(spn)}`);
      }
      return spn === undefined ? { type: 'negotiate' } : { type: 'negotiate', spn };
    }
    case 'ntlm': {
      let username = str('username')!;
      const password = str('password', { allowEmpty: true })!;
      let domain = str('domain');
      const workstation = str('workstation');
      // DOMAIN\user as Windows writes it: the domain part is the NTLM domain.
      const slash = username.indexOf('\\');
      if (slash >= 0) {
        const fromName = username.slice(0, slash);
        if (domain !== undefined && domain.toLowerCase() !== fromName.toLowerCase()) {
          fail(`${keyPath}.username`, `names domain ${fromName} but ${keyPath}.domain is ${domain}: give the domain once`);
        }
        domain = fromName;
        username = username.slice(slash + 1);
        if (username === '' || domain === '') fail(`${keyPath}.username`, 'must look like user or DOMAIN\\user');
      }
      return { type: 'ntlm', username, password, ...(domain !== undefined ? { domain } : {}), ...(workstation !== undefined ? { workstation } : {}) };
    }
    case 'oauth2': {
      const tokenUrl = str('tokenUrl')!;
      let url: URL;
      try {
        url = new URL(tokenUrl);
      } catch {
        return fail(`${keyPath}.tokenUrl`, `must be an absolute http(s) URL like https://adfs.contoso.com/adfs/oauth2/token, got ${show(tokenUrl)}`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`${keyPath}.tokenUrl`, `must be an http(s) URL, got ${url.protocol}`);
      if (url.username || url.password) fail(`${keyPath}.tokenUrl`, 'must not hold credentials (give them as clientId and clientSecret)');
      const clientId = str('clientId')!;
      const clientSecret = str('clientSecret')!;
      const resource = str('resource');
      const scope = str('scope');
      return {
        type: 'oauth2',
        tokenUrl,
        clientId,
        clientSecret,
        ...(resource !== undefined ? { resource } : {}),
        ...(scope !== undefined ? { scope } : {}),
      };
    }
  }
}

function parseHeaderMap(value: unknown, path: string, fail: AuthFail): Record<string, string> {
  if (!isObject(value)) return fail(path, `must be an object of header names to string values, got ${show(value)}`);
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!HEADER_NAME.test(name)) fail(path, `has an invalid header name ${JSON.stringify(name)}`);
    if (typeof v !== 'string') fail(`${path}.${name}`, `must be a string, got ${Array.isArray(v) ? 'an array' : typeof v}`);
    if (/[\r\n]/.test(v as string)) fail(`${path}.${name}`, 'must not contain line breaks');
    out[name] = v as string;
  }
  return out;
}
