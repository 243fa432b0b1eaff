/**
 * Pact provider verification of the committed pact against any server, with per-interaction
 * results. A result says `passed` only when Pact's verifier reported that interaction
 * verified. The others are `failed` (with the mismatches) or `skipped` with the reason: left
 * out by the user's choice (description patterns, tags), not set up (a provider state without
 * a state-change URL, a caller without rights when the caller's credentials were replaced and
 * no forbidden caller was given), or not run by the verifier itself (Pact's PACT_DESCRIPTION,
 * PACT_PROVIDER_STATE and PACT_PROVIDER_NO_STATE narrow its run).
 *
 * The pact's demo credentials are swapped for the ones given, per caller: the interactions
 * of each caller run in their own verifier pass, without the pact's Authorization header and
 * with the caller's headers added by Pact's core (its custom provider headers, which the core
 * also sends with that pass's state-change calls). The core is called directly (in a child
 * process, contracts/core-process.ts) rather than through pact-js's Verifier, whose local
 * proxy (http-proxy) calls the deprecated `util._extend` and so prints DEP0060 on Node 22+.
 */
import { stripVTControlCharacters } from 'node:util';
import { InputError } from '../simulator/errors.js';
import { runCorePasses, CoreProcessError } from './core-process.js';
import { CALLERS } from './fixtures.js';
import { committedPactPath, readPact, statesOf, type PactDocument, type PactInteraction } from './pact-file.js';
import { checkChoice, planInteractions, type InteractionChoice } from './select.js';

export type { InteractionChoice } from './select.js';

export interface VerifyOptions extends InteractionChoice {
  /** The provider's origin, e.g. http://127.0.0.1:8080. */
  server: string;
  /** Default: the committed contracts/pacts/cmcard-mim-cm.json. */
  pactFile?: string;
  /** Pact state-change URL: POST {state, params, action}. Without it, interactions with states are skipped. */
  statesUrl?: string;
  /**
   * The server already holds the documented example card (ids a9b4b42c-..., all-zero default
   * key, the documented diversified key), as a server seeded like the documentation does:
   * interactions whose only state is that card run without a state-change URL.
   */
  documentedExample?: boolean;
  /** Sent instead of the pact's help-desk credentials (`Authorization: Bearer demo-helpdesk`). */
  headers?: Record<string, string>;
  /** Sent instead of the pact's no-rights credentials (`Authorization: Bearer demo-user`). */
  forbiddenHeaders?: Record<string, string>;
  /** Per request, ms (default 10000). */
  timeoutMs?: number;
  /** The verifier's environment (default process.env); Pact's filter variables in it narrow the run. */
  env?: NodeJS.ProcessEnv;
  /** Called with the verifier's own report of each pass when the pass ends. */
  onReport?: (text: string) => void;
  /** Keep the ANSI colour codes of the verifier's report (default false: plain text). */
  colour?: boolean;
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
  /** The verifier's own report of its passes (plain text unless `colour`). */
  report: string;
}

/** The verifier could not run at all (server unreachable, bad pact, core crash): not a verdict on the server. */
export class VerifyRunError extends Error {
  override readonly name = 'VerifyRunError';
}

/** Pact's own filter variables, read by its core: when set, the core runs only the interactions they select. */
export const PACT_FILTER_VARIABLES = ['PACT_DESCRIPTION', 'PACT_PROVIDER_STATE', 'PACT_PROVIDER_NO_STATE'] as const;

export async function verifyPact(options: VerifyOptions): Promise<VerifyResult> {
  const pactFile = options.pactFile ?? committedPactPath();
  const server = checkUrl(options.server, 'server');
  const statesUrl = options.statesUrl === undefined ? undefined : checkUrl(options.statesUrl, 'states URL');
  const pact = readPact(pactFile);
  checkChoice(pact, options);
  const env = options.env ?? process.env;

  const planned = planInteractions(pact, options, {
    statesUrl: statesUrl !== undefined,
    documentedExample: options.documentedExample === true,
    helpdeskReplaced: options.headers !== undefined,
    forbiddenGiven: options.forbiddenHeaders !== undefined,
  });
  const toRun = planned.filter((p) => p.skip === undefined).map((p) => p.interaction);
  const run =
    toRun.length > 0
      ? await runVerifier({ ...pact, interactions: toRun }, server, statesUrl, env, options)
      : { verdicts: new Map<string, Verdict>(), report: '' };

  const notRun = notRunReason(env);
  const results: InteractionResult[] = planned.map(({ interaction, skip }) => {
    const base = { description: interaction.description, states: statesOf(interaction) };
    if (skip !== undefined) return { ...base, outcome: 'skipped', message: skip };
    const verdict = run.verdicts.get(interaction.description);
    if (verdict === undefined) return { ...base, outcome: 'skipped', message: notRun };
    return verdict.ok ? { ...base, outcome: 'passed', message: '' } : { ...base, outcome: 'failed', message: verdict.message };
  });
  const summary = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) summary[r.outcome] += 1;
  return { pactFile, results, summary, report: run.report };
}

/** Why the verifier reported nothing for an interaction it was given. */
function notRunReason(env: NodeJS.ProcessEnv): string {
  const set = PACT_FILTER_VARIABLES.filter((name) => (env[name] ?? '') !== '');
  if (set.length > 0) return `not run by the verifier: ${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set`;
  return 'not run by the verifier: it reported no result for it';
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
    request.matchingRules = {
      ...request.matchingRules,
      header: Object.fromEntries(Object.entries(request.matchingRules.header).filter(([name]) => !isAuth(name))),
    };
  }
  return { ...interaction, request };
}

