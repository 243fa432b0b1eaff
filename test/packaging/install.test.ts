/**
 * The package as a CM team gets it: `npm pack`, installed into fresh projects (from the
 * tarball, globally, from a git clone) and used there as docs/install.md says: the CLI
 * (embedded server, a separately started `cmcard serve`, the card commands, init), the
 * library from ESM and CommonJS, the declarations under tsc, what npm asks to approve, and
 * the CI snippet's steps. Installs use the machine's npm cache (--prefer-offline) and never
 * the network beyond the npm registry; better-sqlite3 is installed from a local prebuild of
 * this repo's own compiled addon (see support/consumer.ts).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, EXAMPLE_CARD } from '../../contracts/fixtures.js';
import { PLACEHOLDER } from '../../harness/commands/init.js';
import { consumerEnv, explain, localPrebuildEnv, ROOT, run, startServe, stopServe, type RunResult } from './support/consumer.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const versionOf = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const DOCS = readFileSync(join(ROOT, 'docs/install.md'), 'utf8');
/** A docs line that starts with `prefix` (the commands the test runs are the documented ones). */
function docsLine(prefix: string): string {
  const line = DOCS.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`docs/install.md has no line starting with ${JSON.stringify(prefix)}`);
  return line.replace(/\s+#.*$/, '').trim();
}
/** The documented approval, e.g. `npm install-scripts approve cmcard better-sqlite3`, as npm arguments. */
const APPROVE = docsLine('npm install-scripts approve').split(/\s+/).slice(1);
const INSTALL_SCRIPTS_WARNING = /npm warn install-scripts/;

