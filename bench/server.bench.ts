// The reference server's authenticationresponse endpoint against two baselines, in one run, one load
// generator (autocannon, keep-alive, loopback, same connection count):
//   (a) bare node:http answering a constant JSON string: the HTTP ceiling of this machine;
//   (b) minimal node:http that parses the same query and computes the same 3DES response
//       (no routing, auth, store or audit): the floor cost of any correct server; (b') the
//       same keeping one cipher context per key, the crypto shortcut (c) also takes;
//   (c) the reference server (routing, bearer auth, SQLite lookup, audit row per request);
//   (d) the same with a database file instead of memory (what `cmcard serve --db` costs).
// Each server runs in its own child process (fork of this file with --serve), so it does
// not share an event loop with autocannon. All four run side by side and are measured in
// interleaved rounds, so a busy machine slows them alike; each child also reports its own
// CPU time, so CPU per request is a second, load-independent measure. Target: (c) >= 50% of (b).
// Run: npm run bench -- server   (or node --expose-gc dist/bench/server.bench.js)
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReferenceServer } from '../reference-server/index.js';
import { ecbEncryptor, tdesEncrypt } from '../simulator/tdes.js';

const CONNECTIONS = Number(process.env.CMCARD_BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.CMCARD_BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.CMCARD_BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 1;
// The documented example (docs/protocol.md#the-documented-example), answered "F0Zudm4wPLY=" by every target.
const PATH =
  '/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099/smartcards/17cf063d-e337-4aa9-a822-346554ddd3c9/authenticationresponse?cardid=bc88f13f-83ba-4037-8262-46eba1291c6e&challenge=1hFD%2Bcz%2F0so%3D&diversified=False';
const HEADERS = { authorization: 'Bearer demo-helpdesk' };
const EXPECTED = '"F0Zudm4wPLY="';

const KINDS = ['bare', 'minimal', 'minimal-kept', 'reference', 'reference-db'] as const;
type Kind = (typeof KINDS)[number];
const TITLES: Record<Kind, string> = {
  bare: '(a) bare node:http, constant JSON string',
  minimal: '(b) minimal node:http: parse query + 3DES (a cipher context per request, as tdesEncrypt)',
  'minimal-kept': "(b') as (b) with one kept cipher context per key, as the reference server does",
  reference: '(c) reference server: routing + auth + SQLite + audit (in-memory database)',
  'reference-db': '(d) as (c) with a --db file (WAL, synchronous=NORMAL)',
};

/** Child mode: start one kind of server on a free loopback port, report the port, answer CPU queries. */
async function serveChild(kind: Kind): Promise<void> {
  let port: number;
  if (kind === 'reference' || kind === 'reference-db') {
    const dir = kind === 'reference-db' ? mkdtempSync(join(tmpdir(), 'cmcard-bench-')) : null;
    const s = await startReferenceServer({ host: '127.0.0.1', port: 0, quiet: true, dbFile: dir ? join(dir, 'cm.db') : undefined });
    process.on(
      'disconnect',
      () =>
        void s.close().then(() => {
          if (dir) rmSync(dir, { recursive: true, force: true });
          process.exit(0);
        }),
    );
    port = Number(new URL(s.url).port);
  } else {
    const key = Buffer.alloc(24);
    const kept = ecbEncryptor(key);
    const server = createServer((req, res) => {
      let body: string;
      if (kind === 'bare') body = EXPECTED;
      else {
        const url = req.url ?? '';
        const q = new URLSearchParams(url.slice(url.indexOf('?') + 1));
        const challenge = Buffer.from(q.get('challenge') ?? '', 'base64');
        if (!q.get('cardid') || challenge.length === 0 || challenge.length % 8 !== 0 || !/^(true|false)$/i.test(q.get('diversified') ?? '')) {
          res.writeHead(400).end();
          return;
        }
        const response = kind === 'minimal-kept' ? kept(challenge) : tdesEncrypt(key, challenge);
        body = JSON.stringify(response.toString('base64'));
      }
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    process.on('disconnect', () => process.exit(0));
  }
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuMicros: u.user + u.system });
    }
  });
  process.send!({ port });
}

interface Target {
  kind: Kind;
  url: string;
  child: ChildProcess;
}

