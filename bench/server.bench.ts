// The reference server's seed endpoint against two baselines, in one run, one load
// generator (autocannon, keep-alive, loopback, same connection count):
//   (a) bare node:http answering a constant JSON string: the HTTP ceiling of this machine;
//   (b) minimal node:http that parses the same query and computes the same 3DES response
//       (no routing, auth, store or audit): the floor cost of any correct server;
//   (c) the reference server (routing, bearer auth, SQLite lookup, audit row per request);
//   (d) the same with a database file instead of memory (what `cmcard serve --db` costs).
// Each server runs in its own child process (fork of this file with --serve), so it does
// not share an event loop with autocannon. Target: (c) >= 50% of (b).
// Run: npm run bench -- server   (or node --expose-gc dist/bench/server.bench.js)
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReferenceServer } from '../reference-server/index.js';
import { tdesEncrypt } from '../simulator/tdes.js';

const CONNECTIONS = Number(process.env.CMCARD_BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.CMCARD_BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = 1;
// The documented example (DOMAIN.md section 2), answered "F0Zudm4wPLY=" by every target.
const PATH = '/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099/smartcards/17cf063d-e337-4aa9-a822-346554ddd3c9/authenticationresponse?cardid=bc88f13f-83ba-4037-8262-46eba1291c6e&challenge=1hFD%2Bcz%2F0so%3D&diversified=False';
const HEADERS = { authorization: 'Bearer demo-helpdesk' };
const EXPECTED = '"F0Zudm4wPLY="';

type Kind = 'bare' | 'minimal' | 'reference' | 'reference-db';

/** Child mode: start one kind of server on a free loopback port and report the port. */
async function serveChild(kind: Kind): Promise<void> {
  let port: number;
  if (kind === 'reference' || kind === 'reference-db') {
    const dir = kind === 'reference-db' ? mkdtempSync(join(tmpdir(), 'cmcard-bench-')) : null;
    const s = await startReferenceServer({ host: '127.0.0.1', port: 0, quiet: true, dbFile: dir ? join(dir, 'cm.db') : undefined });
    process.on('SIGTERM', () => void s.close().then(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }));
    port = Number(new URL(s.url).port);
  } else {
    const key = Buffer.alloc(24);
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
        body = JSON.stringify(tdesEncrypt(key, challenge).toString('base64'));
      }
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  }
  process.send!({ port });
}

function startChild(kind: Kind): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start within 20 s`)), 20_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${m.port}`, child });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function measure(kind: Kind): Promise<Measured> {
  const { url, child } = await startChild(kind);
  try {
    const check = await fetch(url + PATH, { headers: HEADERS });
    const text = await check.text();
    if (text !== EXPECTED) throw new Error(`${kind} server answered ${check.status} ${text}, not ${EXPECTED}`);
    await autocannon({ url: url + PATH, connections: CONNECTIONS, duration: WARMUP_SECONDS, headers: HEADERS });
    const r = await autocannon({ url: url + PATH, connections: CONNECTIONS, duration: SECONDS, headers: HEADERS });
    return { rps: r.requests.total / (r.duration || SECONDS), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx + r.errors };
  } finally {
    child.kill('SIGTERM');
  }
}

export default async function run(): Promise<string> {
  const bare = await measure('bare');
  const minimal = await measure('minimal');
  const reference = await measure('reference');
  const referenceDb = await measure('reference-db');
  const cpu = cpus();
  const row = (name: string, m: Measured): string =>
    `| ${name} | ${Math.round(m.rps)} | ${(m.rps / minimal.rps).toFixed(2)} | ${m.p50} | ${m.p99} | ${m.non2xx} |`;
  const ratio = reference.rps / minimal.rps;
  return [
    '## Reference server: authenticationresponse',
    '',
    `autocannon, ${CONNECTIONS} keep-alive connections on loopback, ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up; each server in its own child process.`,
    '',
    '| server | requests/s | vs minimal | p50 ms | p99 ms | non-2xx + errors |',
    '|---|---:|---:|---:|---:|---:|',
    row('(a) bare node:http, constant JSON string', bare),
    row('(b) minimal node:http: parse query + 3DES', minimal),
    row('(c) reference server: routing + auth + SQLite + audit (in-memory database)', reference),
    row('(d) as (c) with a --db file (WAL, synchronous=NORMAL)', referenceDb),
    '',
    `Reference / minimal: **${(ratio * 100).toFixed(0)}%** (target >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'}).`,
    '',
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}.`,
    '',
  ].join('\n');
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  const i = process.argv.indexOf('--serve');
  if (i >= 0) await serveChild(process.argv[i + 1] as Kind);
  else console.log(await run());
}
