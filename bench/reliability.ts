// `npm run reliability [-- --short]`: the attack figures of RELIABILITY.md, measured again.
// Each part checks its own invariants; the run exits 1 when one is broken, so CI can run
// the short version (`--short`, a few minutes at most) as a gate. Counts are fixed, and a
// watchdog ends a run that overstays its bound.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runAuditMemory, type AuditMemoryResult } from './audit-memory.js';
import { runKillStress } from './kill-stress.js';
import { runNodeErrors } from './node-errors.js';
import { runningWorkers, runStaleLockRounds, type StaleLockRound } from './stale-lock-stress.js';

const short = process.argv.includes('--short');
const unknown = process.argv.slice(2).filter((a) => a !== '--short');
if (unknown.length > 0) {
  console.error(`reliability: unknown argument ${unknown[0]} (the only option is --short)`);
  process.exit(2);
}

const PLAN = short
  ? { staleRounds: 20, jitterRounds: 20, workers: 8, kills: 40, requests: 150_000, warmup: 50_000, boundMinutes: 8 }
  : { staleRounds: 300, jitterRounds: 100, workers: 8, kills: 500, requests: 1_000_000, warmup: 100_000, boundMinutes: 40 };
/** RSS growth after warm-up that still counts as flat: noise, plus 10% of the ~300 bytes a kept row cost per request. */
const RSS_SLACK_BYTES = 24 * 1024 * 1024;
const RSS_BYTES_PER_REQUEST = 30;

