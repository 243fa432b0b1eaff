// Load mode against the ceiling of the same endpoint: the reference server runs in its own
// child process (`cmcard serve`); autocannon (raw requests/s, one fixed challenge, no
// checking) and then `cmcard load` (fresh challenge per exchange, every response verified
// by a virtual card; spawned as a user would) hit the same authenticationresponse URL at
// the same concurrency. Target: load >= 80% of autocannon. Run: npm run bench -- load
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'dist/harness/cli.js');
const CONCURRENCY = Number(process.env.CMCARD_BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.CMCARD_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.CMCARD_BENCH_ROUNDS ?? 5);
// A fresh `cmcard load` process needs 1-2 s of JIT before its loop runs at speed (on a busy
// 2-core machine); autocannon gets its warm-up once in this process, the bin one per run.
const WARMUP_S = 2;
// The documented example (DOMAIN.md section 2): the card `cmcard load --server` plays.
const PATH = '/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099/smartcards/17cf063d-e337-4aa9-a822-346554ddd3c9/authenticationresponse?cardid=bc88f13f-83ba-4037-8262-46eba1291c6e&challenge=1hFD%2Bcz%2F0so%3D&diversified=False';
const HEADERS = { authorization: 'Bearer demo-helpdesk' };

interface LoadJson {
  exchanges: number;
  exchangesPerSecond: number;
  wrongCryptograms: number;
  errors: number;
  latencyMs: { p50: number; p95: number; p99: number };
}

/** `cmcard serve` on a free loopback port; resolves with its origin (first stdout line). */
async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('cmcard serve printed no URL within 20 s')), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      ok(line.trim());
    });
    child.once('exit', (code) => fail(new Error(`cmcard serve exited with ${code}`)));
  });
  lines.on('line', () => {}); // keep draining
  return { url, child };
}

async function cannon(url: string, seconds: number): Promise<{ rps: number; ok: number; total: number; p50: number; p99: number }> {
  const r = await autocannon({ url: url + PATH, connections: CONCURRENCY, duration: seconds, headers: HEADERS });
  const total = r.requests.total;
  return { rps: total / (r.duration || seconds), ok: r['2xx'], total, p50: r.latency.p50, p99: r.latency.p99 };
}

function cmcardLoad(url: string, seconds: number): Promise<LoadJson> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, 'load', '--server', url, '--concurrency', String(CONCURRENCY), '--duration', String(seconds), '--warmup', String(WARMUP_S), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`cmcard load exited ${code}: ${err.trim()}`));
      ok(JSON.parse(out.trimEnd().split('\n').pop()!) as LoadJson);
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function run(): Promise<string> {
  const { url, child } = await startServer();
  try {
    await cannon(url, 1); // warm-up: JIT, SQLite pages, sockets
    // Alternating rounds, medians compared: a machine shared with other work drifts, and
    // alternation spreads the drift over both sides instead of loading it onto one.
    const acRuns: Awaited<ReturnType<typeof cannon>>[] = [];
    const loadRuns: LoadJson[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ac = await cannon(url, SECONDS);
      if (ac.ok !== ac.total) throw new Error(`autocannon got ${ac.total - ac.ok} non-2xx answers: the bench URL or token is wrong`);
      acRuns.push(ac);
      const load = await cmcardLoad(url, SECONDS);
      if (load.wrongCryptograms !== 0 || load.errors !== 0) throw new Error(`cmcard load saw ${load.wrongCryptograms} wrong cryptograms and ${load.errors} errors`);
      loadRuns.push(load);
    }
    const acRate = median(acRuns.map((r) => r.rps));
    const loadRate = median(loadRuns.map((r) => r.exchangesPerSecond));
    const ratio = loadRate / acRate;
    // Each load round against the autocannon round just before it: drift cancels more.
    const paired = median(loadRuns.map((r, i) => r.exchangesPerSecond / acRuns[i]!.rps));
    const exchanges = loadRuns.reduce((n, r) => n + r.exchanges, 0);
    const cpu = cpus();
    return [
      '## Load mode (`bench/load.bench.ts`)',
      '',
      `The reference server (\`cmcard serve\`, auth + SQLite store + audit on) in a child process on loopback; ${CONCURRENCY} connections; ${ROUNDS} alternating rounds of ${SECONDS} s each; medians. autocannon runs in this process after one 1 s warm-up; each \`cmcard load\` is a fresh process with \`--warmup ${WARMUP_S}\` (not counted).`,
      '',
      '| run | what it does | median rate | rounds | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|',
      `| autocannon (baseline) | GET of one fixed challenge, nothing checked | ${acRate.toFixed(0)} req/s | ${acRuns.map((r) => r.rps.toFixed(0)).join(', ')} | ${median(acRuns.map((r) => r.p50))} | ${median(acRuns.map((r) => r.p99))} |`,
      `| \`cmcard load --concurrency ${CONCURRENCY} --duration ${SECONDS} --warmup ${WARMUP_S} --json\` | fresh card challenge per exchange, every response verified by the card | ${loadRate.toFixed(0)} exchanges/s | ${loadRuns.map((r) => r.exchangesPerSecond.toFixed(0)).join(', ')} | ${median(loadRuns.map((r) => r.latencyMs.p50))} | ${median(loadRuns.map((r) => r.latencyMs.p99))} |`,
      '',
      `Ratio cmcard load / autocannon: **${(100 * ratio).toFixed(0)}%** of the medians, ${(100 * paired).toFixed(0)}% median of the paired rounds (target >= 80%); ${exchanges} exchanges, all verified, 0 errors.`,
      '',
      `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end. Command: \`npm run bench -- load\` (CMCARD_BENCH_CONCURRENCY, CMCARD_BENCH_SECONDS, CMCARD_BENCH_ROUNDS to change).`,
      '',
    ].join('\n');
  } finally {
    child.kill('SIGTERM');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
