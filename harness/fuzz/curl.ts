/**
 * A step as a copyable curl command. Credentials never appear: each header of the caller
 * with rights is `${CM_<NAME>}` and each of the forbidden caller `${CM_FORBIDDEN_<NAME>}`
 * (set them in the shell first); the made-up credentials of the fuzzer are printed as they
 * are. `-g` keeps curl from globbing braces, `--path-as-is` from tidying odd paths. A
 * caller that authenticates with a mechanism (Kerberos, NTLM, OAuth 2) gets curl's own
 * flags for it, as the conformance reproductions do.
 */
import type { CurlAuth } from '../reproduce.js';
import { GARBAGE_CREDENTIALS, type CallerChoice } from './inputs.js';

export interface CurlCallers {
  /** The caller with rights' header names (values are never used). */
  headers: Record<string, string>;
  forbiddenHeaders?: Record<string, string>;
  /** curl's flags for each caller's mechanism, when its config names one. */
  auth?: CurlAuth;
  forbiddenAuth?: CurlAuth;
}

/** `Authorization` -> `CM_AUTHORIZATION` (rights) or `CM_FORBIDDEN_AUTHORIZATION`. */
export function envName(role: 'rights' | 'forbidden', header: string): string {
  const name = header
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return role === 'rights' ? `CM_${name}` : `CM_FORBIDDEN_${name}`;
}

/** One shell word in single quotes. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `-H "Name: ${ENV}"`: double quotes so the shell expands the variable; the name is escaped for them. */
function envHeader(name: string, env: string): string {
  return `-H "${name.replace(/[\\"$`]/g, (c) => `\\${c}`)}: \${${env}}"`;
}

export function curlCommand(step: { method: string; url: string; caller: CallerChoice; body?: string }, callers: CurlCallers): string {
  const parts = ['curl -i -sS -g --path-as-is'];
  if (step.method !== 'GET') parts.push(`-X ${step.method}`);
  parts.push(`-H ${shellQuote('Accept: application/json')}`);
  if (step.caller.kind === 'rights') {
    for (const name of Object.keys(callers.headers)) parts.push(envHeader(name, envName('rights', name)));
    if (callers.auth) parts.push(callers.auth.args.join(' '));
  }
  if (step.caller.kind === 'forbidden') {
    for (const name of Object.keys(callers.forbiddenHeaders ?? {})) parts.push(envHeader(name, envName('forbidden', name)));
    if (callers.forbiddenAuth) parts.push(callers.forbiddenAuth.args.join(' '));
  }
  if (step.caller.kind === 'garbage') parts.push(`-H ${shellQuote(`Authorization: ${GARBAGE_CREDENTIALS[step.caller.garbage] ?? ''}`)}`);
  if (step.body !== undefined) parts.push(`-H ${shellQuote('Content-Type: application/json')} --data-raw ${shellQuote(step.body)}`);
  parts.push(`'${step.url.replace(/'/g, `'\\''`)}'`);
  return parts.join(' ');
}

/** The variables the curl commands of these callers need, as one sentence; '' when none. */
export function curlEnvNote(kinds: ReadonlySet<CallerChoice['kind']>, callers: CurlCallers): string {
  const vars: string[] = [];
  if (kinds.has('rights')) {
    for (const name of Object.keys(callers.headers)) vars.push(`${envName('rights', name)} to the ${name} header of the caller with rights`);
    vars.push(...(callers.auth?.needs ?? []));
  }
  if (kinds.has('forbidden')) {
    for (const name of Object.keys(callers.forbiddenHeaders ?? {})) vars.push(`${envName('forbidden', name)} to the ${name} header of the forbidden caller`);
    vars.push(...(callers.forbiddenAuth?.needs ?? []));
  }
  return vars.length === 0 ? '' : `Before the curl commands, set ${vars.join(' and ')} (see the config's headers, forbiddenHeaders, auth and forbiddenAuth).`;
}
