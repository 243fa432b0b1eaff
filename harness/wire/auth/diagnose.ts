/**
 * The first minute: from the first answers a CM server gives (before any case runs), one
 * line that says what is wrong with the way we talk to it, or null when nothing is. Pure:
 * the caller probes and passes what it saw.
 */
import { offeredSchemes, parseChallenges } from './challenges.js';
import { AuthFailure, type AuthConfig } from './types.js';

export interface ProbeAnswer {
  /** e.g. `GET /CertificateManagement/api/v1.0/requests/...`, for the message. */
  request?: string;
  status: number;
  /** Every `WWW-Authenticate` value of the answer. */
  wwwAuthenticate?: readonly string[];
  /** The `Location` header of a redirect. */
  location?: string;
}

export interface ProbeFacts {
  /** The CM server's origin and the configured base path. */
  server: string;
  basePath: string;
  /** The caller probed: its auth block, or fixed headers (`{type: 'headers'}`, empty when none). */
  auth: AuthConfig;
  /** The config key of that caller, for the message (`auth`, `forbiddenAuth`, `headers`). */
  key: string;
  /** The probe's answers, in order. */
  answers: readonly ProbeAnswer[];
  /** The mechanism ran its handshake to the end (NTLM's third message, a Kerberos token, a fresh bearer token) before the 401. */
  handshakeCompleted: boolean;
  /** The mechanism could not produce credentials at all (no ticket, unknown SPN, token endpoint down...). */
  failure?: unknown;
}

