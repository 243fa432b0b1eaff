/**
 * `cmcard fuzz`'s engine: fast-check's model-based testing (fc.commands run by
 * fc.asyncModelRun) against a real server over HTTP. It generates sequences, checks every
 * invariant after every step, and when one breaks lets fast-check shrink the sequence to
 * the shortest that still breaks that same invariant. It then goes on searching (a new
 * round, a derived seed) for the invariants that still hold, so one run reports each
 * broken invariant once. Bounded by a number of sequences and by time.
 *
 * It tells a Reporter what happens (events.ts): each invariant is a case; a found break is
 * reported as soon as it is shrunk. It knows no report format and no command.
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { InputError } from '../../simulator/errors.js';
import { redactorFor, type CmSession } from '../config-client.js';
import type { HarnessConfig } from '../config.js';
import { multiplex } from '../event-multiplexer.js';
import type { CaseResult, Reporter, RunReport, RunSummary } from '../events.js';
import { Redactor } from '../redact.js';
import { curlAuth } from '../reproduce.js';
import { commandArbitraries, type FuzzCommand } from './commands.js';
import { renderFinding, type Finding } from './finding.js';
import { INVARIANTS, invariant, type Break, type Invariant, type InvariantId } from './invariants.js';
import { FuzzModel } from './model.js';
import { decodePath, encodePath, replayPathOf } from './replay.js';
import { FuzzSequence, InvariantBroken, type SequenceEnv } from './sequence.js';

type Details = fc.RunDetails<[Iterable<FuzzCommand>]>;

export const DEFAULT_RUNS = 100;
/** The longest sequence fast-check generates. */
export const DEFAULT_MAX_COMMANDS = 24;
/** A run that is given a number of sequences still stops after this long. */
export const DEFAULT_TIME_LIMIT_MS = 10 * 60_000;

export interface FuzzOptions {
  config: HarnessConfig;
  reporter?: Reporter;
  /** Sequences to generate (default 100); with `durationMs` alone, as many as fit. */
  runs?: number;
  /** Stop generating after this long (shrinking included). Default: DEFAULT_TIME_LIMIT_MS. */
  durationMs?: number;
  /** Default: a random one (printed in the report). */
  seed?: number;
  /** Replays exactly the sequence of `seed` and this `--path`, instead of a search. */
  path?: string;
  maxCommands?: number;
  /** The command line that replays a finding, e.g. `(seed, path) => 'cmcard fuzz --seed 1 --path ...'`. */
  replayCommand: (seed: number, path: string) => string;
  tool?: { name: string; version: string };
  /** The run's credentials (auth blocks: Kerberos, NTLM, OAuth 2) and redactor; default: the config's fixed headers. */
  session?: CmSession;
  /** How often progress is reported, at most (ms). */
  progressEveryMs?: number;
}

export interface FuzzStats {
  /** Sequences generated (shrink runs not included). */
  sequences: number;
  /** Sequences run while shrinking. */
  shrinkRuns: number;
  /** HTTP requests sent, shrinking included. */
  steps: number;
  durationMs: number;
  seed: number;
  /** The search stopped at the time limit before its sequences were done. */
  interrupted: boolean;
}

export interface FuzzResult {
  report: RunReport;
  stats: FuzzStats;
  findings: Finding[];
}

