/**
 * Pact provider verification of the committed pact against any server, with per-interaction
 * results. Interactions that cannot be set up are not run and are reported as skipped with
 * the reason: a provider state without a state-change URL, or a caller without rights
 * when the caller's credentials were replaced and no forbidden caller was given.
 *
 * The pact's demo credentials are swapped for the ones given, per caller: the interactions
 * of each caller run in their own verifier pass, without the pact's Authorization header and
 * with the caller's headers added by Pact's core (its custom provider headers, which the core
 * also sends with that pass's state-change calls). The core is
 * called directly rather than through pact-js's Verifier, whose local proxy (http-proxy)
 * calls the deprecated `util._extend` and so prints DEP0060 on Node 22 and later.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../simulator/errors.js';
import { CALLERS } from './fixtures.js';
import { callerOf, committedPactPath, readPact, statesOf, type PactDocument, type PactInteraction } from './pact-file.js';

export interface VerifyOptions {
  /** The provider's origin, e.g. http://127.0.0.1:8080. */
  server: string;
  /** Default: the committed contracts/pacts/cmcard-mim-cm.json. */
  pactFile?: string;
  /** Pact state-change URL: POST {state, params, action}. Without it, interactions with states are skipped. */
  statesUrl?: string;
  /** Sent instead of the pact's help-desk credentials (`Authorization: Bearer demo-helpdesk`). */
  headers?: Record<string, string>;
  /** Sent instead of the pact's no-rights credentials (`Authorization: Bearer demo-user`). */
  forbiddenHeaders?: Record<string, string>;
  /** Per request, ms (default 10000). */
  timeoutMs?: number;
}

export type InteractionOutcome = 'passed' | 'failed' | 'skipped';

export interface InteractionResult {
  description: string;
  states: string[];
  outcome: InteractionOutcome;
  /** Empty when passed; the mismatches (one per line) when failed; the reason when skipped. */
  message: string;
}

export interface VerifyResult {
  pactFile: string;
  results: InteractionResult[];
  summary: Record<InteractionOutcome, number>;
}

/** The verifier could not run at all (server unreachable, bad pact, core crash): not a verdict on the server. */
export class VerifyRunError extends Error {
  override readonly name = 'VerifyRunError';
}

export async function verifyPact(options: VerifyOptions): Promise<VerifyResult> {
  const pactFile = options.pactFile ?? committedPactPath();
  const server = checkUrl(options.server, 'server');
  const statesUrl = options.statesUrl === undefined ? undefined : checkUrl(options.statesUrl, 'states URL');
  const pact = readPact(pactFile);

  const planned = pact.interactions.map((interaction) => ({ interaction, skip: skipReason(interaction, options, statesUrl) }));
  const toRun = planned.filter((p) => p.skip === undefined).map((p) => p.interaction);
  let failures = new Map<string, string>();
  if (toRun.length > 0) failures = await runVerifier({ ...pact, interactions: toRun }, server, statesUrl, options);

  const results: InteractionResult[] = planned.map(({ interaction, skip }) => {
    const base = { description: interaction.description, states: statesOf(interaction) };
    if (skip !== undefined) return { ...base, outcome: 'skipped', message: skip };
    const failure = failures.get(interaction.description);
    return failure === undefined ? { ...base, outcome: 'passed', message: '' } : { ...base, outcome: 'failed', message: failure };
  });
  const summary = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) summary[r.outcome] += 1;
  return { pactFile, results, summary };
}

function skipReason(interaction: PactInteraction, options: VerifyOptions, statesUrl: string | undefined): string | undefined {
  const states = statesOf(interaction);
  if (states.length > 0 && statesUrl === undefined) {
    return `needs provider state ${states.map((s) => JSON.stringify(s)).join(' and ')}: give a state-change URL (--states-url)`;
  }
  if (callerOf(interaction) === 'noRights' && options.headers !== undefined && options.forbiddenHeaders === undefined) {
    return 'needs a caller without rights: give its credentials (--forbidden-header) along with --header';
  }
  return undefined;
}

/** The headers that replace an interaction's demo credentials, or undefined to send it as the pact has it. */
function replacementFor(interaction: PactInteraction, options: VerifyOptions): Record<string, string> | undefined {
  const headers = interaction.request.headers ?? {};
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization');
  const auth = entry === undefined ? undefined : Array.isArray(entry[1]) ? entry[1][0] : entry[1];
  return auth === CALLERS.helpdesk ? options.headers : auth === CALLERS.noRights ? options.forbiddenHeaders : undefined;
}

/** The interaction without its Authorization header (and that header's matching rule): the core adds the caller's own. */
function withoutAuthorization(interaction: PactInteraction): PactInteraction {
  const isAuth = (name: string): boolean => name.toLowerCase() === 'authorization';
  const headers = Object.fromEntries(Object.entries(interaction.request.headers ?? {}).filter(([name]) => !isAuth(name)));
  const request: PactInteraction['request'] & { matchingRules?: { header?: Record<string, unknown> } } = { ...interaction.request, headers };
  if (request.matchingRules?.header !== undefined) {
    request.matchingRules = { ...request.matchingRules, header: Object.fromEntries(Object.entries(request.matchingRules.header).filter(([name]) => !isAuth(name))) };
  }
  return { ...interaction, request };
}