/** Schemes a caller's config can answer. */
export function schemesDoneBy(auth: AuthConfig): string[] {
  switch (auth.type) {
    case 'negotiate':
      return ['negotiate'];
    case 'ntlm':
      return ['ntlm', 'negotiate'];
    case 'oauth2':
      return ['bearer'];
    case 'headers': {
      const authorization = Object.entries(auth.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
      const scheme = authorization ? /^\s*([A-Za-z][\w-]*)/.exec(authorization)?.[1] : undefined;
      return scheme ? [scheme.toLowerCase()] : [];
    }
  }
}

/** The config block that answers `scheme`, as the user would write it. */
export function blockFor(scheme: string, key: string): string | null {
  switch (scheme.toLowerCase()) {
    case 'negotiate':
    case 'kerberos':
      return `"${key}": {"type": "negotiate"} (Kerberos as the current user: kinit, a keytab in KRB5_CLIENT_KTNAME, or a domain logon) or {"type": "ntlm", "username": "...", "password": "\${CM_PASSWORD}", "domain": "..."}`;
    case 'ntlm':
      return `"${key}": {"type": "ntlm", "username": "...", "password": "\${CM_PASSWORD}", "domain": "..."}`;
    case 'bearer':
      return `"${key}": {"type": "oauth2", "tokenUrl": "https://<adfs>/adfs/oauth2/token", "clientId": "...", "clientSecret": "\${CM_CLIENT_SECRET}", "resource": "<the CM web API's identifier>"}`;
    case 'basic':
      return `"headers": {"Authorization": "Basic \${CM_BASIC}"} (base64 of user:password)`;
    default:
      return null;
  }
}

function describeConfig(auth: AuthConfig): string {
  if (auth.type !== 'headers') return `is type ${auth.type}`;
  const done = schemesDoneBy(auth);
  if (Object.keys(auth.headers).length === 0) return 'sends no credentials';
  return done.length > 0 ? `sends fixed headers (Authorization: ${capital(done[0]!)})` : 'sends fixed headers without Authorization';
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** Paths of interactive sign-in pages: ADFS (WS-Fed, SAML, OAuth authorize), ASP.NET forms, generic SSO. */
const LOGIN_PAGE = /\/adfs\/(ls|oauth2\/authorize)|wsfed|saml|sso|log-?[io]n|sign-?in|\/auth(orize)?\b|ReturnUrl=|wa=wsignin/i;

/** The one line for what went wrong, or null when the answers show no configuration problem. */
export function diagnose(facts: ProbeFacts): string | null {
  if (facts.failure instanceof AuthFailure) return `${facts.key}: ${facts.failure.message}`;
  return diagnoseRedirect(facts) ?? diagnoseChallenge(facts) ?? diagnoseNotFound(facts);
}

/** A redirect: a login page wants a person at a browser; https wants the https URL. */
export function diagnoseRedirect(facts: ProbeFacts): string | null {
  const answer = facts.answers.find((a) => REDIRECT.has(a.status) && a.location);
  if (!answer) return null;
  let target: URL;
  try {
    target = new URL(answer.location!, facts.server);
  } catch {
    return `the server answers ${answer.status} with a malformed Location header${on(answer)}: the CM REST API answers without redirects; check server and basePath`;
  }
  // Only origin and path: a login URL's query carries state (and sometimes tokens).
  const where = `${target.origin}${target.pathname}`;
  if (LOGIN_PAGE.test(`${target.pathname}${target.search}`)) {
    return `the server redirects to a login page (${where})${on(answer)}: it wants an interactive login (ADFS or forms sign-in), which cmcard cannot do; register a client for the client-credentials grant and use ${blockFor('bearer', authKey(facts.key))}`;
  }
  const from = new URL(facts.server);
  if (target.protocol === 'https:' && from.protocol === 'http:' && target.hostname === from.hostname) {
    return `the server redirects to https (${where})${on(answer)}: set server to ${target.origin}`;
  }
  return `the server redirects${on(answer)} to ${where}: the CM REST API answers without redirects; check server and basePath`;
}

/** A 401: a scheme the config does not do, or complete credentials refused. */
export function diagnoseChallenge(facts: ProbeFacts): string | null {
  const answer = facts.answers.find((a) => a.status === 401);
  if (!answer) return null;
  const offered = offeredSchemes(parseChallenges(answer.wwwAuthenticate ?? []));
  const done = schemesDoneBy(facts.auth);
  const matching = offered.filter((s) => done.includes(s.toLowerCase()));
  if (offered.length > 0 && matching.length === 0) {
    // The negotiate suggestion already names ntlm as the alternative.
    const hasNegotiate = offered.some((s) => s.toLowerCase() === 'negotiate');
    const blocks = offered
      .filter((s) => !(hasNegotiate && s.toLowerCase() === 'ntlm'))
      .map((s) => blockFor(s, authKey(facts.key)))
      .filter((b): b is string => b !== null);
    const unique = [...new Set(blocks)];
    const write = unique.length > 0 ? `: write ${unique.join(', or ')}` : `: cmcard does not speak ${offered.join(' or ')}`;
    return `the server asks for ${offered.join(', ')} (WWW-Authenticate${on(answer)}) but ${facts.key} ${describeConfig(facts.auth)}${write}`;
  }
  if (facts.auth.type === 'headers' && Object.keys(facts.auth.headers).length === 0) {
    return `the server answered 401${on(answer)} and the config sends no credentials: add an "auth" block (negotiate, ntlm or oauth2) or "headers"`;
  }
  if (!facts.handshakeCompleted && facts.auth.type !== 'headers') return null;
  return refused(facts, answer);
}

function refused(facts: ProbeFacts, answer: ProbeAnswer): string {
  const k = facts.key;
  const status = `401${on(answer)}`;
  switch (facts.auth.type) {
    case 'ntlm':
      return `the server refused the NTLM credentials of ${k} (${status} after a complete NTLM handshake): check ${k}.username, ${k}.password and ${k}.domain, and that the account may use the CM server`;
    case 'negotiate':
      return `the server refused the Kerberos ticket of ${k} (${status} after a complete Negotiate handshake): the user may not be allowed, or the server's keytab does not match the SPN (stale key after a service account password change)`;
    case 'oauth2':
      return `the server refused the OAuth 2 access token of ${k} (${status} with a freshly fetched token): check that ${k}.resource or ${k}.scope names the CM web API and that the token endpoint issues tokens the CM server trusts`;
    case 'headers':
      return `the server refused the credentials in ${k} (${status}): check the credential values (they are not shown)`;
  }
}

/** Every endpoint 404: the wrong base path, or the CM REST API switched off. */
export function diagnoseNotFound(facts: ProbeFacts): string | null {
  if (facts.answers.length === 0 || !facts.answers.every((a) => a.status === 404)) return null;
  return `every endpoint answered 404 under ${facts.server}${facts.basePath}: either basePath is wrong (MIM CM serves /CertificateManagement/api/v1.0) or the CM REST API is not enabled on that server (MIM ships it disabled: set Clm.WebApi.Enabled to true in the CM web application's web.config)`;
}

/** The auth block that replaces a caller's fixed headers: `headers` -> `auth`, `forbiddenHeaders` -> `forbiddenAuth`. */
function authKey(key: string): string {
  if (key === 'headers') return 'auth';
  if (key === 'forbiddenHeaders') return 'forbiddenAuth';
  return key;
}

function on(answer: ProbeAnswer): string {
  return answer.request ? ` on ${answer.request}` : '';
}

function capital(scheme: string): string {
  return scheme.length > 0 ? scheme[0]!.toUpperCase() + scheme.slice(1) : scheme;
}
