import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeed } from '../../reference-server/index.js';
import { BIN, runCli } from '../support/cli.js';
import { EX, HELPDESK, raw, responsePath } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'cmcard-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `cmcard serve` as a user would and resolves with its first stdout line. */
function serve(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
  void exited.finally(() => clearTimeout(kill));
  const firstLine = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      stdout += `${line}\n`;
      resolve(line);
    });
    rl.on('line', (line) => (stdout += `${line}\n`));
    void exited.then(() => reject(new Error(`serve exited before printing its URL: ${stderr}`)));
  });
  return { child, firstLine, exited, output: () => ({ stdout, stderr }) };
}

describe('cmcard serve', () => {
  it('prints the origin first, serves the documented example, and ends with exit 0 on SIGTERM', async () => {
    const s = serve(['--port', '0']);
    const url = await s.firstLine;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await raw(
      url,
      responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`, '/certificatemanagement/api/v1.0'),
      { headers: HELPDESK },
    );
    expect(r.body).toBe('"F0Zudm4wPLY="');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const { stdout, stderr } = s.output();
    for (const secret of ['F0Zudm4wPLY=', '00'.repeat(24), 'mBVA+', '0102030405060708']) expect(stdout + stderr).not.toContain(secret);
  });

  it('keeps data in --db across runs and prints its audit trail with --print-audit [--json]', { timeout: 60_000 }, async () => {
    const db = join(dir, 'cli.db');
    const s = serve(['--port', '0', '--db', db, '--quiet']);
    const url = await s.firstLine;
    await raw(url, responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`), { headers: HELPDESK });
    await raw(url, responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`), {});
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
    expect(s.output().stderr).toBe('');

    const text = await runCli(['serve', '--db', db, '--print-audit']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('demo-helpdesk authenticationresponse 200 granted');
    expect(lines[1]).toContain('(anonymous) authenticationresponse 401 refused');
    const json = await runCli(['serve', '--db', db, '--print-audit', '--json']);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows[0]).toMatchObject({
      principal: 'demo-helpdesk',
      action: 'authenticationresponse',
      reqid: EX.reqid,
      scid: EX.scid,
      cardid: EX.cardid,
      status: 200,
    });
    expect(json.stdout).not.toContain('F0Zudm4wPLY=');
  });

  it('loads --seed FILE (starting from --print-seed)', { timeout: 60_000 }, async () => {
    const printed = await runCli(['serve', '--print-seed']);
    expect(printed.code).toBe(0);
    const seed = JSON.parse(printed.stdout) as ReturnType<typeof defaultSeed>;
    expect(seed).toEqual(defaultSeed());
    seed.principals.push({ name: 'ops', token: 'a-long-token-for-operations', roles: ['sensitive'] });
    const file = join(dir, 'seed.json');
    writeFileSync(file, JSON.stringify(seed));
    const s = serve(['--port', '0', '--seed', file, '--quiet']);
    const url = await s.firstLine;
    const r = await raw(url, responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`), {
      headers: { Authorization: 'Bearer a-long-token-for-operations' },
    });
    expect(r.body).toBe('"F0Zudm4wPLY="');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('exits 2 with a one-line cause for bad flags, seed files and databases', { timeout: 90_000 }, async () => {
    const badSeed = join(dir, 'bad-seed.json');
    writeFileSync(badSeed, JSON.stringify({ templates: [], requests: [], smartcards: [], principals: [{ name: 'x', token: 'short', roles: [] }] }));
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{ nope');
    const cases: [string[], RegExp][] = [
      [['--port', 'eighty'], /--port must be a number/],
      [['--port', '70000'], /--port must be a number/],
      [['--seed', badSeed], /bad-seed\.json: principals\[0\]\.token must be at least 16 characters/],
      [['--seed', notJson], /not-json\.json is not valid JSON/],
      [['--seed', join(dir, 'missing.json')], /cannot read seed file .*missing\.json: ENOENT/],
      [['--print-audit'], /--print-audit needs --db FILE/],
      [['--print-audit', '--db', join(dir, 'absent.db')], /--db .*absent\.db cannot be read/],
      [['--json'], /--json goes with --print-audit/],
      [['--port', '0', '--db', join(dir, 'no-such-dir', 'cm.db')], /--db .*no-such-dir.*: its directory does not exist/],
      // Refused before anything is bound, so the test stays off the network.
      [['--port', '0', '--host', '0.0.0.0', '--provider-states'], /--provider-states works only on loopback: --host 0\.0\.0\.0 is not a loopback address/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['serve', ...args], { timeoutMs: 15_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
