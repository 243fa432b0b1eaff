// Load through Windows Integrated Authentication against the same server with fixed
// headers: the reference server (`cmcard serve`, a child process) behind Apache
// mod_auth_gssapi on loopback (the test bed of test/support/wia). `cmcard load` runs the
// same exchanges three ways: through Apache with no authentication and a fixed bearer
// header (the baseline), through Kerberos (negotiate) and through NTLM, where each
// connection is authenticated once. Target: each at least 90% of the baseline once the
// connections are up. Run: npm run bench -- wia-load
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NTLM_DOMAIN, REALM, startTestBed, wiaSkipReason, kerberosAddonSkipReason } from '../test/support/wia/testbed.js';
import { median, startServe } from './serve-child.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'dist/bin/cmcard.js');
const CONCURRENCY = Number(process.env.CMCARD_BENCH_CONCURRENCY ?? 8);
const SECONDS = Number(process.env.CMCARD_BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.CMCARD_BENCH_ROUNDS ?? 3);
const WARMUP_S = 1;
// The documented example card (Microsoft's example request), which `cmcard serve` seeds.
const CARD = {
  name: 'example',
  reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
  scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
  cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
  adminKey: '0'.repeat(48),
};

interface LoadJson {
  exchanges: number;
  exchangesPerSecond: number;
  wrongCryptograms: number;
  errors: number;
  latencyMs: { p50: number; p99: number };
}

function cmcardLoad(config: string, env: NodeJS.ProcessEnv): Promise<LoadJson> {
  return new Promise((ok, fail) => {
    const args = [BIN, 'load', '--config', config, '--concurrency', String(CONCURRENCY), '--duration', String(SECONDS), '--warmup', String(WARMUP_S), '--json'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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

export default async function run(): Promise<string> {
  const skip = wiaSkipReason() ?? (await kerberosAddonSkipReason());
  if (skip) return `## Load through Kerberos and NTLM (\`bench/wia-load.bench.ts\`)\n\nNot run: ${skip}\n`;
  const { url, child } = await startServe();
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-wia-bench-'));
  const bed = await startTestBed({
    backend: url,
    backendAuthorization: { [`alice@${REALM}`]: 'Bearer demo-helpdesk', [`${NTLM_DOMAIN}\\alice`]: 'Bearer demo-helpdesk' },
  });
  try {
    const file = (name: string, doc: object): string => {
      const path = join(dir, `${name}.json`);
      writeFileSync(path, JSON.stringify({ ...doc, cards: [CARD] }));
      return path;
    };
    const env = { ...bed.realm.clientEnv('alice'), ALICE_PW: bed.user('alice').password };
    const ways = [
      ['fixed header (no authentication in Apache)', file('plain', { server: bed.apache.plainUrl, headers: { Authorization: 'Bearer demo-helpdesk' } })],
      ['negotiate (Kerberos), once per connection', file('negotiate', { server: bed.apache.negotiateUrl, auth: { type: 'negotiate' } })],
      [
        'ntlm, once per connection',
        file('ntlm', { server: bed.apache.ntlmUrl, auth: { type: 'ntlm', username: 'alice', password: '${ALICE_PW}', domain: NTLM_DOMAIN } }),
      ],
    ] as const;
    const runs: LoadJson[][] = ways.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < ways.length; i++) {
        const r = await cmcardLoad(ways[i]![1], env);
        if (r.wrongCryptograms !== 0 || r.errors !== 0) throw new Error(`${ways[i]![0]}: ${r.wrongCryptograms} wrong cryptograms, ${r.errors} errors`);
        runs[i]!.push(r);
      }
    }
    const base = runs[0]!;
    const rows = ways.map(([label], i) => {
      const rs = runs[i]!;
      const ratio = median(rs.map((r, k) => r.exchangesPerSecond / base[k]!.exchangesPerSecond));
      return `| ${label} | ${median(rs.map((r) => r.exchangesPerSecond)).toFixed(0)} exchanges/s | ${rs.map((r) => r.exchangesPerSecond.toFixed(0)).join(', ')} | ${median(rs.map((r) => r.latencyMs.p50))} | ${median(rs.map((r) => r.latencyMs.p99))} | ${i === 0 ? 'baseline' : `**${(100 * ratio).toFixed(0)}%**`} |`;
    });
    const cpu = cpus();
    return [
      '## Load through Kerberos and NTLM (`bench/wia-load.bench.ts`)',
      '',
      `\`cmcard serve\` behind Apache mod_auth_gssapi (a throwaway MIT realm; NTLM through gss-ntlmssp) on loopback; \`cmcard load --concurrency ${CONCURRENCY} --duration ${SECONDS} --warmup ${WARMUP_S} --json\`, ${ROUNDS} interleaved rounds; the ratio is the median of each round against the fixed-header run of the same round. Every exchange verified by its card.`,
      '',
      '| how the caller authenticates | median rate | rounds | p50 ms | p99 ms | of the fixed-header rate |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      `Target: at least 90% once the connections are up. Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end. Command: \`npm run bench -- wia-load\`.`,
      '',
    ].join('\n');
  } finally {
    await bed.stop();
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
