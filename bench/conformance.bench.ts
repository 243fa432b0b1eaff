// Wall time of `cmcard conformance` against the embedded server, process start to exit
// (issue 5: target under 2 s on the 2-core machines), beside one Pact provider
// verification (`cmcard verify-pact`) and, as the baseline, `cmcard --version` (Node
// start-up plus loading the CLI) in the same run. Spawns the built bin: bench/ does not
// import harness/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../harness/cli.js');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

interface Timing {
  label: string;
  runs: number[];
  exitCodes: number[];
}

function time(label: string, args: string[], runs: number): Timing {
  const out: Timing = { label, runs: [], exitCodes: [] };
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, PACT_DO_NOT_TRACK: 'true' }, encoding: 'utf8', timeout: 120_000 });
    out.runs.push(performance.now() - started);
    out.exitCodes.push(r.status ?? -1);
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number): string => `${Math.round(x)} ms`;

export default async function run(): Promise<string> {
  // Wall times on a shared machine swing with its load: print it beside the numbers.
  const load = loadavg()[0]!.toFixed(1);
  const baseline = time('`cmcard --version` (baseline: Node start + CLI load)', ['--version'], 5);
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-bench-'));
  const reportPath = join(dir, 'report.json');
  const conformance = time('`cmcard conformance` (embedded server, full suite)', ['conformance', '--report', `json:${reportPath}`], 5);
  // The run's own clock (first case to last, from the last run's JSON report): what is left is start-up.
  const suiteMs = (JSON.parse(readFileSync(reportPath, 'utf8')) as { durationMs: number }).durationMs;
  rmSync(dir, { recursive: true, force: true });
  const pact = time('`cmcard verify-pact` (committed pact, embedded server)', ['verify-pact'], 3);
  const base = median(baseline.runs);
  const row = (t: Timing): string => {
    const ok = t.exitCodes.every((c) => c === 0);
    return `| ${t.label} | ${t.runs.length} | ${ms(median(t.runs))} | ${ms(Math.min(...t.runs))} | ${ms(Math.max(...t.runs))} | ${(median(t.runs) / base).toFixed(1)}x | ${ok ? '0' : `not all 0: ${[...new Set(t.exitCodes)].join(', ')}`} |`;
  };
  const cpu = cpus();
  const verdict = median(conformance.runs) < 2000 ? 'met' : 'NOT met';
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
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; 1-minute load average at the start: ${load}.`,
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
