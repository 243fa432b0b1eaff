// Wall time of `cmcard conformance` against the embedded server, process start to exit
// (target under 2 s on the 2-core machines), beside one Pact provider verification
// (`cmcard verify-pact`) and, as the baseline, `cmcard --version` (Node start-up plus
// loading the CLI) in the same run; then the same suite against a correct server 150 ms
// away (the reference server behind a latency-injecting proxy): target at most 2 s.
// Spawns the built bin: bench/ does not import harness/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { defaultSeed, describeSeed, startReferenceServer } from '../reference-server/index.js';
import { startLatencyProxy } from './latency-proxy.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../bin/cmcard.js');
/** The added latency of the far server, per request. */
const LATENCY_MS = 150;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

interface Timing {
  label: string;
  runs: number[];
  exitCodes: number[];
}

function time(label: string, args: string[], runs: number, bin = BIN): Timing {
  const out: Timing = { label, runs: [], exitCodes: [] };
  for (let i = 0; i < runs; i++) once(out, args, bin);
  return out;
}

function once(into: Timing, args: string[], bin: string): void {
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: ROOT,
    env: { ...process.env, PACT_DO_NOT_TRACK: 'true' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  into.runs.push(performance.now() - started);
  into.exitCodes.push(r.status ?? -1);
}

/**
 * CMCARD_BENCH_CONFORMANCE_AGAINST=/path/to/another/build/dist/bin/cmcard.js (or dist/harness/cli.js before the bin was bundled): that build's
 * embedded conformance run, interleaved round by round with this one's (so both see the
 * same machine load), e.g. the build of the day a target was set.
 */
function against(runs: number, reportPath: string): { ours: Timing; theirs: Timing; bin: string } | null {
  const bin = process.env.CMCARD_BENCH_CONFORMANCE_AGAINST;
  if (!bin) return null;
  const ours: Timing = { label: 'this build', runs: [], exitCodes: [] };
  const theirs: Timing = { label: bin, runs: [], exitCodes: [] };
  for (let i = 0; i < runs; i++) {
    once(theirs, ['conformance'], bin);
    once(ours, ['conformance', '--report', `json:${reportPath}`], BIN);
  }
  return { ours, theirs, bin };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number): string => `${Math.round(x)} ms`;

/** The suite against the reference server behind the latency proxy (async: both answer from this process). */
export async function farServer(runs: number): Promise<{ wall: number[]; suite: number[]; exitCodes: number[]; requests: number }> {
  const seed = defaultSeed();
  const described = describeSeed(seed);
  const server = await startReferenceServer({ host: '127.0.0.1', port: 0, quiet: true, seed });
  const proxy = await startLatencyProxy(server.url, LATENCY_MS);
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-bench-far-'));
  const out = { wall: [] as number[], suite: [] as number[], exitCodes: [] as number[], requests: 0 };
  try {
    const config = join(dir, 'far.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: proxy.url,
        headers: { Authorization: `Bearer ${described.tokens.helpdesk}` },
        forbiddenHeaders: { Authorization: `Bearer ${described.tokens.user}` },
        lifecycle: true,
        cards: described.cards,
      }),
    );
    const report = join(dir, 'far-report.json');
    for (let i = 0; i < runs; i++) {
      const before = proxy.requests();
      const started = performance.now();
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'conformance', '--config', config, '--report', `json:${report}`], {
          cwd: ROOT,
          env: { ...process.env, PACT_DO_NOT_TRACK: 'true' },
          stdio: 'ignore',
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c ?? -1);
        });
      });
      out.wall.push(performance.now() - started);
      out.exitCodes.push(code);
      out.suite.push((JSON.parse(readFileSync(report, 'utf8')) as { durationMs: number }).durationMs);
      out.requests = proxy.requests() - before;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await proxy.close();
    await server.close();
  }
  return out;
}

