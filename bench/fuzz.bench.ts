// `cmcard fuzz` speed beside plain conformance requests, in the same bench run, and the
// long clean runs on the reference server (issue 14). Spawns the built bin as a user
// would (bench/ does not import harness/):
//
// - rounds, alternating: `cmcard conformance` against its embedded server (requests/s =
//   the exchanges its JSON report holds / the report's durationMs), then `cmcard fuzz
//   --runs N` against its embedded server (sequences/s and steps/s from its last line,
//   the engine's own clock); target: fuzz steps/s >= half of conformance requests/s.
//   Beside them, for scale, `cmcard load --concurrency 1`: one verified request after
//   the other and nothing else, the plainest sequential requests the harness makes;
// - once: `cmcard fuzz --runs 2000` in memory (the embedded server) and against
//   `cmcard serve --db FILE` (a config file with lifecycle on): both must break nothing.
//
// Run: npm run bench -- fuzz (CMCARD_BENCH_FUZZ_RUNS, CMCARD_BENCH_FUZZ_ROUND_RUNS, CMCARD_BENCH_ROUNDS to change).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSeed, describeSeed } from '../reference-server/index.js';
import { median, startServe } from './serve-child.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'dist/bin/cmcard.js');
const LONG_RUNS = Number(process.env.CMCARD_BENCH_FUZZ_RUNS ?? 2000);
const ROUND_RUNS = Number(process.env.CMCARD_BENCH_FUZZ_ROUND_RUNS ?? 300);
const ROUNDS = Number(process.env.CMCARD_BENCH_ROUNDS ?? 3);
const LOAD_EXCHANGES = 3000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cmcard(args: string[], timeoutMs = 15 * 60_000): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

interface FuzzLine {
  sequences: number;
  shrinkRuns: number;
  steps: number;
  seconds: number;
  sequencesPerSecond: number;
  stepsPerSecond: number;
  summary: string;
  code: number | null;
}

/** The last line `cmcard fuzz` prints, and its summary line. */
function readFuzz(r: Run): FuzzLine {
  const m = /^fuzz: (\d+) sequences \((\d+) shrink runs\), (\d+) steps in ([\d.]+) s: ([\d.]+) sequences\/s, ([\d.]+) steps\/s/m.exec(r.stdout);
  if (!m) throw new Error(`cmcard fuzz printed no stats line (exit ${r.code}): ${r.stderr.trim() || r.stdout.slice(-300)}`);
  const summary = /^\d+ passed, \d+ failed, \d+ warnings?, \d+ skipped in \d+ ms$/m.exec(r.stdout)?.[0] ?? '(no summary line)';
  return { sequences: +m[1]!, shrinkRuns: +m[2]!, steps: +m[3]!, seconds: +m[4]!, sequencesPerSecond: +m[5]!, stepsPerSecond: +m[6]!, summary, code: r.code };
}

async function conformanceRate(dir: string): Promise<{ requests: number; ms: number; rate: number }> {
  const path = join(dir, 'conformance.json');
  const r = await cmcard(['conformance', '--report', `json:${path}`]);
  if (r.code !== 0) throw new Error(`cmcard conformance exited ${r.code}: ${r.stderr.trim()}`);
  const report = JSON.parse(readFileSync(path, 'utf8')) as { durationMs: number; cases: Array<{ exchanges: unknown[] }> };
  const requests = report.cases.reduce((n, c) => n + c.exchanges.length, 0);
  return { requests, ms: report.durationMs, rate: (requests / report.durationMs) * 1000 };
}

/** A harness config for the default seed's cards at `url`, lifecycle on (what the embedded server's config holds). */
function seedConfigFile(url: string, path: string): void {
  const described = describeSeed(defaultSeed());
  const cards = described.cards;
  const config = {
    server: url,
    headers: { Authorization: `Bearer ${described.tokens.helpdesk}` },
    forbiddenHeaders: { Authorization: `Bearer ${described.tokens.user}` },
    lifecycle: true,
    cards,
  };
  writeFileSync(path, JSON.stringify(config));
}

