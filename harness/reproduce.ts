/**
 * A copyable reproduction of a failing exchange: a `curl` command that sends the same
 * request, with every credential replaced by a shell variable. Where the config file
 * wrote a header as `Bearer ${CM_TOKEN}`, the command says exactly that; otherwise it
 * names a variable after the header (`${CM_TOKEN}` for the token of an Authorization,
 * `${CM_X_API_KEY}`, `${CM_FORBIDDEN_TOKEN}` for the forbidden caller's). A credential cut
 * short on purpose (auth.invalid) is written `${CM_TOKEN%????}`: the same variable minus
 * as many characters. The URL and bodies come from the recorded (redacted) exchange.
 *
 * A caller whose config authenticates with a mechanism gets curl's own: Kerberos
 * `--negotiate -u :` (the ticket from the credential cache, as kinit left it), NTLM
 * `--ntlm -u "DOMAIN\user:${VAR}"`, OAuth 2 `Bearer ${CM_ACCESS_TOKEN}` (a token from the
 * token endpoint); the one-time Authorization the mechanism sent is left out.
 */
import type { HarnessConfig } from './config.js';
import type { RecordedExchange } from './events.js';
import { isSecretHeaderName, type Redactor } from './redact.js';
import type { AuthConfig } from './wire/auth/types.js';
import type { RawExchange } from './wire/cm-client.js';

/** A piece of a shell word: literal text, or an expansion written as is (`${CM_TOKEN}`). */
type Piece = { text: string } | { expansion: string };

interface Credential {
  /** The header name, lower case. */
  name: string;
  value: string;
  /** The whole value as pieces, e.g. [`Bearer `, `${CM_TOKEN}`]. */
  whole: Piece[];
  /** The token alone (the value after its scheme), when the template or the value has one. */
  token?: { value: string; variable: string };
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const SCHEME = /^([A-Za-z][\w-]*)\s+(\S.*)$/;

/** `X-Api-Key` -> `X_API_KEY` */
const envName = (header: string): string =>
  header
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

function parseTemplate(template: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  for (const m of template.matchAll(VARIABLE)) {
    if (m.index > at) out.push({ text: template.slice(at, m.index) });
    out.push({ expansion: m[0] });
    at = m.index + m[0].length;
  }
  if (at < template.length) out.push({ text: template.slice(at) });
  return out;
}

function credentialsOf(config: Pick<HarnessConfig, 'headers' | 'forbiddenHeaders' | 'headerTemplates'>): Credential[] {
  const out: Credential[] = [];
  const add = (map: Record<string, string> | undefined, templates: Record<string, string> | undefined, prefix: string): void => {
    for (const [name, value] of Object.entries(map ?? {})) {
      const template = templates?.[name];
      const scheme = SCHEME.exec(value);
      if (template !== undefined) {
        const pieces = parseTemplate(template);
        // `Scheme ${VAR}`: the variable is the token.
        const tokenVar = /^[A-Za-z][\w-]*\s+\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(template)?.[1];
        out.push({ name: name.toLowerCase(), value, whole: pieces, ...(tokenVar && scheme ? { token: { value: scheme[2]!, variable: tokenVar } } : {}) });
        continue;
      }
      const variable = `CM_${prefix}${name.toLowerCase() === 'authorization' && scheme ? 'TOKEN' : envName(name)}`;
      if (scheme)
        out.push({
          name: name.toLowerCase(),
          value,
          whole: [{ text: `${scheme[1]} ` }, { expansion: `\${${variable}}` }],
          token: { value: scheme[2]!, variable },
        });
      else out.push({ name: name.toLowerCase(), value, whole: [{ expansion: `\${${variable}}` }], token: { value, variable } });
    }
  };
  add(config.headers, config.headerTemplates?.headers, '');
  add(config.forbiddenHeaders, config.headerTemplates?.forbiddenHeaders, 'FORBIDDEN_');
  return out;
}

/** One header value as shell pieces: credentials as variables, the rest as it was sent. */
function valuePieces(name: string, value: string, credentials: Credential[], redactor: Redactor): Piece[] {
  const same = credentials.filter((c) => c.name === name.toLowerCase());
  const exact = same.find((c) => c.value === value) ?? credentials.find((c) => c.value === value);
  if (exact) return exact.whole;
  for (const c of same) {
    // Cut short: the same variable minus as many characters (POSIX ${VAR%???}).
    if (value.length > 0 && value.length < c.value.length && c.value.startsWith(value) && c.token && c.value.endsWith(c.token.value)) {
      const removed = c.value.length - value.length;
      if (removed < c.token.value.length) {
        const cut = `\${${c.token.variable}%${'?'.repeat(removed)}}`;
        return c.whole.map((p) => ('expansion' in p && p.expansion === `\${${c.token!.variable}}` ? { expansion: cut } : p));
      }
    }
  }
  for (const c of credentials) {
    // The token under another scheme, or inside another value.
    if (c.token && c.token.value.length >= 4 && value.includes(c.token.value)) {
      const [before, ...after] = value.split(c.token.value);
      const pieces: Piece[] = [{ text: before ?? '' }];
      for (const rest of after) pieces.push({ expansion: `\${${c.token.variable}}` }, { text: rest });
      return pieces.filter((p) => !('text' in p) || p.text !== '');
    }
  }
  // Anything else that holds a known secret: a variable named after the header.
  if (redactor.text(value) !== value) return [{ expansion: `\${CM_${envName(name)}}` }];
  return [{ text: value }];
}

/** One shell word: single quotes when it is all literal, else double quotes with the literal parts escaped. */
function shellWord(pieces: Piece[]): string {
  if (pieces.every((p) => 'text' in p)) return singleQuoted(pieces.map((p) => ('text' in p ? p.text : '')).join(''));
  return `"${pieces.map((p) => ('text' in p ? p.text.replace(/["\\$`]/g, (c) => `\\${c}`) : p.expansion)).join('')}"`;
}

