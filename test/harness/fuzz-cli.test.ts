import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { INVARIANTS } from '../../harness/fuzz/invariants.js';
import { runCli } from '../support/cli.js';
import { startFuzzBrokenServer, type FuzzDefect, type FuzzTarget } from './support/fuzz-broken-servers.js';

// `cmcard fuzz` as a user runs it: the built bin, its exit codes, its reports, and the
// replay command it prints, run again as printed.

const dir = mkdtempSync(join(tmpdir(), 'cmcard-fuzz-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKENS = { FUZZ_TOKEN: 'demo-helpdesk', FUZZ_NO_RIGHTS: 'demo-user' };

/** A config file for a broken server, credentials through ${ENV} as a user would keep them. */
function configFile(server: FuzzTarget, name: string): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      server: server.url,
      headers: { Authorization: 'Bearer ${FUZZ_TOKEN}' },
      forbiddenHeaders: { Authorization: 'Bearer ${FUZZ_NO_RIGHTS}' },
      lifecycle: true,
      cards: server.config.cards.map((c) => ({
        name: c.name,
        reqid: c.reqid,
        scid: c.scid,
        cardid: c.cardid,
        ...(c.atr ? { atr: c.atr } : {}),
        adminKey: c.adminKey.toString('hex'),
        ...(c.diversifiedKey instanceof Buffer ? { diversifiedKey: c.diversifiedKey.toString('hex') } : {}),
      })),
    }),
  );
  return path;
}

/** The words of a printed command line (bare words and '...' quoted ones, as replayCommand writes them). */
function words(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!));
}

function closedPort(): Promise<number> {
  return new Promise((resolvePort) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

async function withServer<T>(defect: FuzzDefect, body: (server: FuzzTarget) => Promise<T>): Promise<T> {
  const server = await startFuzzBrokenServer(defect);
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

describe('cmcard fuzz', () => {
  it('embedded default: exit 0, every invariant passes, the stats line, and the three reports', async () => {
    const json = join(dir, 'out/fuzz.json');
    const junit = join(dir, 'out/fuzz.xml');
    const html = join(dir, 'out/fuzz.html');
    const r = await runCli(['fuzz', '--runs', '40', '--seed', '3', '--report', `json:${json}`, '--report', `junit:${junit}`, '--report', `html:${html}`], {
      timeoutMs: 120_000,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cmcard \S+ fuzz: 10 invariants against http:\/\/127\.0\.0\.1:\d+$/m);
    expect(r.stdout).toMatch(new RegExp(`${INVARIANTS.length} passed, 0 failed, 0 warnings, 0 skipped`));
    expect(r.stdout).toMatch(/^fuzz: 40 sequences \(0 shrink runs\), \d+ steps in [\d.]+ s: [\d.]+ sequences\/s, [\d.]+ steps\/s, seed 3$/m);

    const report = JSON.parse(readFileSync(json, 'utf8')) as { cases: Array<{ id: string; outcome: string }> };
    const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../harness/reporters/report.schema.json'), 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(report), ajv.errorsText(validate.errors)).toBe(true);
    expect(report.cases.map((c) => c.id)).toEqual(INVARIANTS.map((i) => i.id));
    expect(report.cases.every((c) => c.outcome === 'passed')).toBe(true);
    const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit, 'utf8'));
    expect([xml.testsuites.testsuite.testcase].flat()).toHaveLength(INVARIANTS.length);
    expect(readFileSync(html, 'utf8')).toContain('fuzz.retired-card-silent');
    for (const text of [r.stdout, readFileSync(json, 'utf8'), readFileSync(junit, 'utf8'), readFileSync(html, 'utf8')])
      expect(text).not.toContain('demo-helpdesk');
  }, 150_000);

  it('usage errors exit 2 with one line naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--runs', '5', '--duration', '1'], /--runs and --duration/],
      [['--runs', '0'], /--runs must be a positive whole number/],
      [['--duration', 'soon'], /--duration must be a positive number of seconds/],
      [['--seed', 'x'], /--seed must be a whole number/],
      [['--path', '1:2'], /--path replays a sequence of one seed: give --seed too/],
      [['--seed', '1', '--path', 'not a path'], /--path 'not a path' is not a replay path/],
      [['--seed', '1', '--path', '1', '--runs', '3'], /--path replays one sequence/],
      [['--report', 'pdf:x.pdf'], /--report 'pdf:x.pdf': unknown format/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['fuzz', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 120_000);

  it('an unreachable server exits 3', async () => {
    const r = await runCli(['fuzz', '--server', `http://127.0.0.1:${await closedPort()}`, '--runs', '5']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/server unreachable/);
  });

  it('a MUST break exits 1, prints numbered curl steps, and its printed replay command reproduces it', async () => {
    await withServer('key-after-forbidden', async (server) => {
      const config = configFile(server, 'key-after-forbidden');
      const r = await runCli(['fuzz', '--config', config, '--runs', '60', '--seed', '1'], { env: TOKENS, timeoutMs: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAIL {2}MUST {4}fuzz\.rights-enforced/m);
      expect(r.stdout).toMatch(/^ +1\. diversifiedkey .* as the forbidden caller -> 403$/m);
      expect(r.stdout).toContain('-H "Authorization: ${CM_FORBIDDEN_AUTHORIZATION}"');
      expect(r.stdout).not.toContain('demo-user');
      expect(r.stdout).not.toContain('demo-helpdesk');
      const replay = /replay: (cmcard fuzz .*)$/m.exec(r.stdout)?.[1];
      expect(replay).toBeDefined();
      const [cmcard, ...args] = words(replay!);
      expect(cmcard).toBe('cmcard');
      expect(args).toEqual(['fuzz', '--config', config, '--seed', expect.stringMatching(/^-?\d+$/), '--path', expect.stringMatching(/^\d+(:\d+)*(~\S+)?$/)]);

      const again = await runCli(args, { env: TOKENS, timeoutMs: 60_000 });
      expect(again.stderr).toBe('');
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/^FAIL {2}MUST {4}fuzz\.rights-enforced/m);
      expect(again.stdout).toMatch(/^fuzz: 1 sequences/m);
      expect(again.stdout).toContain(`replay: ${replay}`);
    });
  }, 240_000);

  it('a SHOULD break is a warning: exit 0', async () => {
    await withServer('answers-after-completed', async (server) => {
      const r = await runCli(['fuzz', '--config', configFile(server, 'completed'), '--runs', '150', '--seed', '1'], { env: TOKENS, timeoutMs: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^WARN {2}SHOULD {2}fuzz\.closed-request-silent .*step 3 of 3/m);
      expect(r.stdout).toMatch(/0 failed, 1 warning/);
    });
  }, 240_000);

  it('--duration ends the run by itself; without lifecycle the lifecycle invariants are skipped', async () => {
    // Killed at the timeout otherwise (code null): exit 0 means it stopped on its own.
    const timed = await runCli(['fuzz', '--duration', '1'], { timeoutMs: 60_000 });
    expect(timed.code).toBe(0);
    expect(timed.stdout).toMatch(/^fuzz: \d+ sequences/m);

    const server = await startFuzzBrokenServer();
    try {
      const plain = await runCli(['fuzz', '--server', server.url, '--runs', '20'], { timeoutMs: 60_000 });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toMatch(/^SKIP {2}SHOULD {2}fuzz\.retired-card-silent .*lifecycle is false/m);
      expect(plain.stdout).toMatch(/8 passed, 0 failed, 0 warnings, 2 skipped/);
    } finally {
      await server.close();
    }
  }, 150_000);
});