const here = dirname(fileURLToPath(import.meta.url));
const dist = (file: string): string => pathToFileURL(join(here, '..', 'simulator', file)).href;
const scratch = mkdtempSync(join(tmpdir(), 'cmcard-reliability-'));
const stopWorkers = (): void => {
  for (const pid of runningWorkers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
};
process.on('exit', () => {
  stopWorkers();
  rmSync(scratch, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
setTimeout(() => {
  console.error(`reliability: still running after ${PLAN.boundMinutes} minutes: stopped`);
  process.exit(1);
}, PLAN.boundMinutes * 60_000).unref();

const failures: string[] = [];
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const n = (x: number): string => x.toLocaleString('en-US');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;
const log = (line: string): void => void process.stderr.write(`reliability: ${line}\n`);

const cpu = cpus();
console.log(`# cmcard reliability figures (${short ? 'short run' : 'full run'})\n`);
console.log(
  `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; 1-minute load average at the start: ${loadavg()[0]!.toFixed(1)}.\n`,
);

// 1. The stale-lock takeover race.
async function staleLocks(jitter: boolean, rounds: number): Promise<void> {
  const t0 = Date.now();
  let done = 0;
  const bad: StaleLockRound[] = [];
  const results = await runStaleLockRounds({
    cardFileModule: dist('card-file.js'),
    cardLockModule: dist('card-lock.js'),
    dir: scratch,
    rounds,
    workers: PLAN.workers,
    jitter,
    onRound: (r) => {
      if (!r.ok) bad.push(r);
      if (++done % 50 === 0) log(`stale lock${jitter ? ' (slowed)' : ''}: ${done} of ${rounds} rounds`);
    },
  });
  const exact = results.filter((r) => r.ok).length;
  const lost = results.reduce((s, r) => s + Math.max(0, r.triesLeft - r.expectedTriesLeft), 0);
  const leftovers = results.reduce((s, r) => s + r.leftovers.length, 0);
  console.log(
    `| ${jitter ? 'lock steps slowed 0-2 ms at random' : 'plain'} | ${n(rounds)} | ${PLAN.workers} | ${n(exact)} | ${n(rounds - exact)} | ${n(lost)} | ${n(leftovers)} | ${seconds(Date.now() - t0)} |`,
  );
  for (const r of bad.slice(0, 3))
    failures.push(
      `stale lock round ${r.round}: answers ${r.sws.join(' ')}, ${r.triesLeft} tries left (want ${r.expectedTriesLeft}), left behind: ${r.leftovers.join(' ') || 'nothing'}`,
    );
  if (bad.length > 3) failures.push(`... and ${bad.length - 3} more stale lock rounds`);
}

console.log('## Stale card lock: processes released onto a lock left by a killed process\n');
console.log(
  `Each round: a child takes the card file's lock and is killed holding it; ${PLAN.workers} processes that had opened the card are then released together, one wrong PIN each (PIN tries 15). A round is exact when the counter lost exactly ${PLAN.workers} tries, the answers were 63CE down to 63C${(15 - PLAN.workers).toString(16).toUpperCase()} (one each), and nothing (lock, claim, temp file) was left beside the card file.\n`,
);
console.log('| mode | rounds | processes | exact | not exact | tries not counted | files left | time |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
await staleLocks(false, PLAN.staleRounds);
await staleLocks(true, PLAN.jitterRounds);
console.log('');

// 2. kill -9 of card commands.
{
  log(`kill -9: ${PLAN.kills} kills`);
  const t0 = Date.now();
  const k = await runKillStress({ cardFileModule: dist('card-file.js'), dir: scratch, kills: PLAN.kills });
  console.log('## kill -9 of card commands\n');
  console.log(
    'A child makes wrong PIN attempts on a fresh card (15 tries) and is killed 0-25 ms after opening it; then the file is loaded, its counter compared with the answers the child printed, and one more command is run on it.\n',
  );
  console.log(
    '| kills | answers printed | tries used | attempts gained | counted, killed before answering | torn files | locks left (taken over) | temp files left (swept) | next command wrong | time |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${n(k.kills)} | ${n(k.answers)} | ${n(k.triesUsed)} | ${n(k.gainedAttempts)} | ${n(k.countedUnanswered)} | ${n(k.tornFiles)} | ${n(k.staleLocks)} | ${n(k.tempFilesLeft)} | ${n(k.nextCommandFailures)} | ${seconds(Date.now() - t0)} |\n`,
  );
  if (k.gainedAttempts > 0) failures.push(`kill -9: ${k.gainedAttempts} attempt(s) gained`);
  if (k.tornFiles > 0) failures.push(`kill -9: ${k.tornFiles} card file(s) did not load`);
  if (k.nextCommandFailures > 0) failures.push(`kill -9: the next command failed or miscounted ${k.nextCommandFailures} time(s)`);
  if (k.countedUnanswered > k.kills) failures.push('kill -9: more unanswered counted attempts than kills');
}

// 3. Memory of the in-memory server under a long run.
{
  log(`memory: ${n(PLAN.requests)} requests`);
  const m: AuditMemoryResult = await runAuditMemory({ requests: PLAN.requests, warmup: PLAN.warmup, samples: 5 });
  const first = m.samples[0]!;
  const last = m.samples.at(-1)!;
  const growth = last.rssBytes - first.rssBytes;
  const allowed = RSS_SLACK_BYTES + RSS_BYTES_PER_REQUEST * (last.requests - first.requests);
  console.log('## Memory of the in-memory server\n');
  console.log(
    `${n(PLAN.requests)} requests to the authenticationresponse endpoint over loopback, half anonymous (401), half the help desk's (200): each one an audit row. Server and client (undici, 32 keep-alive connections) in one process; samples after a full GC. The audit keeps the newest ${n(m.auditRows ?? 0)} rows.\n`,
  );
  console.log('| after requests | RSS | JS heap | SQLite pages |');
  console.log('|---:|---:|---:|---:|');
  for (const s of m.samples) console.log(`| ${n(s.requests)} | ${mb(s.rssBytes)} | ${mb(s.heapUsedBytes)} | ${n(s.dbPages)} |`);
  console.log(
    `\nRSS from the first sample to the last: ${growth >= 0 ? '+' : ''}${mb(growth)} (flat means under ${mb(allowed)}: noise plus a tenth of what keeping every row cost). Answers: ${Object.entries(
      m.statuses,
    )
      .map(([s, c]) => `${n(c)} x ${s}`)
      .join(
        ', ',
      )}. Audited: ${n(m.audited.total)} rows counted (${n(m.audited.granted)} granted, ${n(m.audited.refused)} refused), ${n(m.audited.kept)} kept. ${n(Math.round((PLAN.requests * 1000) / m.ms))} requests/s on this machine.\n`,
  );
  if (growth > allowed) failures.push(`memory: RSS grew ${mb(growth)} after warm-up (allowed ${mb(allowed)})`);
  if (m.audited.total !== PLAN.requests) failures.push(`memory: ${m.audited.total} audit rows counted for ${PLAN.requests} requests`);
  if (last.dbPages > first.dbPages + 2) failures.push(`memory: the database grew from ${first.dbPages} to ${last.dbPages} pages`);
}

// 4. What Node would answer for us.
{
  const rows = await runNodeErrors();
  console.log('## Errors Node answers before the app sees the request\n');
  console.log('Raw sockets to the reference server (headers timeout 300 ms, request timeout 600 ms for the run).\n');
  console.log('| request | plain node:http | reference server | JSON body + correlation id |');
  console.log('|---|---|---:|---|');
  for (const r of rows) {
    console.log(`| ${r.request} | ${r.nodeAlone} | ${r.status ?? 'no answer'} | ${r.json ? 'yes' : 'no'} |`);
    if (!r.json) failures.push(`node errors: ${r.request} got ${r.status ?? 'no answer'} without the JSON body`);
  }
  console.log('');
}

if (failures.length > 0) {
  console.log(`## Broken\n\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  process.exitCode = 1;
} else {
  console.log('Every invariant held.\n');
}