const gitRepo = (() => {
  try {
    execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', 'HEAD'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!gitRepo)
  console.log('packaging test: the git install is skipped: git is missing or this folder is not a git checkout (apt-get install -y git; git clone the repo)');

const work = mkdtempSync(join(tmpdir(), 'cmcard-packaging-'));
const app = join(work, 'app');
/** For npm install/ci runs: the local better-sqlite3 prebuild. */
let installEnv: NodeJS.ProcessEnv;
/** For everything else (npm would warn about the prebuild variables it does not know). */
const runEnv = consumerEnv();
let tarball: string;
let firstInstall: RunResult;
let serve: { child: ChildProcess; url: string } | undefined;

const npm = (args: string[], cwd: string, timeoutMs = 300_000): Promise<RunResult> => run('npm', args, { cwd, env: installEnv, timeoutMs });
const npx = (args: string[], cwd: string): Promise<RunResult> => run('npx', ['--no-install', ...args], { cwd, env: runEnv, timeoutMs: 120_000 });

beforeAll(async () => {
  installEnv = consumerEnv(await localPrebuildEnv(work));
  const packed = await npm(['pack', '--pack-destination', work], ROOT);
  expect(packed.code, explain('npm pack', packed)).toBe(0);
  tarball = join(work, `${pkg.name}-${pkg.version}.tgz`);
  expect(existsSync(tarball), `npm pack wrote no ${tarball}`).toBe(true);

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'cm-team-app', version: '1.0.0', private: true }, null, 2)}\n`);
  // typescript and @types/node only for the declarations check, at this repo's versions (in the npm cache).
  firstInstall = await npm(['install', '--save-dev', tarball, `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`], app);
  expect(firstInstall.code, explain('npm install of the tarball', firstInstall)).toBe(0);
  serve = await startServe(join(app, 'node_modules/.bin/cmcard'), app);
}, 600_000);

afterAll(async () => {
  await stopServe(serve?.child);
  rmSync(work, { recursive: true, force: true });
});

describe('installed from the tarball into a fresh project', () => {
  it("ships the library, its declarations, the pact and the schemas, and nothing of the repo's own tooling", () => {
    const root = join(app, 'node_modules/cmcard');
    for (const file of [
      'dist/bin/cmcard.js',
      'dist/simulator/index.d.ts',
      'dist/reference-server/index.d.ts',
      'dist/contracts/verify.d.ts',
      'dist/harness/reporters/json.d.ts',
      'contracts/pacts/cmcard-mim-cm.json',
      'harness/reporters/report.schema.json',
    ]) {
      expect(existsSync(join(root, file)), file).toBe(true);
    }
    for (const file of [
      'dist/bench',
      'dist/contracts/interactions.js',
      'dist/harness/cli.js.map',
      'dist/bin/cmcard.js.map',
      'dist/bin/cmcard.meta.json',
      'tools',
      'test',
      'bench',
      'tsconfig.json',
    ])
      expect(existsSync(join(root, file)), file).toBe(false);
    // Pact's consumer DSL (and the http-proxy under it) is a dev tool of this repo, not a runtime dependency.
    expect(existsSync(join(app, 'node_modules/@pact-foundation/pact'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/http-proxy'))).toBe(false);
  });

  it('asks approval for the install scripts of better-sqlite3 and the optional kerberos addon only (the CI snippet test below approves them as documented)', async () => {
    const pending = await npm(['install-scripts', 'ls', '--json'], app);
    expect(pending.code, explain('npm install-scripts ls (needs npm 11 with allowScripts)', pending)).toBe(0);
    const names = (JSON.parse(pending.stdout) as { allowScripts: Array<{ name: string }> }).allowScripts.map((p) => p.name);
    expect(names).toEqual(['better-sqlite3', 'kerberos']);
    expect(firstInstall.stderr).toMatch(/install-scripts +better-sqlite3@/);
    expect(existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
  });

  it('npx cmcard conformance passes against the embedded reference server', async () => {
    const r = await npx(['cmcard', 'conformance'], app);
    expect(r.stderr).toBe('');
    expect(r.code, explain('npx cmcard conformance', r)).toBe(0);
    expect(r.stdout).toMatch(/\b[1-9]\d* passed, 0 failed/);
  });

  it('npx cmcard conformance passes against a separately started cmcard serve', async () => {
    expect(serve?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await npx(['cmcard', 'conformance', '--server', serve!.url], app);
    expect(r.code, explain('npx cmcard conformance --server', r)).toBe(0);
    expect(r.stdout).toMatch(/\b[1-9]\d* passed, 0 failed/);
  });

  it("npx cmcard verify-pact verifies the shipped pact with Pact's core alone (pact-js is not installed)", async () => {
    const r = await npx(['cmcard', 'verify-pact'], app);
    expect(r.stderr).toBe('');
    expect(r.code, explain('npx cmcard verify-pact', r)).toBe(0);
    expect(r.stdout).toMatch(/(\d+) interactions: \1 passed, 0 failed, 0 skipped/);
  });

  it('npx cmcard card new / status / verify-pin work on a card file in the project', async () => {
    const key = '0102030405060708'.repeat(3);
    const created = await npx(['cmcard', 'card', 'new', '--state', 'card.json', '--admin-key', key, '--pin', '1234'], app);
    expect(created.code, explain('cmcard card new', created)).toBe(0);
    expect(created.stdout).toMatch(/^created card [0-9a-f-]{36} in card\.json/);
    const wrong = await npx(['cmcard', 'card', 'verify-pin', '--state', 'card.json', '--pin', '0000'], app);
    expect(wrong.code).toBe(1);
    const status = await npx(['cmcard', 'card', 'status', '--state', 'card.json'], app);
    expect(status.code).toBe(0);
    // The key check value computed here with node:crypto, not by cmcard: 3DES of a zero block, first 3 bytes.
    const kcv = createCipheriv('des-ede3', Buffer.from(key, 'hex'), null).update(Buffer.alloc(8)).subarray(0, 3).toString('hex').toUpperCase();
    expect(status.stdout).toMatch(new RegExp(`admin key +KCV ${kcv} \\(3-key 3DES\\), 5 of 5 attempts left`));
    expect(status.stdout).toMatch(/PIN +2 of 3 tries left/);
  });

  it('imports cmcard/simulator and cmcard/reference-server from an ES module (the native addon loads)', async () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { VirtualCard, tdesEncrypt, describeResult } from 'cmcard/simulator';
import { startReferenceServer } from 'cmcard/reference-server';
const key = Buffer.from('0123456789abcdef23456789abcdef01456789abcdef0123', 'hex');
const card = VirtualCard.create({ adminKey: key, pin: '1234' });
card.blockPin();
console.log(describeResult(card.unblockPin(tdesEncrypt(key, card.getChallenge()), '5678')));
const server = await startReferenceServer({ host: '127.0.0.1', port: 0, quiet: true });
const path = '/CertificateManagement/api/v1.0/requests/${EXAMPLE_CARD.reqid}/smartcards/${EXAMPLE_CARD.scid}/authenticationresponse';
const res = await fetch(server.url + path + '?cardid=${EXAMPLE_CARD.cardid}&challenge=' + encodeURIComponent('${EXAMPLE.challenge}') + '&diversified=False', { headers: { Authorization: 'Bearer demo-helpdesk' } });
console.log(res.status, await res.text());
await server.close();
`,
    );
    const r = await run(process.execPath, ['esm.mjs'], { cwd: app, env: runEnv });
    expect(r.code, explain('node esm.mjs', r)).toBe(0);
    // The documented example's answer (Microsoft's CM API documentation), not our own output.
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([expect.stringMatching(/^PIN unblocked/), `200 "${EXAMPLE.response}"`]);
  });

  it('loads cmcard/simulator from CommonJS, with require() and with import()', async () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const required = require('cmcard/simulator');
import('cmcard/simulator').then((imported) => {
  console.log(typeof required.VirtualCard, imported.VirtualCard === required.VirtualCard, require('cmcard/package.json').version);
});
`,
    );
    const r = await run(process.execPath, ['cjs.cjs'], { cwd: app, env: runEnv });
    expect(r.code, explain('node cjs.cjs', r)).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`function true ${pkg.version}\n`);
  });

  it('tsc accepts the shipped declarations (skipLibCheck off) and they are precise enough to reject a wrong call', async () => {
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        resolveJsonModule: true,
        types: ['node'],
      },
      files: ['check.mts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    writeFileSync(
      join(app, 'check.mts'),
      `import { VirtualCard, tdesEncrypt, type CardResult } from 'cmcard/simulator';
import { startReferenceServer, type RunningServer } from 'cmcard/reference-server';
import { verifyPact, type VerifyResult } from 'cmcard/contracts/verify';
import type { JsonReport } from 'cmcard/report';
import reportSchema from 'cmcard/report.schema.json' with { type: 'json' };
const key = Buffer.alloc(24, 7);
const card: VirtualCard = VirtualCard.create({ adminKey: key, pin: '1234' });
export const result: CardResult = card.unblockPin(tdesEncrypt(key, card.getChallenge()), '5678');
export const start: (options: { port: number }) => Promise<RunningServer> = startReferenceServer;
export const verify: (options: { server: string }) => Promise<VerifyResult> = verifyPact;
export const passed = (report: JsonReport): number => report.summary.passed + report.cases.length;
export const schemaId: string = reportSchema.$id;
`,
    );
    const ok = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: app, env: runEnv });
    expect(ok.code, explain('tsc', ok)).toBe(0);

    writeFileSync(
      join(app, 'check.mts'),
      `import { VirtualCard } from 'cmcard/simulator';\nexport const card = VirtualCard.create({ adminKey: 'not bytes', pin: 1234 });\n`,
    );
    const bad = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: app, env: runEnv });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/check\.mts\(2,\d+\): error TS2322/);
  });

  it('cmcard init writes a $schema that resolves to the schema inside the installed package', async () => {
    const r = await npx(['cmcard', 'init', '--server', serve!.url, '--output', 'init-check.json'], app);
    expect(r.code, explain('cmcard init', r)).toBe(0);
    const schema = (JSON.parse(readFileSync(join(app, 'init-check.json'), 'utf8')) as { $schema: string }).$schema;
    const target = resolve(app, schema);
    expect(existsSync(target), `${schema} (from ${app}) does not exist: is schemas/config.schema.json in the package?`).toBe(true);
    expect(realpathSync(target).startsWith(realpathSync(join(app, 'node_modules/cmcard')) + sep)).toBe(true);
  });
});

describe('installed globally', () => {
  it('the npm install -g line of docs/install.md puts cmcard on the PATH, with no unapproved script', async () => {
    const line = docsLine('npm install -g').replaceAll(/cmcard-\d+\.\d+\.\d+\.tgz/g, basename(tarball));
    expect(line).toMatch(/--allow-scripts=better-sqlite3/);
    const prefix = join(work, 'global');
    const r = await run('sh', ['-c', line], { cwd: work, env: { ...installEnv, npm_config_prefix: prefix }, timeoutMs: 300_000 });
    expect(r.code, explain(line, r)).toBe(0);
    expect(r.stderr).not.toMatch(INSTALL_SCRIPTS_WARNING);
    const bin = join(prefix, 'bin/cmcard');
    const response = await run(bin, ['response', '--key', EXAMPLE_CARD.adminKey, '--challenge', EXAMPLE.challenge], { cwd: work, env: runEnv });
    expect(response).toMatchObject({ code: 0, stdout: `${EXAMPLE.response}\n` });
    const conformance = await run(bin, ['conformance'], { cwd: work, env: runEnv });
    expect(conformance.code, explain('global cmcard conformance', conformance)).toBe(0);
  });
});

describe('installed from git (prepare builds it)', () => {
  it.skipIf(!gitRepo)('npm install git+file://<clone> builds dist/ and the command works', async () => {
    const clone = join(work, 'clone');
    const cloned = await run('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { cwd: work, env: runEnv });
    expect(cloned.code, explain('git clone', cloned)).toBe(0);
    const project = join(work, 'from-git');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'cm-team-git', version: '1.0.0', private: true }, null, 2)}\n`);
    const r = await npm(['install', '--save-dev', `git+file://${clone}`], project, 600_000);
    expect(r.code, explain('npm install git+file://', r)).toBe(0);
    expect(existsSync(join(project, 'node_modules/cmcard/dist/simulator/index.d.ts'))).toBe(true);
    const approved = await npm(APPROVE, project);
    expect(approved.code, explain(`npm ${APPROVE.join(' ')}`, approved)).toBe(0);
    const version = await npx(['cmcard', '--version'], project);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const response = await npx(['cmcard', 'response', '--key', EXAMPLE_CARD.adminKey, '--challenge', EXAMPLE.challenge], project);
    expect(response.stdout).toBe(`${EXAMPLE.response}\n`);
  });
});

