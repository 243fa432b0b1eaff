import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../harness/cases/index.js';
import { startReferenceServer } from '../../reference-server/index.js';
import { ROOT, runCli } from '../support/cli.js';
import { serverOnlyConfig } from '../../harness/target.js';
import { BROKEN_SERVER_CARDS, startBrokenServer } from './support/broken-server.js';
import { acceptsDuplicateAuthorization } from './support/duplicate-auth.js';

// The commands as a user runs them: the built bin, exit codes, files written.

const dir = mkdtempSync(join(tmpdir(), 'cmcard-conformance-'));

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * auth.duplicate (SHOULD) holds exactly when the reference server refuses a second
 * Authorization header; one from before that refusal takes the first, and then the case
 * must warn. Asked once of a reference server like the embedded one.
 */
let duplicateWarns = false;
beforeAll(async () => {
  const probe = await startReferenceServer({ port: 0, quiet: true });
  try {
    duplicateWarns = await acceptsDuplicateAuthorization(serverOnlyConfig(probe.url));
  } finally {
    await probe.close();
  }
});
const warned = (): number => (duplicateWarns ? 1 : 0);

describe('cmcard conformance', () => {
  it('embedded default: exit 0 and all three report files written', async () => {
    const json = join(dir, 'out/report.json');
    const junit = join(dir, 'out/report.xml');
    const html = join(dir, 'out/report.html');
    const r = await runCli(['conformance', '--report', `json:${json}`, '--report', `junit:${junit}`, '--report', `html:${html}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${CATALOGUE.length - warned()} passed, 0 failed, ${warned()} warnings?`));

    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.schema).toBe('cmcard/conformance-report@1');
    expect(report.summary).toEqual({ passed: CATALOGUE.length - warned(), failed: 0, warnings: warned(), skipped: 0 });
    expect(report.cases.map((c: { id: string }) => c.id)).toEqual(CATALOGUE.map((c) => c.id));
    expect(readFileSync(json, 'utf8')).not.toContain('demo-helpdesk');

    const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit, 'utf8'));
    const suites = xml.testsuites?.testsuite ?? xml.testsuite;
    const cases = [suites].flat().flatMap((s: { testcase: unknown }) => [s.testcase].flat());
    expect(cases).toHaveLength(CATALOGUE.length);

    const page = readFileSync(html, 'utf8');
    for (const c of CATALOGUE) expect(page).toContain(c.id);
  });

  it('--grep selects cases', async () => {
    const json = join(dir, 'grep.json');
    const r = await runCli(['conformance', '--grep', '^auth\\.', '--report', `json:${json}`]);
    expect(r.code).toBe(0);
    const ids = JSON.parse(readFileSync(json, 'utf8')).cases.map((c: { id: string }) => c.id);
    expect(ids).toEqual(['auth.forbidden', 'auth.anonymous', 'auth.invalid', 'auth.duplicate']);
  });

  it('--skip leaves cases out (after --grep), --list lists without running (no server needed)', async () => {
    const json = join(dir, 'skip.json');
    const r = await runCli(['conformance', '--grep', '^auth\\.', '--skip', 'duplicate|invalid', '--report', `json:${json}`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8')).cases.map((c: { id: string }) => c.id)).toEqual(['auth.forbidden', 'auth.anonymous']);

    const port = await closedPort();
    const list = await runCli(['conformance', '--list', '--server', `http://127.0.0.1:${port}`]);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe('');
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(CATALOGUE.length);
    expect(lines.find((l) => l.includes('example.documented'))).toMatch(
      /^MUST {4}example\.documented +The documented example request .*\(needs a card equal to the documented example\)$/,
    );
    expect(lines.find((l) => l.includes('auth.duplicate'))).toMatch(/^SHOULD {2}auth\.duplicate /);
    const some = await runCli(['conformance', '--list', '--grep', '^secrets']);
    expect(some.stdout).toMatch(/^MUST {4}secrets\.no-leak /);
    expect(some.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--strict makes a warning exit 1; --header replaces the configured credential', async () => {
    const server = await startBrokenServer('duplicate-auth-first-wins');
    try {
      const path = join(dir, 'strict.json');
      writeFileSync(
        path,
        JSON.stringify({
          server: server.url,
          headers: { Authorization: 'Bearer wrong-token' },
          forbiddenHeaders: { Authorization: 'Bearer user-token' },
          cards: BROKEN_SERVER_CARDS.map((c) => ({ name: c.name, reqid: c.reqid, scid: c.scid, cardid: c.cardid, adminKey: c.adminKey.toString('hex') })),
        }),
      );
      const args = ['conformance', '--config', path, '--grep', '^auth\\.duplicate$', '--header', 'Authorization: Bearer helpdesk-token'];
      const lenient = await runCli(args);
      expect(lenient.stdout).toMatch(/WARN {2}SHOULD {2}auth\.duplicate/);
      expect(lenient.code).toBe(0);
      const strict = await runCli([...args, '--strict']);
      expect(strict.code).toBe(1);
      expect(strict.stdout + strict.stderr).not.toContain('helpdesk-token');
      const bad = await runCli(['conformance', '--header', 'no colon here']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--header must look like 'Name: value'/);
      expect(bad.stderr).not.toContain('no colon here');
    } finally {
      await server.close();
    }
  });

  it('a failing case shows the exchange it failed on, why, and a curl that reproduces it with the token as a variable', async () => {
    const server = await startBrokenServer('ignore-diversified');
    try {
      const path = join(dir, 'ignore-diversified.json');
      writeFileSync(
        path,
        JSON.stringify({
          server: server.url,
          headers: { Authorization: 'Bearer ${BROKEN_TOKEN}' },
          cards: BROKEN_SERVER_CARDS.slice(1, 2).map((c) => ({
            name: c.name,
            reqid: c.reqid,
            scid: c.scid,
            cardid: c.cardid,
            adminKey: c.adminKey.toString('hex'),
            diversifiedKey: (c.diversifiedKey as Buffer).toString('hex'),
          })),
        }),
      );
      const r = await runCli(['conformance', '--config', path, '--grep', '^response\\.diversified$'], { env: { BROKEN_TOKEN: 'helpdesk-token' } });
      expect(r.code).toBe(1);
      const lines = r.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith('FAIL'));
      // The diversified=True request, not the last one sent.
      expect(lines[at + 1]).toMatch(/^ {6}GET http:\/\/127\.0\.0\.1:\d+\/\S+diversified=True -> 200 \(\d+ ms\) \[failed on request \d of 2\]$/);
      expect(lines[at + 2]).toMatch(/^ {6}body: "\\"[A-Za-z0-9+/]{11}=\\""$/);
      expect(lines[at + 3]).toBe("      why: it was computed with the template's default key (diversified=false's key)");
      expect(lines[at + 4]).toMatch(
        /^ {6}reproduce: curl -sS -i -g 'http:\/\/127\.0\.0\.1:\d+\/\S+diversified=True' -H "Authorization: Bearer \$\{BROKEN_TOKEN\}" -H 'Accept: application\/json'$/,
      );
      expect(r.stdout).not.toContain('helpdesk-token');
    } finally {
      await server.close();
    }
  });

  it('a MUST failure exits 1 (a server with the wrong key, through a config file)', async () => {
    const server = await startBrokenServer('wrong-key');
    try {
      const path = join(dir, 'broken.json');
      writeFileSync(
        path,
        JSON.stringify({
          server: server.url,
          headers: { Authorization: 'Bearer ${BROKEN_TOKEN}' },
          timeoutMs: 2000,
          cards: BROKEN_SERVER_CARDS.map((c) => ({ name: c.name, reqid: c.reqid, scid: c.scid, cardid: c.cardid, adminKey: c.adminKey.toString('hex') })),
        }),
      );
      const r = await runCli(['conformance', '--config', path, '--grep', '^response\\.correct$'], { env: { BROKEN_TOKEN: 'helpdesk-token' } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAIL.*response\.correct/);
      expect(r.stdout).not.toContain('helpdesk-token');
    } finally {
      await server.close();
    }
  });

  it.each([
    [['--grep', '['], /--grep '\[' is not a valid regular expression/],
    [['--grep', 'no-such-case'], /matches no case id/],
    [['--report', 'pdf:x.pdf'], /unknown format 'pdf'/],
    [['--timeout', 'soon'], /--timeout must be a positive whole number/],
    [['--skip', '.'], /--skip '\.' leaves no case to run/],
    [['--skip', '('], /--skip '\(' is not a valid regular expression/],
    // Node's recursive mkdir spins there forever; the check must end.
    [['--report', 'junit:/proc/nope/r.xml'], /--report junit:\/proc\/nope\/r\.xml: cannot write \/proc\/nope\/r\.xml \((ENOENT|EACCES|EROFS)\)/],
    [['--config', join(dir, 'absent.json')], /absent\.json: cannot read the config file/],
    [['--no-such-flag'], /unknown option/],
  ])('usage and config errors exit 2 with one line: %j', async (args, message) => {
    const r = await runCli(['conformance', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an unreachable server exits 3 with one line', async () => {
    const port = await closedPort();
    const r = await runCli(['conformance', '--server', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unreachable.*connection refused/);
    expect(r.stdout).toBe('');
  });

  describe('--server alone (documented example card, demo tokens)', () => {
    let server: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      server = await startReferenceServer({ port: 0, quiet: true });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('passes against a reference server, skipping what needs two cards or an ATR', async () => {
      const json = join(dir, 'server-only.json');
      const r = await runCli(['conformance', '--server', server.url, '--report', `json:${json}`]);
      expect(r.code).toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8'));
      expect(report.summary.failed).toBe(0);
      expect(report.summary.warnings).toBe(warned());
      // The documented example card's default key is DES-weak: said once, in the notes.
      expect(report.notes).toEqual([expect.stringMatching(/^every configured admin key is DES-weak/)]);
      const skipped = report.cases.filter((c: { outcome: string }) => c.outcome === 'skipped').map((c: { id: string }) => c.id);
      expect(skipped).toEqual(['ids.request-mismatch', 'query.atr']);
    });

    it('cmcard unlock prints each step and exits 0', async () => {
      const r = await runCli(['unlock', '--server', server.url]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/PIN blocked/);
      expect(r.stdout).toMatch(/the unblock screen shows [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}/);
      expect(r.stdout).toMatch(
        /> GET http:\/\/127\.0\.0\.1:\d+\/CertificateManagement\/api\/v1\.0\/requests\/.*authenticationresponse\?cardid=.*&challenge=.*&diversified=True/,
      );
      expect(r.stdout).toMatch(/< 200 application\/json.*"[A-Za-z0-9+/]{11}="/);
      expect(r.stdout).toMatch(/card verdict: response accepted/);
      expect(r.stdout).toMatch(/new PIN verified/);
      expect(r.stdout).not.toContain('demo-helpdesk');
    });

    it('cmcard unlock --header replaces the configured credential (the no-rights token is refused)', async () => {
      const r = await runCli(['unlock', '--server', server.url, '--header', 'Authorization: Bearer demo-user']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/unlock failed: .*answered 403/);
      expect(r.stdout).toMatch(/ {3}< 403 /);
      expect(r.stdout + r.stderr).not.toContain('demo-user');
    });
  });
});

describe('cmcard unlock', () => {
  it('embedded default, with the Unblock request created and completed', async () => {
    const r = await runCli(['unlock', '--card', 'tpm-1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Unblock request created/);
    expect(r.stdout).toMatch(/request completed/);
  });

  it('an unknown --card exits 2 naming the cards', async () => {
    const r = await runCli(['unlock', '--card', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--card 'nope' is not in embedded reference server; cards: example/);
  });

  it('a server that answers wrong exits 1 with the reason', async () => {
    const server = await startBrokenServer('decrypt');
    try {
      const path = join(dir, 'decrypt.json');
      const alpha = BROKEN_SERVER_CARDS[1]!;
      writeFileSync(
        path,
        JSON.stringify({
          server: server.url,
          headers: { Authorization: 'Bearer helpdesk-token' },
          cards: [{ name: 'alpha', reqid: alpha.reqid, scid: alpha.scid, cardid: alpha.cardid, adminKey: alpha.adminKey.toString('hex') }],
        }),
      );
      const r = await runCli(['unlock', '--config', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/unlock failed: .*decryption/);
    } finally {
      await server.close();
    }
  });
});

describe('npm start', () => {
  it('runs the suite against the embedded server and exits 0', async () => {
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...process.env, PACT_DO_NOT_TRACK: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout });
      });
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\d+ passed, 0 failed/);
  });
});
