// Load mode against the ceiling of the same endpoint: the reference server runs in its own
// child process (`cmcard serve`); autocannon (raw requests, one fixed challenge, no checking)
// and `cmcard load` (fresh challenge per exchange, every response verified by a virtual
// card; spawned as a user would) hit the same authenticationresponse URL.
//   1. Closed model, same concurrency: rounds alternate between the two; medians and the
//      median of paired rounds. Target: load >= 100% of autocannon.
//   2. Open model: the highest --rate that holds (started within 1% of the due count,
//      p99 under 10 ms), beside autocannon -R at that rate (which also corrects
//      coordinated omission) on as many connections.
//   3. Rate accuracy: --rate 2000 for 10 s, started against due, every answer verified.
// Client CPU per exchange is a second, less load-dependent measure: autocannon's from
// process.cpuUsage around its run in this process; cmcard load's from its own process
// (bench/cpu-at-exit.ts), minus what a one-exchange run costs (start-up), over the warm-up
// and measured exchanges together.
// Run: npm run bench -- load
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, startServe } from './serve-child.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'dist/bin/cmcard.js');
const CPU_AT_EXIT = resolve(import.meta.dirname, 'cpu-at-exit.js');
const CONCURRENCY = Number(process.env.CMCARD_BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.CMCARD_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.CMCARD_BENCH_ROUNDS ?? 5);
/** Connections for the open-model runs of both tools. */
const OPEN_CONNECTIONS = Number(process.env.CMCARD_BENCH_OPEN_CONNECTIONS ?? 128);
const OPEN_SECONDS = 3;
const P99_LIMIT_MS = 10;
// A fresh `cmcard load` process needs 1-2 s of JIT before its loop runs at speed (on a busy
// 2-core machine); autocannon gets its warm-up once in this process, the bin one per run.
const WARMUP_S = 2;
// The documented example: the card `cmcard load --server` plays.
const PATH =
  '/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099/smartcards/17cf063d-e337-4aa9-a822-346554ddd3c9/authenticationresponse?cardid=bc88f13f-83ba-4037-8262-46eba1291c6e&challenge=1hFD%2Bcz%2F0so%3D&diversified=False';
const HEADERS = { authorization: 'Bearer demo-helpdesk' };

interface LoadJson {
  exchanges: number;
  exchangesPerSecond: number;
  wrongCryptograms: number;
  errors: number;
  verified: number;
  dropped: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

interface LoadRun extends LoadJson {
  /** Client CPU per exchange, us, start-up taken out (warm-up exchanges counted). */
  cpuUs: number;
}

interface CannonRun {
  rps: number;
  ok: number;
  total: number;
  p50: number;
  p99: number;
  cpuUs: number;
}

async function cannon(url: string, seconds: number, o: { connections?: number; rate?: number } = {}): Promise<CannonRun> {
  const c0 = process.cpuUsage();
  const r = await autocannon({
    url: url + PATH,
    connections: o.connections ?? CONCURRENCY,
    duration: seconds,
    headers: HEADERS,
    ...(o.rate ? { overallRate: o.rate } : {}),
  });
  const cpu = process.cpuUsage(c0);
  const total = r.requests.total;
  return {
    rps: total / (r.duration || seconds),
    ok: r['2xx'],
    total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, total),
  };
}