describe('the CI snippet of docs/install.md, step by step', () => {
  /** What the workflow's secrets hold, for the reference server's documented example card. */
  const SECRETS: Record<string, string> = { CM_TOKEN: 'demo-helpdesk', CM_TOKEN_NO_RIGHTS: 'demo-user', CM_ADMIN_KEY: EXAMPLE_CARD.adminKey };

  it("npm ci, then the conformance run with its reports, pass in a CM team's repo that has cmcard installed and a filled-in cmcard.json", async () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(DOCS)?.[1];
    expect(yaml, 'docs/install.md has a ```yaml block').toBeDefined();
    const steps = [...yaml!.matchAll(/^\s*(?:- )?run: (.+)$/gm)].map((m) => m[1]!.trim());
    expect(steps[0]).toBe('npm ci');
    expect(steps.some((s) => s.startsWith('npx cmcard conformance'))).toBe(true);
    const envNames = [...yaml!.matchAll(/^\s+([A-Z][A-Z0-9_]*): \$\{\{ secrets\.\1 \}\}$/gm)].map((m) => m[1]!);
    for (const name of envNames) expect(Object.keys(SECRETS), `the test has no value for the snippet's ${name}`).toContain(name);

    // The repo as the Install section leaves it: cmcard a dev dependency, scripts approved, a config from init.
    const repo = join(work, 'team-repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'package.json'), `${JSON.stringify({ name: 'cm-team-repo', version: '1.0.0', private: true }, null, 2)}\n`);
    const added = await npm(['install', '--save-dev', tarball], repo);
    expect(added.code, explain('npm install --save-dev', added)).toBe(0);
    expect((await npm(APPROVE, repo)).code).toBe(0);
    const init = await npx(['cmcard', 'init', '--server', serve!.url], repo);
    expect(init.code, explain('cmcard init', init)).toBe(0);
    const config = readFileSync(join(repo, 'cmcard.json'), 'utf8')
      .replace(PLACEHOLDER.reqid, EXAMPLE_CARD.reqid)
      .replace(PLACEHOLDER.scid, EXAMPLE_CARD.scid)
      .replace(PLACEHOLDER.cardid, EXAMPLE_CARD.cardid);
    writeFileSync(join(repo, 'cmcard.json'), config);
    rmSync(join(repo, 'node_modules'), { recursive: true, force: true }); // a fresh checkout has none

    for (const step of steps) {
      const env = step.startsWith('npm ') ? { ...installEnv, ...SECRETS } : { ...runEnv, ...SECRETS };
      const r = await run('sh', ['-c', step], { cwd: repo, env, timeoutMs: 300_000 });
      expect(r.code, explain(step, r)).toBe(0);
      if (step.startsWith('npm ')) expect(r.stderr).not.toMatch(INSTALL_SCRIPTS_WARNING);
      for (const m of step.matchAll(/--report \w+:(\S+)/g)) expect(existsSync(join(repo, m[1]!)), `${step} wrote no ${m[1]}`).toBe(true);
    }
  });
});