/** The invariants a config can exercise, and why the others cannot be. */
export function applicability(config: HarnessConfig): Map<InvariantId, string | null> {
  return new Map(
    INVARIANTS.map((inv) => [inv.id, inv.lifecycle && !config.lifecycle ? 'lifecycle is false in the config: no request or card changes state' : null]),
  );
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const reporter = multiplex([{ name: 'a reporter', reporter: o.reporter ?? {} }]);
  const config = o.config;
  const started = performance.now();
  const seed = o.seed ?? randomSeed();
  const maxCommands = o.maxCommands ?? DEFAULT_MAX_COMMANDS;
  const limitMs = o.durationMs ?? DEFAULT_TIME_LIMIT_MS;
  const runs = o.runs ?? (o.durationMs !== undefined ? Number.MAX_SAFE_INTEGER : DEFAULT_RUNS);
  const replay = o.path !== undefined ? decodePath(o.path) : undefined;
  const applicable = applicability(config);
  const info = {
    tool: o.tool ?? { name: 'cmcard', version: 'dev' },
    kind: 'fuzz' as const,
    server: config.server,
    startedAt: new Date().toISOString(),
    cases: INVARIANTS.map(({ id, title, level }) => ({ id, title, level })),
  };
  reporter.onRunStart?.(info);

  // One redactor for the run: keys the server hands out are masked in everything printed after.
  const redactor = o.session?.redactor ?? redactorFor(config);
  const keys = config.cards.flatMap((c) => [c.adminKey, ...(c.diversifiedKey instanceof Buffer ? [c.diversifiedKey] : [])]);
  const keyFinder = new Redactor([], keys);
  const stats: FuzzStats = { sequences: 0, shrinkRuns: 0, steps: 0, durationMs: 0, seed, interrupted: false };
  const findings: Finding[] = [];
  const results = new Map<InvariantId, CaseResult>();

  // What a sequence stops at: in a search, the first break of an invariant still unbroken
  // (while shrinking, only of the one being shrunk); in a replay, nothing (all collected).
  const open = new Set<InvariantId>([...applicable].filter(([, why]) => why === null).map(([id]) => id));
  // Set inside the property, read after fc.check: a holder, so control-flow narrowing keeps out.
  const track: { shrinking?: InvariantId; lastFailure?: { sequence: FuzzSequence; brk: Break } } = {};
  let lastProgress = 0;
  const progressEvery = o.progressEveryMs ?? 100;
  const progress = (total: number): void => {
    const now = performance.now();
    if (now - lastProgress < progressEvery) return;
    lastProgress = now;
    const of = total === Number.MAX_SAFE_INTEGER ? '' : `/${total}`;
    const doing = track.shrinking ? `, shrinking a break of ${track.shrinking}` : '';
    reporter.onProgress?.({ text: `${stats.sequences}${of} sequences, ${stats.steps} steps, ${findings.length} broken${doing}` });
  };
  const env: SequenceEnv = {
    config,
    redactor,
    ...(o.session ? { session: o.session } : {}),
    keyFinder,
    keys,
    stopsAt: (b) => replay === undefined && open.has(b.invariant) && (track.shrinking === undefined || b.invariant === track.shrinking),
    onStep: () => {
      stats.steps += 1;
    },
  };

  const property = (replayPath: string | undefined, total: number) =>
    fc.asyncProperty(
      fc.commands(commandArbitraries(config.lifecycle), { maxCommands, size: 'max', ...(replayPath !== undefined ? { replayPath } : {}) }),
      async (cmds) => {
        if (track.shrinking) stats.shrinkRuns += 1;
        else stats.sequences += 1;
        const sequence = new FuzzSequence(env);
        try {
          await fc.asyncModelRun(() => ({ model: FuzzModel.fromConfig(config), real: sequence }), cmds);
        } catch (err) {
          if (err instanceof InvariantBroken) {
            track.lastFailure = { sequence, brk: err.brk };
            track.shrinking ??= err.brk.invariant;
          }
          throw err;
        } finally {
          sequence.close();
          progress(total);
        }
        const first = sequence.breaks[0];
        if (replay !== undefined && first) {
          track.lastFailure = { sequence, brk: first };
          throw new InvariantBroken(first);
        }
      },
    );

  const auth = curlAuth(config.auth, 'rights', config.authTemplates?.auth);
  const forbiddenAuth = curlAuth(config.forbiddenAuth, 'forbidden', config.authTemplates?.forbiddenAuth);
  const render = (f: Finding, sequence: FuzzSequence): CaseResult => {
    const message = renderFinding(f, {
      origin: sequence.origin,
      callers: {
        headers: config.headers,
        ...(config.forbiddenHeaders ? { forbiddenHeaders: config.forbiddenHeaders } : {}),
        ...(auth ? { auth } : {}),
        ...(forbiddenAuth ? { forbiddenAuth } : {}),
      },
      replay: o.replayCommand(f.seed, f.path),
      redactor,
    });
    const inv = f.invariant;
    return {
      id: inv.id,
      title: inv.title,
      level: inv.level,
      outcome: inv.level === 'MUST' ? 'failed' : 'warning',
      message,
      durationMs: Math.round(performance.now() - started),
      exchanges: f.steps.map((s) => sequence.recordedExchange(s)),
    };
  };
  const report = (result: CaseResult): void => {
    results.set(result.id as InvariantId, result);
    reporter.onCaseStart?.({ id: result.id, title: result.title, level: result.level });
    reporter.onCaseEnd?.(result);
  };

  if (replay) {
    let details: Details;
    try {
      details = await fc.check(property(replay.replayPath, 1), {
        seed,
        path: replay.path,
        numRuns: 1,
        endOnFailure: true,
        interruptAfterTimeLimit: limitMs,
        markInterruptAsFailure: false,
      });
    } catch (err) {
      // fast-check walks the path without running it; a path that does not fit ends here.
      throw new InputError(
        `--path '${o.path}' cannot be replayed with --seed ${seed} here (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): use the seed, path, config and server of the replay command that was printed`,
      );
    }
    rethrowHarnessError(details);
    if (details.failed && track.lastFailure) {
      const { sequence } = track.lastFailure;
      const seen = new Set<InvariantId>();
      for (const brk of sequence.breaks) {
        if (seen.has(brk.invariant) || applicable.get(brk.invariant) !== null) continue;
        seen.add(brk.invariant);
        const f: Finding = { invariant: invariant(brk.invariant), brk, steps: sequence.steps, seed, path: o.path! };
        findings.push(f);
        report(render(f, sequence));
      }
    }
    stats.interrupted = details.interrupted;
  } else {
    let roundSeed = seed;
    let left = runs;
    while (left > 0 && open.size > 0) {
      const remainingMs = limitMs - (performance.now() - started);
      if (remainingMs <= 0) {
        stats.interrupted = true;
        break;
      }
      Object.assign(track, { shrinking: undefined, lastFailure: undefined });
      const before = stats.sequences;
      const details = await fc.check(property(undefined, runs), {
        seed: roundSeed,
        numRuns: left,
        interruptAfterTimeLimit: remainingMs,
        markInterruptAsFailure: false,
      });
      rethrowHarnessError(details);
      left -= stats.sequences - before;
      if (details.interrupted) stats.interrupted = true;
      const { lastFailure, shrinking } = track;
      if (!details.failed || !lastFailure || !shrinking) break;
      const { sequence, brk } = lastFailure;
      const path = encodePath({ path: details.counterexamplePath ?? '', ...withReplayPath(replayPathOf(details.counterexample)) });
      const f: Finding = {
        invariant: invariant(shrinking),
        brk,
        steps: sequence.steps.slice(0, brk.step),
        seed: roundSeed,
        path,
        found: { sequence: firstRunOf(details.counterexamplePath), shrinkRuns: details.numShrinks },
      };
      findings.push(f);
      report(render(f, sequence));
      open.delete(shrinking);
      if (details.interrupted) break;
      // The next round: a seed of its own, so its replay commands stand alone.
      roundSeed = (roundSeed + 1) | 0;
    }
  }

  stats.durationMs = Math.round(performance.now() - started);
  for (const inv of INVARIANTS) {
    if (results.has(inv.id)) continue;
    const why = applicable.get(inv.id);
    report(why ? skipped(inv, why) : passed(inv, heldMessage(stats, replay !== undefined)));
  }
  const ordered = INVARIANTS.map((inv) => results.get(inv.id)!);
  const out: RunReport = { ...info, durationMs: stats.durationMs, summary: summarise(ordered), results: ordered };
  await reporter.onRunEnd?.(out);
  return { report: out, stats, findings };
}