function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** How curl authenticates as one caller whose config names a mechanism. */
export interface CurlAuth {
  /** Shell words for curl, e.g. `--ntlm -u "CONTOSO\\alice:${ALICE_PW}"`. */
  args: string[];
  /** An Authorization value the mechanism put on the request (the args stand for it). */
  sent: RegExp;
  /** What to set or have before running it, one phrase each (none for Kerberos: the ticket cache). */
  needs: string[];
}

/**
 * curl's flags for a caller that authenticates with `auth` (none for `headers`, whose
 * headers are in the request as sent). `templates`: the auth block's fields as the file
 * wrote them, so a password given as `${ALICE_PW}` is written `${ALICE_PW}` again.
 */
export function curlAuth(auth: AuthConfig | undefined, role: 'rights' | 'forbidden', templates?: Record<string, string>): CurlAuth | undefined {
  const prefix = role === 'rights' ? 'CM_' : 'CM_FORBIDDEN_';
  const whose = role === 'rights' ? 'the caller with rights' : 'the forbidden caller';
  switch (auth?.type) {
    case 'negotiate':
      return { args: ['--negotiate', '-u', ':'], sent: /^Negotiate\b/i, needs: [] };
    case 'ntlm': {
      const user = `${auth.domain !== undefined ? `${auth.domain}\\` : ''}${auth.username}`;
      const written = templates?.password;
      const password: Piece[] = written !== undefined ? parseTemplate(written) : [{ expansion: `\${${prefix}NTLM_PASSWORD}` }];
      const variables = password.flatMap((p) => ('expansion' in p ? [p.expansion.slice(2, -1)] : []));
      return {
        args: ['--ntlm', '-u', shellWord([{ text: `${user}:` }, ...password])],
        sent: /^(NTLM|Negotiate)\b/i,
        needs: variables.map((v) => `${v} to the NTLM password of ${whose}`),
      };
    }
    case 'oauth2':
      return {
        args: ['-H', shellWord([{ text: 'Authorization: Bearer ' }, { expansion: `\${${prefix}ACCESS_TOKEN}` }])],
        sent: /^Bearer\b/i,
        needs: [`${prefix}ACCESS_TOKEN to an access token of ${whose} from ${auth.tokenUrl}`],
      };
    default:
      return undefined;
  }
}

export interface Reproducer {
  /** The curl command for one exchange; `raw` gives the headers as sent (credentials become variables). */
  curl(exchange: RecordedExchange, raw?: RawExchange): string;
}

export function reproducerFor(
  config: Pick<HarnessConfig, 'headers' | 'forbiddenHeaders' | 'headerTemplates' | 'auth' | 'forbiddenAuth' | 'authTemplates' | 'tls'>,
  redactor: Redactor,
): Reproducer {
  const credentials = credentialsOf(config);
  const mechanisms = {
    rights: curlAuth(config.auth, 'rights', config.authTemplates?.auth),
    forbidden: curlAuth(config.forbiddenAuth, 'forbidden', config.authTemplates?.forbiddenAuth),
  };
  return {
    curl(exchange, raw) {
      const mechanism = raw?.caller === 'rights' || raw?.caller === 'forbidden' ? mechanisms[raw.caller] : undefined;
      const parts = ['curl', '-sS', '-i', '-g'];
      const method = exchange.request.method;
      if (method !== 'GET' || exchange.request.body !== undefined) parts.push('-X', singleQuoted(method));
      parts.push(singleQuoted(exchange.request.url));
      const headers: Array<[string, string]> = raw
        ? Object.entries(raw.request.headers).flatMap(([n, v]) =>
            typeof v === 'string' ? [[n, v] as [string, string]] : v.map((x): [string, string] => [n, x]),
          )
        : Object.entries(exchange.request.headers);
      for (const [name, value] of headers) {
        if (mechanism && name.toLowerCase() === 'authorization' && mechanism.sent.test(value)) continue;
        if (!raw && isSecretHeaderName(name)) {
          // Without what was sent, only the name is known: a variable named after it.
          parts.push('-H', shellWord([{ text: `${name}: ` }, { expansion: `\${CM_${envName(name)}}` }]));
          continue;
        }
        // curl drops a header given as `Name:`; `Name;` sends it with an empty value.
        if (value === '') parts.push('-H', singleQuoted(`${name};`));
        else parts.push('-H', shellWord([{ text: `${name}: ` }, ...valuePieces(name, value, credentials, redactor)]));
      }
      if (mechanism) parts.push(...mechanism.args);
      if (exchange.request.body !== undefined) parts.push('--data-raw', singleQuoted(exchange.request.body));
      if (config.tls?.ca) parts.push('--cacert', '"${CM_TLS_CA}"');
      if (config.tls?.cert) parts.push('--cert', '"${CM_TLS_CERT}"', '--key', '"${CM_TLS_KEY}"');
      return parts.join(' ');
    },
  };
}