interface Verdict {
  ok: boolean;
  /** The mismatches, one per line, when not ok. */
  message: string;
}

/**
 * Verifies the interactions in passes, one per set of replacement headers (at most three:
 * as in the pact, the help-desk caller's, the no-rights caller's); returns the verdict of
 * each interaction the verifier reported on, by description, and its report.
 */
async function runVerifier(
  pact: PactDocument,
  server: string,
  statesUrl: string | undefined,
  env: NodeJS.ProcessEnv,
  options: VerifyOptions,
): Promise<{ verdicts: Map<string, Verdict>; report: string }> {
  const groups = new Map<Record<string, string> | undefined, PactInteraction[]>();
  for (const interaction of pact.interactions) {
    const replacement = replacementFor(interaction, options);
    groups.set(replacement, [...(groups.get(replacement) ?? []), replacement === undefined ? interaction : withoutAuthorization(interaction)]);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const passes = [...groups].map(([headers, interactions]) => ({
    pact: { ...pact, interactions },
    server,
    ...(statesUrl !== undefined ? { statesUrl } : {}),
    ...(headers !== undefined ? { headers } : {}),
    timeoutMs,
  }));
  // Only a guard against a hung core: each request and state change has its own timeout.
  const deadlineMs = (pact.interactions.length * 5 + 5) * timeoutMs;
  let run: Awaited<ReturnType<typeof runCorePasses>>;
  try {
    run = await runCorePasses(passes, { env, deadlineMs });
  } catch (err) {
    if (err instanceof CoreProcessError) throw new VerifyRunError(err.message);
    throw err;
  }
  const stateFailures = stateChangeFailures(run.log);
  const verdicts = new Map<string, Verdict>();
  const reports: string[] = [];
  run.raw.forEach((raw, i) => {
    const parsed = parseResults(raw, passes[i]!.pact, stateFailures);
    for (const [description, verdict] of parsed.verdicts) verdicts.set(description, verdict);
    const report = options.colour === true ? parsed.report : stripVTControlCharacters(parsed.report);
    reports.push(report);
    options.onReport?.(report);
  });
  return { verdicts, report: reports.join('') };
}

interface CoreResults {
  result?: boolean;
  /** One per interaction run: `result` is "OK" or "Error". */
  interactionResults?: Array<{ description?: string; result?: string }>;
  /** `interaction` reads "Verifying a pact between A and B Given S - <description>". */
  errors?: Array<{ interaction?: string; mismatch?: unknown }>;
  /** The report the core printed, line by line. */
  output?: string[];
}

/** One pass's JSON results (pactffi_verifier_json): the verdict of each interaction it ran, and its report. */
function parseResults(raw: string, pact: PactDocument, stateFailures: Map<string, string>): { verdicts: Map<string, Verdict>; report: string } {
  let parsed: CoreResults;
  try {
    parsed = JSON.parse(raw) as CoreResults;
  } catch {
    throw new VerifyRunError(`the Pact verifier did not run: ${raw.split('\n')[0]}`);
  }
  const known = new Set(pact.interactions.map((i) => i.description));
  const verdicts = new Map<string, Verdict>();
  const errors = parsed.errors ?? [];
  for (const r of parsed.interactionResults ?? []) {
    if (r.description === undefined) continue;
    const description = r.description;
    if (!known.has(description)) throw new VerifyRunError(`the Pact verifier reported an unknown interaction: ${description}`);
    if (r.result === 'OK') {
      verdicts.set(description, { ok: true, message: '' });
      continue;
    }
    const mine = errors.filter((e) => e.interaction === description || (e.interaction ?? '').endsWith(` - ${description}`));
    const lines = mine.length > 0 ? mine.map((e) => describeMismatch(e.mismatch)) : [`verification ${r.result ?? 'failed'}`];
    if (lines.some((l) => l.includes('state change handlers has failed'))) {
      const interaction = pact.interactions.find((i) => i.description === description)!;
      for (const state of new Set(statesOf(interaction))) {
        const why = stateFailures.get(state);
        if (why !== undefined) lines.push(`provider state ${JSON.stringify(state)} could not be set up: ${why}`);
      }
    }
    verdicts.set(description, { ok: false, message: stripVTControlCharacters(lines.join('\n')) });
  }
  if (parsed.result === false && [...verdicts.values()].every((v) => v.ok)) {
    throw new VerifyRunError(
      `the Pact verifier failed without naming an interaction: ${stripVTControlCharacters((parsed.output ?? []).join(' ')).slice(0, 300)}`,
    );
  }
  return { verdicts, report: (parsed.output ?? []).map((line) => `${line}\n`).join('') };
}

/**
 * The core logs why a state change failed (`Provider setup state change for 'S' has failed -
 * MismatchResult::Error("Invalid status code: 404", None)`) but its JSON results only say
 * that one failed: state name -> the reason, from the child's captured log.
 */
function stateChangeFailures(log: string): Map<string, string> {
  const failures = new Map<string, string>();
  for (const line of stripVTControlCharacters(log).split('\n')) {
    const m = /state change for '(.+?)' has failed - (.*)$/.exec(line);
    if (m === null) continue;
    const inner = /^MismatchResult::Error\("((?:[^"\\]|\\.)*)"/.exec(m[2]!.trim());
    failures.set(m[1]!, (inner?.[1] ?? m[2]!).trim());
  }
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
        const what = (mm.type ?? 'Mismatch')
          .replace(/Mismatch$/, '')
          .replace(/([a-z])([A-Z])/g, '$1 $2')
          .toLowerCase();
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
