import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/cli.js';
import {
  LOAD_CARDS,
  LOAD_KEY,
  startDroppingServer,
  startLoadServer,
  startReferenceServer,
  type LoadServer,
  type LoadServerOptions,
} from './support/load-server.js';

/** The documented keys, first and in this order; the keys added after them. */
const DOCUMENTED_KEYS = ['exchanges', 'durationMs', 'exchangesPerSecond', 'wrongCryptograms', 'errors', 'statusCodes', 'latencyMs'];
const ADDED_KEYS = ['model', 'verified', 'dropped', 'thresholds', 'stages', 'firstWrongCryptograms', 'abortedBy'];
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
    writeFileSync(
      path,
      JSON.stringify({ server, headers: { Authorization: 'Bearer ${LOAD_TEST_TOKEN}' }, cards: LOAD_CARDS.map((c) => ({ ...c, adminKey: LOAD_KEY })) }),
    );
    return path;
  };
  const env = { LOAD_TEST_TOKEN: 'tok' };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs against the embedded reference server and prints the documented summary object as the last line', async () => {
    const r = await runCli(['load', '--concurrency', '4', '--exchanges', '200', '--json'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = lastJsonLine(r.stdout);
    expect(Object.keys(summary)).toEqual([...DOCUMENTED_KEYS, ...ADDED_KEYS]);
    expect(Object.keys(summary.latencyMs as object)).toEqual(LATENCY_KEYS);
    expect(summary).toMatchObject({
      exchanges: 200,
      wrongCryptograms: 0,
      errors: 0,
      statusCodes: { '200': 200 },
      model: 'closed',
      verified: 200,
      dropped: 0,
      thresholds: [],
      stages: [],
      firstWrongCryptograms: [],
      abortedBy: null,
    });
    expect(summary.exchangesPerSecond).toBeGreaterThan(0);
  });

  it('exits 1 on the known mix, with exact counts, one stderr line and an HTML report', async () => {
    const server = await start({ statusEvery: 7, wrongEvery: 10, authorization: 'Bearer tok' });
    const html = join(dir, 'out/load.html');
    const r = await runCli(
      ['load', '--config', configFile(server.url, 'mix.json'), '--concurrency', '5', '--exchanges', '700', '--json', '--report', `html:${html}`],
      { env },
    );
    expect(r.code).toBe(1);
    const summary = lastJsonLine(r.stdout) as { firstWrongCryptograms: Array<{ card: string; diagnosis: string }> };
    expect(summary).toMatchObject({ exchanges: 700, wrongCryptograms: 60, errors: 100, statusCodes: { '200': 600, '500': 100 } });
    expect(summary.firstWrongCryptograms).toHaveLength(5);
    for (const w of summary.firstWrongCryptograms) expect(['a', 'b']).toContain(w.card);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^cmcard: load failed: 60 response\(s\) failed card verification \(60 of 700; first: card [ab], challenge \S+: [^;]+\); error rate 14\.29%/,
    );
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/<svg[^>]*aria-label="latency histogram"/);
    expect(page).toMatch(/<rect /);
    expect(page).toContain('FAILED (exit 1)');
    expect(page).not.toMatch(/<script|<link|<img|\b(src|href)=/); // self-contained
  });

  it('--header replaces the config header of the same name for every exchange', async () => {
    const server = await start({ authorization: 'Bearer from-the-flag' });
    const r = await runCli(
      [
        'load',
        '--config',
        configFile(server.url, 'header.json'),
        '--header',
        'Authorization: Bearer from-the-flag',
        '--concurrency',
        '2',
        '--exchanges',
        '20',
        '--json',
      ],
      { env },
    );
    expect(r.code).toBe(0);
    expect(lastJsonLine(r.stdout)).toMatchObject({ exchanges: 20, errors: 0, statusCodes: { '200': 20 } });
    // Without the flag, the config's token is refused: the first minute says so in one line.
    const without = await runCli(['load', '--config', configFile(server.url, 'header.json'), '--concurrency', '2', '--exchanges', '20', '--json'], { env });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/^cmcard: the server refused the credentials in headers \(401/);
    expect(without.stderr).not.toContain('tok');
  });

  it('honours --duration (loose bound), prints a summary for people, and allows --max-error-rate (every 10th answer a 503, 15% allowed)', async () => {
    const server = await start({ statusEvery: 10, failStatus: 503, authorization: 'Bearer tok' });
    const json = join(dir, 'load.json');
    const r = await runCli(
      ['load', '--config', configFile(server.url, 'ok.json'), '--concurrency', '2', '--duration', '1', '--max-error-rate', '0.15', '--report', `json:${json}`],
      { env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrong cryptograms +0$/m);
    expect(r.stdout).toMatch(/^status codes +200: \d+, 503: \d+$/m);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { summary: { durationMs: number; exchanges: number; errors: number } };
    // Loose: the run ends at its deadline (the summary rounds to whole milliseconds).
    expect(report.summary.durationMs).toBeGreaterThanOrEqual(990);
    expect(report.summary.durationMs).toBeLessThan(15_000);
    // Two requests more reached the server: the first-minute check (reachability, then one probe as the caller).
    expect(report.summary.exchanges).toBe(server.requests() - 2);
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

  describe('thresholds: exit 0 when every one holds, 1 naming each breached one', () => {
    it('all hold on a clean server: exit 0, each listed as passed', async () => {
      const server = await start({ authorization: 'Bearer tok' });
      const held = ['p99<60000', 'p50<=60s', 'max<60000', 'errors<0.1%', 'errors<=0', 'wrong=0', 'rate>=1', 'dropped<1%'];
      const r = await runCli(
        [
          'load',
          '--config',
          configFile(server.url, 't-ok.json'),
          '--rate',
          '200',
          '--connections',
          '200',
          '--exchanges',
          '100',
          '--json',
          ...held.flatMap((t) => ['--threshold', t]),
        ],
        { env },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = lastJsonLine(r.stdout) as { thresholds: Array<{ threshold: string; pass: boolean }>; model: string };
      expect(summary.model).toBe('open');
      expect(summary.thresholds.map((t) => [t.threshold, t.pass])).toEqual(held.map((t) => [t, true]));
    });

    it('each kind breached: exit 1, the summary marks it failed and stderr names it', async () => {
      const server = await start({ statusEvery: 7, wrongEvery: 10, authorization: 'Bearer tok' });
      const breached = ['p99<0.001', 'max<0.001', 'errors<1%', 'errors<=5', 'wrong<1%', 'rate>=100000000', 'dropped>0'];
      const r = await runCli(
        [
          'load',
          '--config',
          configFile(server.url, 't-bad.json'),
          '--concurrency',
          '2',
          '--exchanges',
          '70',
          '--json',
          ...breached.flatMap((t) => ['--threshold', t]),
        ],
        { env },
      );
      expect(r.code).toBe(1);
      const summary = lastJsonLine(r.stdout) as { thresholds: Array<{ threshold: string; pass: boolean; actual: number }> };
      expect(summary.thresholds.map((t) => [t.threshold, t.pass])).toEqual(breached.map((t) => [t, false]));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      for (const t of breached) expect(r.stderr).toContain(`threshold ${t} breached`);
      // A wrong threshold replaces the default "no wrong cryptogram" rule; an errors one the default --max-error-rate 0.
      expect(r.stderr).not.toMatch(/failed card verification|--max-error-rate/);
    });

    it('a threshold on errors replaces the default --max-error-rate 0: exit 0 when it holds', async () => {
      const server = await start({ statusEvery: 10, failStatus: 503, authorization: 'Bearer tok' });
      const r = await runCli(
        ['load', '--config', configFile(server.url, 't-err.json'), '--concurrency', '2', '--exchanges', '100', '--json', '--threshold', 'errors<=10%'],
        { env },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(lastJsonLine(r.stdout)).toMatchObject({ errors: 10, thresholds: [{ threshold: 'errors<=10%', actual: 10, pass: true }] });
    });

    it('--abort-on-fail stops the run once a threshold can no longer hold', async () => {
      const server = await start({ wrongEvery: 1, authorization: 'Bearer tok' });
      const r = await runCli(
        [
          'load',
          '--config',
          configFile(server.url, 't-abort.json'),
          '--concurrency',
          '2',
          '--duration',
          '60',
          '--json',
          '--threshold',
          'wrong<5',
          '--abort-on-fail',
        ],
        { env, timeoutMs: 60_000 },
      );
      expect(r.code).toBe(1);
      const summary = lastJsonLine(r.stdout) as { abortedBy: string; durationMs: number; wrongCryptograms: number };
      expect(summary.abortedBy).toBe('wrong<5');
      expect(summary.wrongCryptograms).toBeGreaterThanOrEqual(5);
      expect(summary.durationMs).toBeLessThan(30_000); // loose: stopped long before its 60 s
      expect(r.stderr).toMatch(/threshold wrong<5 breached .*; stopped early: wrong<5 can no longer hold/);
    });
  });

  it('open model with stages: per-stage figures in the summary, rate and latency over time in the HTML report', async () => {
    const server = await start({ authorization: 'Bearer tok' });
    const html = join(dir, 'out/stages.html');
    const json = join(dir, 'out/stages.json');
    const r = await runCli(
      [
        'load',
        '--config',
        configFile(server.url, 'stages.json'),
        '--rate',
        '0',
        '--stages',
        '500ms:200,500ms:200',
        '--json',
        '--report',
        `html:${html}`,
        '--report',
        `json:${json}`,
      ],
      { env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = lastJsonLine(r.stdout) as {
      stages: Array<{ stage: number; from: number; to: number; exchanges: number; dropped: number }>;
      exchanges: number;
      dropped: number;
    };
    expect(summary.stages.map((s) => [s.stage, s.from, s.to, s.exchanges + s.dropped])).toEqual([
      [1, 0, 200, 50],
      [2, 200, 200, 100],
    ]);
    expect(summary.exchanges + summary.dropped).toBe(150);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/aria-label="rate over time"/);
    expect(page).toMatch(/aria-label="latency over time"/);
    expect(page).toContain('<h2>Stages</h2>');
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      schema: string;
      timeline: Array<{ completed: number }>;
      connections: number;
      summary: { stages: unknown[] };
    };
    expect(report.schema).toBe('cmcard/load-report@1');
    expect(report.timeline.reduce((n, p) => n + p.completed, 0)).toBe(summary.exchanges);
    expect(report.summary.stages).toHaveLength(2);
    expect(report.connections).toBe(20); // enough for 100 ms at the peak rate of 200/s
  });

  // Rate accuracy against the reference server in its own process: 2,000 exchanges per
  // second for 10 s. The schedule fixes the count due (20,000); what is measured is how many
  // of them started (the rest were dropped because every connection was busy) and that
  // every answer verified. 1024 connections absorb half a second of server latency at this
  // rate, so a busy shared machine delays answers (and shows in the latency) but does not
  // drop exchanges.
  describe('rate accuracy against the reference server', () => {
    let reference: { url: string; stop: () => Promise<void> } | undefined;
    beforeAll(async () => {
      reference = await startReferenceServer(BIN);
    });
    afterAll(async () => {
      await reference?.stop();
    });
    it('--rate 2000 for 10 s: within 1% of the rate, every exchange verified', { timeout: 90_000 }, async () => {
      const r = await runCli(['load', '--server', reference!.url, '--rate', '2000', '--duration', '10', '--connections', '1024', '--warmup', '1', '--json'], {
        timeoutMs: 80_000,
      });
      expect(r.stderr).toBe('');
      const s = lastJsonLine(r.stdout) as {
        exchanges: number;
        dropped: number;
        verified: number;
        wrongCryptograms: number;
        errors: number;
        exchangesPerSecond: number;
        latencyMs: { p99: number };
      };
      console.log(
        `rate accuracy: ${s.exchanges} started of 20000 due (${s.dropped} dropped), ${s.exchangesPerSecond}/s over the run, p99 ${s.latencyMs.p99} ms`,
      );
      expect(s.exchanges + s.dropped).toBe(20_000);
      const achieved = s.exchanges / 10; // started per second of schedule
      expect(Math.abs(achieved - 2000) / 2000).toBeLessThanOrEqual(0.01);
      expect(s.verified).toBe(s.exchanges);
      expect(s).toMatchObject({ wrongCryptograms: 0, errors: 0 });
      expect(r.code).toBe(0);
    });
  });

  describe('usage and config errors: exit 2, one line naming the problem', () => {
    let server: LoadServer;
    beforeAll(async () => {
      server = await start({});
    });
    const cases: Array<[string, string[], RegExp]> = [
      ['no bound', ['--concurrency', '2'], /exactly one of --duration SECONDS, --exchanges N or --stages LIST/],
      ['both bounds', ['--concurrency', '2', '--duration', '1', '--exchanges', '5'], /exactly one of/],
      ['no concurrency', ['--exchanges', '5'], /--concurrency N is required: the number of workers \(1-1024\).*or give --rate N for the open model/],
      [
        'concurrency with rate',
        ['--rate', '10', '--concurrency', '2', '--exchanges', '5'],
        /--concurrency is the closed model's worker count: with --rate .* give --connections/,
      ],
      ['connections without rate', ['--concurrency', '2', '--connections', '4', '--exchanges', '5'], /--connections caps the open model \(--rate N\)/],
      ['bad rate', ['--rate', 'fast', '--exchanges', '5'], /--rate must be a number above 0 and at most 1000000, got 'fast'/],
      ['zero rate', ['--rate', '0', '--exchanges', '5'], /--rate must be a number above 0/],
      [
        'too many connections',
        ['--rate', '10', '--connections', '5000', '--exchanges', '5'],
        /--connections must be a whole number from 1 to 1024, got '5000'/,
      ],
      ['stages and duration', ['--stages', '1s:2', '--duration', '1'], /--stages sets how long the run lasts: give it without --duration or --exchanges/],
      ['bad stage', ['--stages', '1s:2,3q:4'], /--stages: stage 2 '3q:4' must be DURATION:TARGET/],
      ['too many workers in a stage', ['--stages', '1s:2000'], /--stages: stage 1 '1s:2000' needs a target from 0 to 1024/],
      ['stages that run nothing', ['--rate', '0', '--stages', '1s:0'], /the rate is 0 in every stage/],
      ['bad threshold', ['--concurrency', '1', '--exchanges', '5', '--threshold', 'p99<fast'], /--threshold 'p99<fast' is not METRIC OP VALUE/],
      ['threshold in the wrong unit', ['--concurrency', '1', '--exchanges', '5', '--threshold', 'rate>5ms'], /rate is exchanges per second, not ms/],
      ['zero concurrency', ['--concurrency', '0', '--exchanges', '5'], /--concurrency must be a whole number from 1 to 1024, got '0'/],
      ['bad duration', ['--concurrency', '1', '--duration', 'soon'], /--duration must be a number of seconds above 0 and at most 86400, got 'soon'/],
      ['bad error rate', ['--concurrency', '1', '--exchanges', '5', '--max-error-rate', '5'], /--max-error-rate must be a number from 0 to 1/],
      [
        'negative warm-up',
        ['--concurrency', '1', '--exchanges', '5', '--warmup', '-1'],
        /--warmup must be a number of seconds from 0 and at most 3600, got '-1'/,
      ],
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