function startChild(kind: Kind): Promise<Target> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start within 20 s`)), 20_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve({ kind, url: `http://127.0.0.1:${m.port}`, child });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function cpuOf(t: Target): Promise<number> {
  return new Promise((resolve) => {
    t.child.once('message', (m: { cpuMicros: number }) => resolve(m.cpuMicros));
    t.child.send('cpu');
  });
}

interface Round {
  rps: number;
  requests: number;
  cpuMicros: number;
  p50: number;
  p99: number;
  bad: number;
}

async function round(t: Target, seconds: number): Promise<Round> {
  const before = await cpuOf(t);
  const r = await autocannon({ url: t.url + PATH, connections: CONNECTIONS, duration: seconds, headers: HEADERS });
  const cpuMicros = (await cpuOf(t)) - before;
  return {
    rps: r.requests.total / (r.duration || seconds),
    requests: r.requests.total,
    cpuMicros,
    p50: r.latency.p50,
    p99: r.latency.p99,
    bad: r.non2xx + r.errors,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export default async function run(): Promise<string> {
  const targets: Target[] = [];
  try {
    for (const kind of KINDS) targets.push(await startChild(kind));
    for (const t of targets) {
      const check = await fetch(t.url + PATH, { headers: HEADERS });
      const text = await check.text();
      if (text !== EXPECTED) throw new Error(`${t.kind} server answered ${check.status} ${text}, not ${EXPECTED}`);
      await round(t, WARMUP_SECONDS);
    }
    const rounds = new Map<Kind, Round[]>(KINDS.map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++) for (const t of targets) rounds.get(t.kind)!.push(await round(t, SECONDS));

    const stats = new Map(
      KINDS.map((k) => {
        const rs = rounds.get(k)!;
        const requests = rs.reduce((n, r) => n + r.requests, 0);
        return [
          k,
          {
            rps: median(rs.map((r) => r.rps)),
            cpuPerRequest: rs.reduce((n, r) => n + r.cpuMicros, 0) / Math.max(1, requests),
            p50: median(rs.map((r) => r.p50)),
            p99: median(rs.map((r) => r.p99)),
            bad: rs.reduce((n, r) => n + r.bad, 0),
          },
        ];
      }),
    );
    const minimal = stats.get('minimal')!;
    const ref = stats.get('reference')!;
    const byRps = ref.rps / minimal.rps;
    const byCpu = minimal.cpuPerRequest / ref.cpuPerRequest;
    const kept = stats.get('minimal-kept')!;
    const cpu = cpus();
    return [
      '## Reference server: authenticationresponse',
      '',
      `autocannon, ${CONNECTIONS} keep-alive connections on loopback; each server in its own child process; ${ROUNDS} interleaved rounds of ${SECONDS} s per server after a ${WARMUP_SECONDS} s warm-up (median shown). CPU per request is the server process's own user+system time divided by the requests it answered.`,
      '',
      '| server | requests/s | vs minimal | server CPU µs/request | p50 ms | p99 ms | non-2xx + errors |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...KINDS.map((k) => {
        const s = stats.get(k)!;
        return `| ${TITLES[k]} | ${Math.round(s.rps)} | ${(s.rps / minimal.rps).toFixed(2)} | ${s.cpuPerRequest.toFixed(0)} | ${s.p50} | ${s.p99} | ${s.bad} |`;
      }),
      '',
      `Reference / minimal: **${(byRps * 100).toFixed(0)}%** by requests/s, **${(byCpu * 100).toFixed(0)}%** by CPU per request (target >= 50%: ${Math.min(byRps, byCpu) >= 0.5 ? 'met' : byRps >= 0.5 || byCpu >= 0.5 ? 'met on one measure' : 'NOT met'}). Against (b'), which keeps its cipher context as (c) does: ${((ref.rps / kept.rps) * 100).toFixed(0)}% by requests/s, ${((kept.cpuPerRequest / ref.cpuPerRequest) * 100).toFixed(0)}% by CPU.`,
      '',
      `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; load average at the end ${loadavg()[0]!.toFixed(1)}.`,
      '',
    ].join('\n');
  } finally {
    for (const t of targets) t.child.disconnect();
  }
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  const i = process.argv.indexOf('--serve');
  if (i >= 0) await serveChild(process.argv[i + 1] as Kind);
  else console.log(await run());
}