export default async function run(): Promise<string> {
  // Wall times on a shared machine swing with its load: print it beside the numbers.
  const load = loadavg()[0]!.toFixed(1);
  const baseline = time('`cmcard --version` (baseline: Node start + CLI load)', ['--version'], 5);
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-bench-'));
  const reportPath = join(dir, 'report.json');
  const conformance = time('`cmcard conformance` (embedded server, full suite)', ['conformance', '--report', `json:${reportPath}`], 5);
  // The run's own clock (first case to last, from the last run's JSON report): what is left is start-up.
  const suiteMs = (JSON.parse(readFileSync(reportPath, 'utf8')) as { durationMs: number }).durationMs;
  const pact = time('`cmcard verify-pact` (committed pact, embedded server)', ['verify-pact'], 3);
  const pair = against(9, reportPath);
  rmSync(dir, { recursive: true, force: true });
  const base = median(baseline.runs);
  const row = (t: Timing): string => {
    const ok = t.exitCodes.every((c) => c === 0);
    return `| ${t.label} | ${t.runs.length} | ${ms(median(t.runs))} | ${ms(Math.min(...t.runs))} | ${ms(Math.max(...t.runs))} | ${(median(t.runs) / base).toFixed(1)}x | ${ok ? '0' : `not all 0: ${[...new Set(t.exitCodes)].join(', ')}`} |`;
  };
  const far = await farServer(3);
  const cpu = cpus();
  const verdict = median(conformance.runs) < 2000 ? 'met' : 'NOT met';
  const farVerdict = median(far.suite) <= 2000 ? 'met' : 'NOT met';
  return [
    '## Conformance suite wall time',
    '',
    `Process start to exit, sequential runs, one after the other in one bench run. Target: the full suite under 2 s (${verdict}: median ${ms(median(conformance.runs))}).`,
    '',
    '| command | runs | median | min | max | vs baseline | exit codes |',
    '|---|---|---|---|---|---|---|',
    row(baseline),
    row(conformance),
    row(pact),
    '',
    `Of a conformance run, the cases themselves took ${ms(suiteMs)} (the report's durationMs); the rest is Node start-up, loading the CLI and booting the embedded server.`,
    '',
    ...(pair
      ? [
          `### Against another build, interleaved (\`CMCARD_BENCH_CONFORMANCE_AGAINST=${pair.bin}\`)`,
          '',
          '| build | runs | median | min | max | exit codes |',
          '|---|---|---|---|---|---|',
          ...[pair.theirs, pair.ours].map(
            (t) =>
              `| ${t.label} | ${t.runs.length} | ${ms(median(t.runs))} | ${ms(Math.min(...t.runs))} | ${ms(Math.max(...t.runs))} | ${t.exitCodes.every((c) => c === 0) ? '0' : `not all 0: ${[...new Set(t.exitCodes)].join(', ')}`} |`,
          ),
          '',
          `This build / the other: **${((median(pair.ours.runs) / median(pair.theirs.runs)) * 100).toFixed(0)}%** of its median wall time.`,
          '',
        ]
      : []),
    `### Against a correct server ${LATENCY_MS} ms away`,
    '',
    `The reference server (every seeded card, lifecycle on) behind a proxy that holds each request ${LATENCY_MS} ms; ${far.requests} requests per run, ` +
      `so one after the other they would take at least ${ms(far.requests * LATENCY_MS)}. Target: the suite in at most 2 s (${farVerdict}: median ${ms(median(far.suite))}).`,
    '',
    '| | runs | median | min | max | exit codes |',
    '|---|---|---|---|---|---|',
    `| the suite (report's durationMs) | ${far.suite.length} | ${ms(median(far.suite))} | ${ms(Math.min(...far.suite))} | ${ms(Math.max(...far.suite))} | ${far.exitCodes.every((c) => c === 0) ? '0' : `not all 0: ${[...new Set(far.exitCodes)].join(', ')}`} |`,
    `| process start to exit | ${far.wall.length} | ${ms(median(far.wall))} | ${ms(Math.min(...far.wall))} | ${ms(Math.max(...far.wall))} | |`,
    '',
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; 1-minute load average at the start: ${load}.`,
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
