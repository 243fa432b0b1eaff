import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { EXIT } from '../cli-support.js';
import { openSession } from '../config-client.js';
import { shellQuote } from '../fuzz/curl.js';
import { exitCodeOf, runFuzz, type FuzzStats } from '../fuzz/engine.js';
import { decodePath, parseSeed, replayCommand } from '../fuzz/replay.js';
import { preflight } from '../preflight.js';
import { createReporter, parseReportSpec, prepareReportFiles } from '../reporters/index.js';
import { parseTimeout, resolveTarget } from '../target.js';

interface FuzzFlags {
  server?: string;
  config?: string;
  runs?: string;
  duration?: string;
  seed?: string;
  path?: string;
  report?: string[];
  timeout?: string;
}

/** `cmcard fuzz`: stateful property-based testing of the unblock lifecycle against a server (default: the embedded one). */
export function registerFuzz(program: Command): void {
  program
    .command('fuzz')
    .description('generate random sequences of CM calls, check invariants after every step, shrink what breaks (default: the embedded reference server)')
    .option('--server <url>', "server origin (overrides the config file's server)")
    .option('--config <file>', 'harness config file: cards, keys, headers; "lifecycle": true lets sequences create, close and retire')
    .option('--runs <n>', 'sequences to generate (default 100; the run also stops after 10 minutes)')
    .option('--duration <s>', 'generate sequences for this many seconds instead of a number of them')
    .option('--seed <n>', 'seed of the generator (default: random, printed in the report)')
    .option('--path <p>', 'with --seed: replay exactly the sequence a finding printed')
    .option('--report <fmt:path>', 'also write a report: json:PATH, junit:PATH or html:PATH (repeatable)', (v: string, acc: string[] | undefined) => [
      ...(acc ?? []),
      v,
    ])
    .option('--timeout <ms>', "per-request timeout in milliseconds (default: the config's timeoutMs, or 5000)")
    .addHelpText(
      'after',
      '\nExit codes: 0 no MUST invariant broke, 1 one did (or a report could not be written), 2 usage or config error, 3 server unreachable.',
    )
    .action(async (flags: FuzzFlags) => {
      const specs = (flags.report ?? []).map(parseReportSpec);
      if (flags.runs !== undefined && flags.duration !== undefined) throw new InputError('--runs and --duration exclude each other: give one');
      const runs = flags.runs !== undefined ? positiveInt(flags.runs, '--runs', 'sequences') : undefined;
      const durationMs = flags.duration !== undefined ? positiveSeconds(flags.duration) : undefined;
      const seed = flags.seed !== undefined ? parseSeed(flags.seed) : undefined;
      if (flags.path !== undefined) {
        if (seed === undefined) throw new InputError('--path replays a sequence of one seed: give --seed too (the replay command printed both)');
        if (runs !== undefined || durationMs !== undefined) throw new InputError('--path replays one sequence: drop --runs and --duration');
        decodePath(flags.path);
      }
      const timeoutMs = parseTimeout(flags.timeout);
      const target = await resolveTarget({ ...flags, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      const session = openSession(target.config);
      try {
        // Usage errors first (exit 2), then the server (exit 3) and the credentials (exit 2), then the run.
        await prepareReportFiles(specs);
        await preflight(session, target.config);
        const reporter = createReporter(specs, { console: true });
        const base = ['cmcard fuzz', ...replayFlags(flags)].join(' ');
        const result = await runFuzz({
          config: target.config,
          session,
          reporter,
          ...(runs !== undefined ? { runs } : {}),
          ...(durationMs !== undefined ? { durationMs } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(flags.path !== undefined ? { path: flags.path } : {}),
          replayCommand: (s, p) => replayCommand(base, s, p),
          tool: { name: 'cmcard', version: program.version() ?? 'unknown' },
        });
        process.stdout.write(`${statsLine(result.stats)}\n`);
        process.exitCode = exitCodeOf(result) === 0 && reporter.dropped.length === 0 ? EXIT.OK : EXIT.FAILED;
      } finally {
        await session.close();
        await target.close();
      }
    });
}

/** The flags that choose the server, for the replay command (the seed and path are added to it). */
function replayFlags(flags: FuzzFlags): string[] {
  const out: string[] = [];
  if (flags.config !== undefined) out.push('--config', shellQuote(flags.config));
  if (flags.server !== undefined) out.push('--server', shellQuote(flags.server));
  if (flags.timeout !== undefined) out.push('--timeout', shellQuote(flags.timeout));
  return out;
}

/** The last line of a run, read by bench/fuzz.bench.ts: `fuzz: 2000 sequences (0 shrink runs), 17234 steps in 9.8 s: 204.1 sequences/s, 1758.6 steps/s, seed 42` */
export function statsLine(s: FuzzStats): string {
  const seconds = s.durationMs / 1000;
  const rate = (n: number): string => (seconds > 0 ? (n / seconds).toFixed(1) : '0');
  return (
    `fuzz: ${s.sequences} sequences (${s.shrinkRuns} shrink runs), ${s.steps} steps in ${seconds.toFixed(1)} s: ` +
    `${rate(s.sequences)} sequences/s, ${rate(s.steps)} steps/s, seed ${s.seed}${s.interrupted ? ' (stopped at the time limit)' : ''}`
  );
}

function positiveInt(text: string, flag: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new InputError(`${flag} must be a positive whole number of ${what}, got '${text}'`);
  return Number(text);
}

function positiveSeconds(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InputError(`--duration must be a positive number of seconds, got '${text}'`);
  return Math.round(n * 1000);
}
