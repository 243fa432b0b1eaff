import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { LOAD_CARDS, LOAD_KEY, startDroppingServer, startLoadServer, type LoadServer, type LoadServerOptions } from './support/load-server.js';

const SPEC_KEYS = ['exchanges', 'durationMs', 'exchangesPerSecond', 'wrongCryptograms', 'errors', 'statusCodes', 'latencyMs'];
const LATENCY_KEYS = ['p50', 'p90', 'p95', 'p99', 'max'];

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('cmcard load (the built bin)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-load-'));
  const servers: LoadServer[] = [];
  const start = async (o: Partial<LoadServerOptions>): Promise<LoadServer> => {
    const s = await startLoadServer({ keyHex: LOAD_KEY, ...o });
    servers.push(s);
    return s;
  };
  const configFile = (server: string, name: string): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ server, headers: { Authorization: 'Bearer ${LOAD_TEST_TOKEN}' }, cards: LOAD_CARDS.map((c) => ({ ...c, adminKey: LOAD_KEY })) }));
    return path;
  };
  const env = { LOAD_TEST_TOKEN: 'tok' };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs against the embedded reference server and prints the SPEC object as the last line', async () => {
    const r = await runCli(['load', '--concurrency', '4', '--exchanges', '200', '--json'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = lastJsonLine(r.stdout);
    expect(Object.keys(summary)).toEqual(SPEC_KEYS);
    expect(Object.keys(summary.latencyMs as object)).toEqual(LATENCY_KEYS);
    expect(summary).toMatchObject({ exchanges: 200, wrongCryptograms: 0, errors: 0, statusCodes: { '200': 200 } });
    expect(summary.exchangesPerSecond).toBeGreaterThan(0);
  });

  it('exits 1 on the known mix, with exact counts, one stderr line and an HTML report', async () => {
    const server = await start({ statusEvery: 7, wrongEvery: 10, authorization: 'Bearer tok' });
    const html = join(dir, 'out/load.html');
    const r = await runCli(['load', '--config', configFile(server.url, 'mix.json'), '--concurrency', '5', '--exchanges', '700', '--json', '--report', `html:${html}`], { env });
    expect(r.code).toBe(1);
    expect(lastJsonLine(r.stdout)).toMatchObject({ exchanges: 700, wrongCryptograms: 60, errors: 100, statusCodes: { '200': 600, '500': 100 } });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^cmcard: load failed: 60 response\(s\) failed card verification; error rate 14\.29%/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/<svg[^>]*aria-label="latency histogram"/);
    expect(page).toMatch(/<rect /);
    expect(page).toContain('FAILED (exit 1)');
    expect(page).not.toMatch(/<script|<link|<img|\b(src|href)=/); // self-contained
  });

  it('honours --duration (loose bound), prints a summary for people, and allows --max-error-rate', async () => {
    const server = await start({ statusEvery: 10, failStatus: 503, authorization: 'Bearer tok' });
    const json = join(dir, 'load.json');
    const r = await runCli(['load', '--config', configFile(server.url, 'ok.json'), '--concurrency', '2', '--duration', '1', '--max-error-rate', '0.1', '--report', `json:${json}`], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrong cryptograms +0$/m);
    expect(r.stdout).toMatch(/^status codes +200: \d+, 503: \d+$/m);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { summary: { durationMs: number; exchanges: number; errors: number } };
    expect(report.summary.durationMs).toBeGreaterThanOrEqual(1000);
    expect(report.summary.durationMs).toBeLessThan(15_000);
    // One request more reached the server: the reachability check before the run.
    expect(report.summary.exchanges).toBe(server.requests() - 1);
    expect(report.summary.errors).toBe(Math.floor(server.requests() / 10));
  });

  it('with --server alone plays the documented example card (demo token on loopback)', async () => {
    const server = await start({ keyHex: '00'.repeat(24), authorization: 'Bearer demo-helpdesk' });
    const r = await runCli(['load', '--server', server.url, '--concurrency', '2', '--exchanges', '30', '--json']);
    expect(r.code).toBe(0);
    expect(lastJsonLine(r.stdout)).toMatchObject({ exchanges: 30, wrongCryptograms: 0, errors: 0 });
  });

  it('exits 3 with one line when the server never answers', async () => {
    const dropping = await startDroppingServer();
    const r = await runCli(['load', '--server', dropping.url, '--concurrency', '2', '--duration', '30', '--json']);
    await dropping.close();
    expect(r.stderr).toMatch(/^cmcard: server unreachable \(reset\): .*ECONNRESET/);
    expect(r.code).toBe(3);
    // --json still ends with one JSON line, so a script reading the last line gets the counts.
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(lastJsonLine(r.stdout)).toMatchObject({ exchanges: 0, wrongCryptograms: 0, errors: 0 });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  describe('usage and config errors: exit 2, one line naming the problem', () => {
    let server: LoadServer;
    beforeAll(async () => {
      server = await start({});
    });
    const cases: Array<[string, string[], RegExp]> = [
      ['no bound', ['--concurrency', '2'], /exactly one of --duration SECONDS or --exchanges N/],
      ['both bounds', ['--concurrency', '2', '--duration', '1', '--exchanges', '5'], /exactly one of/],
      ['no concurrency', ['--exchanges', '5'], /--concurrency/],
      ['zero concurrency', ['--concurrency', '0', '--exchanges', '5'], /--concurrency must be a whole number from 1 to 1024, got '0'/],
      ['bad duration', ['--concurrency', '1', '--duration', 'soon'], /--duration must be a number of seconds above 0 and at most 86400, got 'soon'/],
      ['bad error rate', ['--concurrency', '1', '--exchanges', '5', '--max-error-rate', '5'], /--max-error-rate must be a number from 0 to 1/],
      ['negative warm-up', ['--concurrency', '1', '--exchanges', '5', '--warmup', '-1'], /--warmup must be a number of seconds from 0 and at most 3600, got '-1'/],
      ['junit report', ['--concurrency', '1', '--exchanges', '5', '--report', 'junit:x.xml'], /load writes html or json, not junit/],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const r = await runCli(['load', '--server', server.url, ...args]);
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(server.requests()).toBe(0);
      });
    }
    it('a config with an unknown key names the key and the file', async () => {
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify({ server: server.url, cards: [{ ...LOAD_CARDS[0], adminKey: LOAD_KEY, adminkey2: 'x' }] }));
      const r = await runCli(['load', '--config', path, '--concurrency', '1', '--exchanges', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bad\.json: cards\[0\]\.adminkey2 is not a known key/);
      expect(server.requests()).toBe(0);
    });
  });
});
