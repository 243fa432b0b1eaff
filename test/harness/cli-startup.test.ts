import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

// Start-up cost: a command loads its own engine and nothing else (the embedded conformance
// run is measured in `npm run bench -- conformance`; here, what it must not load). The bin
// is a bundle (dist/bin/, tools/bundle-bin.mjs): each file it loads is read back as the
// modules in it, from the bundler's own record (dist/bin/cmcard.meta.json).

const dir = mkdtempSync(join(tmpdir(), 'cmcard-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A preload that names every module the process loads: ESM through a load hook, CommonJS from require's cache at exit. */
const TRACE = join(dir, 'trace.mjs');
writeFileSync(
  TRACE,
  // writeSync on fd 2: the load hook runs on a thread of its own, and an asynchronous write
  // from there may be lost when the process exits (seen on Node 24).
  `import { register, createRequire } from 'node:module';
import { writeSync } from 'node:fs';
register('data:text/javascript,' + encodeURIComponent(\`import { writeSync } from 'node:fs'; export async function load(url, ctx, next) { writeSync(2, 'LOADED ' + url + '\\\\n'); return next(url, ctx); }\`));
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => { for (const file of Object.keys(cache)) writeSync(2, 'LOADED ' + file + '\\n'); });
`,
);

/** Each output file of the bundle (absolute path) and the modules compiled into it (absolute paths). */
function bundleContents(): Map<string, string[]> {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist/bin/cmcard.meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return new Map(Object.entries(meta.outputs).map(([out, o]) => [resolve(ROOT, out), Object.keys(o.inputs).map((i) => resolve(ROOT, i))]));
}

/** files: what the process read (a bundle file is one); modules: the same with each bundle file replaced by the modules in it. */
async function loaded(args: string[]): Promise<{ code: number | null; files: string[]; modules: string[]; stdout: string }> {
  const r = await runCli(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(TRACE).href}` }, timeoutMs: 60_000 });
  const files = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice('LOADED '.length))
    .map((f) => (f.startsWith('file:') ? fileURLToPath(f) : f));
  const bundle = bundleContents();
  const modules = files.flatMap((f) => bundle.get(f) ?? [f]);
  return { code: r.code, files, modules, stdout: r.stdout };
}

const ofPackage = (name: string) => (m: string) => m.includes(`/node_modules/${name}/`);
const ofHarness = (folder: string) => (m: string) => m.includes(`/dist/harness/${folder}`);

describe('what a command loads', () => {
  it('the bin runs from its bundle: no module of the unbundled build, and the bundled packages compiled in', async () => {
    const { code, files, modules } = await loaded(['conformance']);
    expect(code).toBe(0);
    expect(files).toContain(join(ROOT, 'dist/bin/cmcard.js'));
    expect(
      files.filter((f) => f.startsWith(join(ROOT, 'dist/')) && !f.startsWith(join(ROOT, 'dist/bin/'))),
      'unbundled modules',
    ).toEqual([]);
    for (const bundled of ['commander', 'find-my-way']) {
      expect(files.filter(ofPackage(bundled)), `${bundled} read from node_modules`).toEqual([]);
      expect(modules.some(ofPackage(bundled)), `${bundled} in the bundle`).toBe(true);
    }
    // Native addons stay outside, loaded as installed.
    expect(files.some(ofPackage('better-sqlite3'))).toBe(true);
  });

  it('the embedded conformance run loads neither the fuzzer, the load engine, the Pact verifier nor an unused authentication mechanism', async () => {
    const { code, modules } = await loaded(['conformance']);
    expect(code).toBe(0);
    // The trace works: the run's own modules are in it.
    expect(modules.some(ofHarness('runner.js'))).toBe(true);
    expect(modules.some(ofPackage('better-sqlite3'))).toBe(true);
    for (const unused of ['fast-check', 'undici', 'tough-cookie', 'httpntlm', 'kerberos', '@pact-foundation']) {
      expect(modules.filter(ofPackage(unused)), unused).toEqual([]);
    }
    for (const unused of ['fuzz/', 'load/', 'commands/load.js', 'commands/fuzz.js', 'commands/verify-pact.js']) {
      expect(modules.filter(ofHarness(unused)), unused).toEqual([]);
    }
    expect(
      modules.filter((m) => /\/dist\/contracts\/(verify|core-process)/.test(m)),
      'the Pact verifier',
    ).toEqual([]);
  });

  it('cmcard load without an authenticator (the raw HTTP path) loads no undici', async () => {
    const { code, modules } = await loaded(['load', '--concurrency', '2', '--exchanges', '20']);
    expect(code).toBe(0);
    expect(modules.some(ofHarness('load/engine.js'))).toBe(true);
    expect(modules.some(ofHarness('wire/raw-http.js'))).toBe(true);
    for (const unused of ['undici', 'fast-check', 'tough-cookie', 'httpntlm', 'kerberos']) {
      expect(modules.filter(ofPackage(unused)), unused).toEqual([]);
    }
  });

  it('--help loads every command, so it lists them all', async () => {
    const { code, stdout, modules } = await loaded(['--help']);
    expect(code).toBe(0);
    for (const name of ['response', 'card', 'serve', 'conformance', 'unlock', 'verify-pact', 'load', 'init', 'fuzz']) {
      expect(stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
    expect(modules.some(ofHarness('commands/fuzz.js'))).toBe(true);
  });

  it('--version loads no command', async () => {
    const { code, stdout, modules } = await loaded(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(modules.some(ofPackage('commander'))).toBe(true);
    expect(modules.filter(ofHarness('commands/')), 'commands').toEqual([]);
  });

  it('a mistyped command still gets its suggestion', async () => {
    const r = await runCli(['conformanse']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Did you mean conformance?');
  });
});