/**
 * Verifies the interactions in passes, one per set of replacement headers (at most three:
 * as in the pact, the help-desk caller's, the no-rights caller's); returns
 * description -> mismatch text for each failure.
 */
async function runVerifier(pact: PactDocument, server: string, statesUrl: string | undefined, options: VerifyOptions): Promise<Map<string, string>> {
  const passes = new Map<Record<string, string> | undefined, PactInteraction[]>();
  for (const interaction of pact.interactions) {
    const replacement = replacementFor(interaction, options);
    passes.set(replacement, [...(passes.get(replacement) ?? []), replacement === undefined ? interaction : withoutAuthorization(interaction)]);
  }
  const failures = new Map<string, string>();
  for (const [headers, interactions] of passes) {
    const subset = { ...pact, interactions };
    for (const [description, message] of await runCore(subset, server, statesUrl, headers, options.timeoutMs ?? 10_000)) failures.set(description, message);
  }
  return failures;
}

/** One pass of Pact's core verifier over a temporary copy of the pact. */
async function runCore(pact: PactDocument, server: string, statesUrl: string | undefined, headers: Record<string, string> | undefined, timeoutMs: number): Promise<Map<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-verify-'));
  const file = join(dir, 'pact.json');
  writeFileSync(file, JSON.stringify(pact));
  // Loaded here, not at the top: Pact's native core costs every other cmcard command start-up time.
  const { Verifier, setLogLevel } = await import('@pact-foundation/pact-core');
  setLogLevel('error'); // before the Verifier logs its "Verifying Pact Files" at info level
  let raw: string;
  try {
    const verifier = new Verifier({
      providerBaseUrl: server,
      provider: pact.provider.name,
      pactUrls: [file],
      ...(statesUrl !== undefined ? { providerStatesSetupUrl: statesUrl } : {}),
      ...(headers !== undefined ? { customProviderHeaders: headers } : {}),
      timeout: timeoutMs,
      logLevel: 'error',
      failIfNoPactsFound: true,
    });
    raw = await verifier.verify();
  } catch (err) {
    raw = err instanceof Error ? err.message : String(err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return parseFailures(raw, pact);
}

interface CoreResults {
  result?: boolean;
  /** One per interaction run: `result` is "OK" or "Error". */
  interactionResults?: Array<{ description?: string; result?: string }>;
  /** `interaction` reads "Verifying a pact between A and B Given S - <description>". */
  errors?: Array<{ interaction?: string; mismatch?: unknown }>;
  output?: string[];
}

/** The core's JSON results (pactffi_verifier_json): which interactions failed, and why. */
function parseFailures(raw: string, pact: PactDocument): Map<string, string> {
  let parsed: CoreResults;
  try {
    parsed = JSON.parse(raw) as CoreResults;
  } catch {
    throw new VerifyRunError(`the Pact verifier did not run: ${raw.split('\n')[0]}`);
  }
  const failures = new Map<string, string>();
  const errors = parsed.errors ?? [];
  for (const r of parsed.interactionResults ?? []) {
    if (r.result === 'OK' || r.description === undefined) continue;
    const description = r.description;
    const mine = errors.filter((e) => e.interaction === description || (e.interaction ?? '').endsWith(` - ${description}`));
    failures.set(description, mine.length > 0 ? mine.map((e) => describeMismatch(e.mismatch)).join('\n') : `verification ${r.result ?? 'failed'}`);
  }
  const known = new Set(pact.interactions.map((i) => i.description));
  if (parsed.result === false && failures.size === 0) {
    throw new VerifyRunError(`the Pact verifier failed without naming an interaction: ${(parsed.output ?? []).join(' ').slice(0, 300)}`);
  }
  for (const d of failures.keys()) if (!known.has(d)) throw new VerifyRunError(`the Pact verifier reported an unknown interaction: ${d}`);
  return failures;
}

/** The core's mismatch object as readable lines, one per difference (its own sentences, which name expected and actual). */
function describeMismatch(mismatch: unknown): string {
  if (typeof mismatch !== 'object' || mismatch === null) return String(mismatch);
  const m = mismatch as { type?: string; message?: string; mismatches?: unknown[] };
  if (Array.isArray(m.mismatches)) {
    return m.mismatches
      .map((x) => {
        const mm = x as { type?: string; mismatch?: string; expected?: unknown; actual?: unknown };
        const what = (mm.type ?? 'Mismatch').replace(/Mismatch$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
        return `${what}: ${mm.mismatch ?? `expected ${JSON.stringify(mm.expected)} but got ${JSON.stringify(mm.actual)}`}`;
      })
      .join('\n');
  }
  return `error: ${m.message ?? JSON.stringify(mismatch)}`;
}

function checkUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${what} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`${what} must be http:// or https://, got ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
}