/** `cmcard load --concurrency 1 --exchanges N --json` against its embedded server: exchanges/s. */
async function sequentialLoadRate(): Promise<number> {
  const r = await cmcard(['load', '--concurrency', '1', '--exchanges', String(LOAD_EXCHANGES), '--json']);
  if (r.code !== 0) throw new Error(`cmcard load exited ${r.code}: ${r.stderr.trim()}`);
  return (JSON.parse(r.stdout.trimEnd().split('\n').pop()!) as { exchangesPerSecond: number }).exchangesPerSecond;
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

export default async function run(): Promise<string> {
  const load = loadavg()[0]!.toFixed(1);
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-fuzz-bench-'));
  try {
    await conformanceRate(dir); // warm-up: disk cache, JIT of the bin's modules
    const conf: number[] = [];
    const sequential: number[] = [];
    const fuzz: FuzzLine[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      conf.push((await conformanceRate(dir)).rate);
      sequential.push(await sequentialLoadRate());
      const f = readFuzz(await cmcard(['fuzz', '--runs', String(ROUND_RUNS), '--seed', String(100 + round)]));
      if (f.code !== 0) throw new Error(`cmcard fuzz broke something on the embedded server (exit ${f.code}): ${f.summary}`);
      fuzz.push(f);
    }
    const confRate = median(conf);
    const stepRate = median(fuzz.map((f) => f.stepsPerSecond));
    const ratio = stepRate / confRate;

    const memory = readFuzz(await cmcard(['fuzz', '--runs', String(LONG_RUNS), '--seed', '2026']));
    const db = join(dir, 'cm.db');
    const { url, child } = await startServe(['--db', db]);
    let onDisk: FuzzLine;
    try {
      const config = join(dir, 'db.json');
      seedConfigFile(url, config);
      onDisk = readFuzz(await cmcard(['fuzz', '--config', config, '--runs', String(LONG_RUNS), '--seed', '2027']));
    } finally {
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
    }
    const cpu = cpus();
    const longRow = (label: string, f: FuzzLine): string =>
      `| ${label} | ${n(f.sequences)} | ${n(f.steps)} | ${f.seconds.toFixed(1)} s | ${n(f.sequencesPerSecond)} | ${n(f.stepsPerSecond)} | ${f.summary.replace(/ in \d+ ms$/, '')} | ${f.code} |`;
    return [
      '## Fuzzing (`bench/fuzz.bench.ts`)',
      '',
      `${ROUNDS} alternating rounds against each command's own embedded server: \`cmcard conformance\` (requests/s: the exchanges in its JSON report over the report's durationMs) and \`cmcard fuzz --runs ${ROUND_RUNS}\` (its last line, the engine's own clock; every step is one HTTP request). Medians.`,
      '',
      '| run | rounds | median |',
      '|---|---|---:|',
      `| \`cmcard conformance\`, requests/s (baseline) | ${conf.map(n).join(', ')} | ${n(confRate)} |`,
      `| \`cmcard load --concurrency 1 --exchanges ${LOAD_EXCHANGES}\`, exchanges/s (for scale) | ${sequential.map(n).join(', ')} | ${n(median(sequential))} |`,
      `| \`cmcard fuzz\`, HTTP steps/s | ${fuzz.map((f) => n(f.stepsPerSecond)).join(', ')} | ${n(stepRate)} |`,
      `| \`cmcard fuzz\`, sequences/s | ${fuzz.map((f) => n(f.sequencesPerSecond)).join(', ')} | ${n(median(fuzz.map((f) => f.sequencesPerSecond)))} |`,
      '',
      `Fuzz steps / conformance requests: **${(ratio * 100).toFixed(0)}%** (target >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'}); fuzz steps / sequential load exchanges: ${((stepRate / median(sequential)) * 100).toFixed(0)}%; ${median(fuzz.map((f) => f.steps / f.sequences)).toFixed(1)} steps per sequence.`,
      '',
      `Long clean runs on the reference server (target: nothing breaks in ${n(LONG_RUNS)} sequences):`,
      '',
      '| server | sequences | steps | time | sequences/s | steps/s | invariants | exit |',
      '|---|---:|---:|---:|---:|---:|---|---:|',
      longRow('embedded, in memory (`cmcard fuzz --runs ' + LONG_RUNS + ' --seed 2026`)', memory),
      longRow('`cmcard serve --db FILE` (`--config`, lifecycle on, `--seed 2027`)', onDisk),
      '',
      `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; 1-minute load average at the start: ${load}, at the end: ${loadavg()[0]!.toFixed(1)}.`,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