/** One `cmcard load` process: its --json summary, its CPU (us) and its warm-up's exchanges. */
function cmcardProcess(args: string[]): Promise<{ json: LoadJson; cpuUs: number; warmupExchanges: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-bench-load-'));
  const report = join(dir, 'load.json');
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--import', CPU_AT_EXIT, BIN, 'load', ...args, '--json', '--report', `json:${report}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      try {
        const cpu = /^CMCARD_BENCH_CPU (\d+)$/m.exec(err);
        const rest = err.replace(/^CMCARD_BENCH_CPU \d+\n?/m, '').trim();
        if (code !== 0 && code !== 1) return fail(new Error(`cmcard load exited ${code}: ${rest}`));
        const json = JSON.parse(out.trimEnd().split('\n').pop()!) as LoadJson;
        const warmup = (JSON.parse(readFileSync(report, 'utf8')) as { warmup: { exchanges: number } | null }).warmup;
        ok({ json, cpuUs: cpu ? Number(cpu[1]) : Number.NaN, warmupExchanges: warmup?.exchanges ?? 0 });
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** A cmcard load run with its CPU per exchange, start-up taken out. */
async function cmcardLoad(args: string[], startupUs: number): Promise<LoadRun> {
  const r = await cmcardProcess(args);
  const exchanges = r.json.exchanges + r.warmupExchanges;
  return { ...r.json, cpuUs: Math.max(0, r.cpuUs - startupUs) / Math.max(1, exchanges) };
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

type OpenRun = LoadRun & { rate: number; due: number; holds: boolean };

/** One open-model run: does `rate` hold (started >= 99% of due, p99 under the limit, all verified)? */
async function openOnce(url: string, rate: number, startupUs: number): Promise<OpenRun> {
  const r = await cmcardLoad(
    ['--server', url, '--rate', String(rate), '--connections', String(OPEN_CONNECTIONS), '--duration', String(OPEN_SECONDS), '--warmup', '1'],
    startupUs,
  );
  const due = r.exchanges + r.dropped;
  if (r.wrongCryptograms !== 0 || r.errors !== 0 || r.verified !== r.exchanges)
    throw new Error(`cmcard load --rate ${rate}: ${r.wrongCryptograms} wrong cryptograms, ${r.errors} errors`);
  const holds = r.exchanges >= 0.99 * due && r.latencyMs.p99 < P99_LIMIT_MS;
  return { ...r, rate, due, holds };
}

/**
 * A rate holds when it holds in at least two of three runs: a shared machine's stalls land
 * in one run or another. Returns the run with the median p99, and the three p99s.
 */
async function openRun(url: string, rate: number, startupUs: number): Promise<OpenRun & { p99s: number[] }> {
  const runs: OpenRun[] = [];
  for (let i = 0; i < 3; i++) runs.push(await openOnce(url, rate, startupUs));
  const byP99 = [...runs].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99);
  const holds = runs.filter((r) => r.holds).length >= 2;
  return { ...byP99[1]!, holds, p99s: runs.map((r) => r.latencyMs.p99) };
}

export default async function run(): Promise<string> {
  const { url, child } = await startServe();
  try {
    // Start-up cost of a load process (Node, the CLI, the reachability check, one exchange).
    const startups: number[] = [];
    for (let i = 0; i < 3; i++) startups.push((await cmcardProcess(['--server', url, '--concurrency', '1', '--exchanges', '1'])).cpuUs);
    const startupUs = median(startups);

    await cannon(url, 1); // warm-up: JIT, SQLite pages, sockets
    // 1. Closed model. Alternating rounds, medians compared: a machine shared with other
    // work drifts, and alternation spreads the drift over both sides instead of one.
    const acRuns: CannonRun[] = [];
    const loadRuns: LoadRun[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ac = await cannon(url, SECONDS);
      if (ac.ok !== ac.total) throw new Error(`autocannon got ${ac.total - ac.ok} non-2xx answers: the bench URL or token is wrong`);
      acRuns.push(ac);
      const load = await cmcardLoad(
        ['--server', url, '--concurrency', String(CONCURRENCY), '--duration', String(SECONDS), '--warmup', String(WARMUP_S)],
        startupUs,
      );
      if (load.wrongCryptograms !== 0 || load.errors !== 0 || load.verified !== load.exchanges)
        throw new Error(`cmcard load saw ${load.wrongCryptograms} wrong cryptograms and ${load.errors} errors`);
      loadRuns.push(load);
    }
    const acRate = median(acRuns.map((r) => r.rps));
    const loadRate = median(loadRuns.map((r) => r.exchangesPerSecond));
    const ratio = loadRate / acRate;
    // Each load round against the autocannon round just before it: drift cancels more.
    const paired = median(loadRuns.map((r, i) => r.exchangesPerSecond / acRuns[i]!.rps));
    const exchanges = loadRuns.reduce((n, r) => n + r.exchanges, 0);

    // 2. Open model: from 1000/s climb by half again until a rate fails (or halve down until
    // one holds), then bisect three times between the last that held and the first that failed.
    const tried: Array<Awaited<ReturnType<typeof openRun>>> = [];
    let good = 0;
    let bad = 0;
    const first = await openRun(url, 1000, startupUs);
    tried.push(first);
    if (first.holds) {
      good = 1000;
      for (let rate = 1500; rate <= 64_000; rate = Math.round(rate * 1.5)) {
        const r = await openRun(url, rate, startupUs);
        tried.push(r);
        if (!r.holds) {
          bad = rate;
          break;
        }
        good = rate;
      }
    } else {
      bad = 1000;
      for (let rate = 500; rate >= 125; rate /= 2) {
        const r = await openRun(url, rate, startupUs);
        tried.push(r);
        if (r.holds) {
          good = rate;
          break;
        }
        bad = rate;
      }
    }
    for (let i = 0; i < 3 && good > 0 && bad > 0; i++) {
      const step = good >= 1000 ? 100 : 25;
      const rate = Math.round((good + bad) / 2 / step) * step;
      if (rate <= good || rate >= bad) break;
      const r = await openRun(url, rate, startupUs);
      tried.push(r);
      if (r.holds) good = rate;
      else bad = rate;
    }
    tried.sort((a, b) => a.rate - b.rate);
    const best = tried.find((r) => r.holds && r.rate === good);
    // autocannon -R beside it, at the rate that held (or the first rate tried when none did).
    const acRateOpen = good > 0 ? good : 1000;
    const acOpen = await cannon(url, OPEN_SECONDS, { connections: OPEN_CONNECTIONS, rate: acRateOpen });

    // 3. Rate accuracy at 2,000/s for 10 s, on as many connections as the test uses.
    const accuracy = await cmcardLoad(['--server', url, '--rate', '2000', '--duration', '10', '--connections', '1024', '--warmup', '1'], startupUs);

    const cpu = cpus();
    const rows = tried.map(
      (r) =>
        `| ${r.rate} | ${r.exchanges} of ${r.due} (${((100 * r.exchanges) / r.due).toFixed(2)}%) | ${r.dropped} | ${r.latencyMs.p50} | ${r.p99s.join(', ')} | ${r.holds ? 'holds' : 'does not hold'} |`,
    );
    return [
      '## Load mode (`bench/load.bench.ts`)',
      '',
      `The reference server (\`cmcard serve\`, auth + SQLite store + audit on) in a child process on loopback. Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; load average ${loadavg()[0]!.toFixed(1)} at the end. Command: \`npm run bench -- load\` (CMCARD_BENCH_CONCURRENCY, CMCARD_BENCH_SECONDS, CMCARD_BENCH_ROUNDS, CMCARD_BENCH_OPEN_CONNECTIONS to change).`,
      '',
      `### Closed model: ${CONCURRENCY} connections, ${ROUNDS} alternating rounds of ${SECONDS} s, medians`,
      '',
      `autocannon runs in this process after one 1 s warm-up; each \`cmcard load\` is a fresh process with \`--warmup ${WARMUP_S}\` (not counted). Client CPU: per request (autocannon) or exchange (cmcard load, start-up of ${(startupUs / 1000).toFixed(0)} ms CPU taken out, warm-up exchanges counted).`,
      '',
      '| run | what it does | median rate | rounds | p50 ms | p99 ms | client CPU µs per request |',
      '|---|---|---|---|---|---|---|',
      `| autocannon (baseline) | GET of one fixed challenge, nothing checked | ${acRate.toFixed(0)} req/s | ${acRuns.map((r) => r.rps.toFixed(0)).join(', ')} | ${median(acRuns.map((r) => r.p50))} | ${median(acRuns.map((r) => r.p99))} | ${median(acRuns.map((r) => r.cpuUs)).toFixed(1)} |`,
      `| \`cmcard load --concurrency ${CONCURRENCY} --duration ${SECONDS} --warmup ${WARMUP_S} --json\` | fresh card challenge per exchange, every response verified by the card | ${loadRate.toFixed(0)} exchanges/s | ${loadRuns.map((r) => r.exchangesPerSecond.toFixed(0)).join(', ')} | ${median(loadRuns.map((r) => r.latencyMs.p50))} | ${median(loadRuns.map((r) => r.latencyMs.p99))} | ${median(loadRuns.map((r) => r.cpuUs)).toFixed(1)} |`,
      '',
      `Ratio cmcard load / autocannon: **${pct(ratio)}** of the medians, ${pct(paired)} median of the paired rounds (target >= 100%); ${exchanges} exchanges, all verified, 0 errors.`,
      '',
      `### Open model: the highest rate that holds (${OPEN_CONNECTIONS} connections, ${OPEN_SECONDS} s per rate after a 1 s warm-up)`,
      '',
      `"Holds": at least 99% of the exchanges due were started (the rest dropped: every connection busy) and p99 from the due time is under ${P99_LIMIT_MS} ms, in at least two of three runs; every answer verified. From 1000/s climbing by half again (or halving down), then bisecting; the row shows the run with the median p99.`,
      '',
      '| --rate /s | started of due | dropped | p50 ms | p99 ms of the three runs | |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      `${good > 0 && best ? `Highest rate that held: **${good}/s** (median p99 ${best.latencyMs.p99} ms).` : `No rate from ${tried[0]!.rate}/s up held: the machine's stalls put p99 over ${P99_LIMIT_MS} ms.`} autocannon \`-R ${acRateOpen}\` on ${OPEN_CONNECTIONS} connections: ${acOpen.rps.toFixed(0)} req/s achieved, p50 ${acOpen.p50} ms, p99 ${acOpen.p99} ms (its latency corrected for coordinated omission too).`,
      '',
      `### Rate accuracy: \`cmcard load --rate 2000 --duration 10 --connections 1024\``,
      '',
      `${accuracy.exchanges} of ${accuracy.exchanges + accuracy.dropped} due exchanges started (${(accuracy.exchanges / 10).toFixed(1)}/s against 2000/s: ${((100 * Math.abs(accuracy.exchanges / 10 - 2000)) / 2000).toFixed(2)}% off), ${accuracy.dropped} dropped, ${accuracy.verified} verified, ${accuracy.errors} errors; ${accuracy.exchangesPerSecond}/s over the whole run including the last answers; p50 ${accuracy.latencyMs.p50} ms, p99 ${accuracy.latencyMs.p99} ms, max ${accuracy.latencyMs.max} ms.`,
      '',
    ].join('\n');
  } finally {
    child.kill('SIGTERM');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