/** 0 when nothing at MUST level broke, else 1. */
export function exitCodeOf(result: FuzzResult): 0 | 1 {
  return result.report.summary.failed > 0 ? 1 : 0;
}

function heldMessage(stats: FuzzStats, replay: boolean): string {
  if (replay) return `held in the replayed sequence (${stats.steps} steps)`;
  const cut = stats.interrupted ? ', then the time limit ended the search' : '';
  return `held over ${stats.sequences} sequences (${stats.steps} steps, seed ${stats.seed})${cut}`;
}

function passed(inv: Invariant, message: string): CaseResult {
  return { id: inv.id, title: inv.title, level: inv.level, outcome: 'passed', message, durationMs: 0, exchanges: [] };
}

function skipped(inv: Invariant, why: string): CaseResult {
  return { id: inv.id, title: inv.title, level: inv.level, outcome: 'skipped', message: why, durationMs: 0, exchanges: [] };
}

function summarise(results: CaseResult[]): RunSummary {
  const count = (outcome: CaseResult['outcome']) => results.filter((r) => r.outcome === outcome).length;
  return { passed: count('passed'), failed: count('failed'), warnings: count('warning'), skipped: count('skipped') };
}

/** A failure that is not a broken invariant is a bug of the harness (or of fast-check's replay): never a finding. */
function rethrowHarnessError<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const err = details.errorInstance;
  if (err instanceof InvariantBroken) return;
  const text = err instanceof Error ? err.message : String(err);
  throw new Error(`the fuzzer failed outside any invariant (please report it): ${text.split('\n')[0]}`);
}

function withReplayPath(replayPath: string | undefined): { replayPath?: string } {
  return replayPath !== undefined ? { replayPath } : {};
}

/** `36:1:0` -> 37: the run (1-based) that first failed. */
function firstRunOf(path: string | null | undefined): number {
  return Number((path ?? '0').split(':')[0]) + 1;
}

function randomSeed(): number {
  return (Math.random() * 0x7fffffff) | 0;
}
