/**
 * `cmcard init` as a user runs it: the file it writes, what it says to fill in, that it
 * never overwrites by accident, and that the written file, once filled in, is a config the
 * loader accepts (`$schema` included) and a conformance run passes with.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CARD } from '../../contracts/fixtures.js';
import { PLACEHOLDER, schemaPathFor } from '../../harness/commands/init.js';
import { parseConfig } from '../../harness/config.js';
import { startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cmcard-init-'));
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
/** What a user exports before the first run against the reference server's documented example card. */
const DEMO_ENV = { CM_TOKEN: 'demo-helpdesk', CM_TOKEN_NO_RIGHTS: 'demo-user', CM_ADMIN_KEY: EXAMPLE_CARD.adminKey };

describe('cmcard init', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startReferenceServer({ port: 0, quiet: true });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes cmcard.json in the current folder by default, with $schema, ${ENV} credentials and card placeholders', async () => {
    const cwd = mkdtempSync(join(dir, 'default-'));
    const r = await runCli(['init', '--server', 'https://cm.contoso.com/'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const config = readJson(join(cwd, 'cmcard.json'));
    expect(config.$schema).toBe('./node_modules/cmcard/schemas/config.schema.json');
    expect(config.server).toBe('https://cm.contoso.com');
    expect(config.headers).toEqual({ Authorization: 'Bearer ${CM_TOKEN}' });
    expect(config.forbiddenHeaders).toEqual({ Authorization: 'Bearer ${CM_TOKEN_NO_RIGHTS}' });
    expect(config.cards).toEqual([
      { name: 'card1', reqid: PLACEHOLDER.reqid, scid: PLACEHOLDER.scid, cardid: PLACEHOLDER.cardid, adminKey: '${CM_ADMIN_KEY}' },
    ]);
    // What to fill in: every placeholder and variable is named, and the next command.
    for (const word of ['cards[0]', 'CM_ADMIN_KEY', 'CM_TOKEN', 'CM_TOKEN_NO_RIGHTS', 'npx cmcard conformance --config cmcard.json'])
      expect(r.stdout).toContain(word);
    expect(r.stdout).not.toMatch(/^ {2}server /m);
  });

  it('unfilled, the file fails to load with one line naming the first placeholder key', async () => {
    const cwd = mkdtempSync(join(dir, 'unfilled-'));
    expect((await runCli(['init'], { cwd })).code).toBe(0);
    expect(readJson(join(cwd, 'cmcard.json')).server).toBe(PLACEHOLDER.server);
    const noServer = await runCli(['conformance', '--config', 'cmcard.json'], { cwd, env: DEMO_ENV });
    expect(noServer.code).toBe(2);
    expect(noServer.stderr.trim().split('\n')).toHaveLength(1);
    expect(noServer.stderr).toMatch(/cmcard\.json: server is not a URL/);
    const noCard = await runCli(['conformance', '--config', 'cmcard.json', '--server', server.url], { cwd, env: DEMO_ENV });
    expect(noCard.code).toBe(2);
    expect(noCard.stderr).toMatch(/cmcard\.json: cards\[0\]\.reqid is not a GUID/);
    const noEnv = await runCli(['conformance', '--config', 'cmcard.json', '--server', server.url], { cwd, env: { CM_TOKEN: '', CM_TOKEN_NO_RIGHTS: '' } });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toMatch(/cards\[0\]\.adminKey uses \$\{CM_ADMIN_KEY\}, but environment variable CM_ADMIN_KEY is not set/);
  });

  it('filled in, the file (with its $schema) loads and a conformance run against a reference server passes', async () => {
    const cwd = mkdtempSync(join(dir, 'filled-'));
    expect((await runCli(['init', '--server', server.url], { cwd })).code).toBe(0);
    const path = join(cwd, 'cmcard.json');
    const text = readFileSync(path, 'utf8')
      .replace(PLACEHOLDER.reqid, EXAMPLE_CARD.reqid)
      .replace(PLACEHOLDER.scid, EXAMPLE_CARD.scid)
      .replace(PLACEHOLDER.cardid, EXAMPLE_CARD.cardid);
    writeFileSync(path, text);
    const report = join(cwd, 'report.json');
    const r = await runCli(['conformance', '--config', 'cmcard.json', '--report', `json:${report}`], { cwd, env: DEMO_ENV, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = readJson(report).summary as { passed: number; failed: number };
    expect(summary.failed).toBe(0);
    expect(summary.passed).toBeGreaterThan(10);
  });

  it('refuses to overwrite an existing file unless --force, and leaves it untouched', async () => {
    const cwd = mkdtempSync(join(dir, 'force-'));
    writeFileSync(join(cwd, 'cm.json'), '{"mine": true}\n');
    const refused = await runCli(['init', '--output', 'cm.json'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('cmcard: --output cm.json exists; pass --force to overwrite it\n');
    expect(refused.stdout).toBe('');
    expect(readFileSync(join(cwd, 'cm.json'), 'utf8')).toBe('{"mine": true}\n');
    const forced = await runCli(['init', '--output', 'cm.json', '--force'], { cwd });
    expect(forced.code).toBe(0);
    expect(readJson(join(cwd, 'cm.json')).cards).toHaveLength(1);
  });

  it("points $schema at the project's node_modules from a file in a subfolder", async () => {
    const cwd = mkdtempSync(join(dir, 'sub-'));
    mkdirSync(join(cwd, 'ci/cm'), { recursive: true });
    expect((await runCli(['init', '--output', 'ci/cm/cmcard.json'], { cwd })).code).toBe(0);
    expect(readJson(join(cwd, 'ci/cm/cmcard.json')).$schema).toBe('../../node_modules/cmcard/schemas/config.schema.json');
    expect(schemaPathFor('cmcard.json', '/p')).toBe('./node_modules/cmcard/schemas/config.schema.json');
  });

  it('the config loader takes a string $schema and refuses any other', () => {
    const card = { reqid: EXAMPLE_CARD.reqid, scid: EXAMPLE_CARD.scid, cardid: EXAMPLE_CARD.cardid, adminKey: EXAMPLE_CARD.adminKey };
    const config = { $schema: './x.json', server: 'http://127.0.0.1:1', cards: [card] };
    expect(parseConfig(config, 'cm.json').cards).toHaveLength(1);
    expect(() => parseConfig({ ...config, $schema: 5 }, 'cm.json')).toThrow(/^cm\.json: \$schema must be a string/);
  });

  it.each([
    [['--server', 'cm.contoso.com'], /--server is not a URL/],
    [['--server', 'https://cm.contoso.com/CertificateManagement'], /--server must be an origin/],
    [['--output', '/nonexistent-dir/cmcard.json'], /--output \/nonexistent-dir\/cmcard\.json cannot be written \(ENOENT\)/],
  ])('exits 2 with one line on bad input %j, writing nothing', async (args, message) => {
    const cwd = mkdtempSync(join(dir, 'bad-'));
    const r = await runCli(['init', ...args], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(() => readFileSync(join(cwd, 'cmcard.json'))).toThrow();
  });
});
