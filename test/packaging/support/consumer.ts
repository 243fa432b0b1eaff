/**
 * Helpers for the packaging test: running npm and the installed bin in a temporary project
 * as a user would, with the machine's npm cache and no network beyond the npm registry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every npm and cmcard run: this Node first on PATH (so npm and
 * node-gyp use the Node under test), the outer `npm test`'s npm_* variables dropped (they
 * describe this repo, not the temp project) except the cache, user config and nodedir.
 */
export function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_nodedir']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())) env[k] = v;
  return {
    ...env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    PACT_DO_NOT_TRACK: 'true',
    ...extra,
  };
}

/** Runs a command to its end (killed after timeoutMs), capturing both streams. */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? consumerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** One line for a failed step: the command, its exit code and the end of its output. */
export function explain(what: string, r: RunResult): string {
  return `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
}

/**
 * better-sqlite3 compiles from source for about a minute when its prebuilt binary cannot be
 * downloaded (as on machines without access to GitHub). Its installer, prebuild-install,
 * first looks for a "local prebuild": we make one from this repo's own compiled addon
 * (built for this very Node by `npm ci`), so every install in the test runs better-sqlite3's
 * real install script in about a second. The binary host is pointed at a closed loopback
 * port, so a missing local prebuild means a compile from source, never a download.
 * Returns the environment variables to install with.
 */
export async function localPrebuildEnv(workDir: string): Promise<Record<string, string>> {
  const env = { npm_config_better_sqlite3_binary_host: 'http://127.0.0.1:9' };
  const addon = join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  if (!existsSync(addon)) {
    console.log('packaging test: no compiled better-sqlite3 in this repo (run npm ci): every install compiles it from source');
    return env;
  }
  const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
  const staging = join(workDir, 'prebuild-staging');
  mkdirSync(join(staging, 'build/Release'), { recursive: true });
  copyFileSync(addon, join(staging, 'build/Release/better_sqlite3.node'));
  const prebuilds = join(workDir, 'prebuilds');
  mkdirSync(prebuilds, { recursive: true });
  // prebuild-install's file name: <name>-v<version>-<runtime>-v<ABI>-<platform>-<arch>.tar.gz
  const tarball = join(prebuilds, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  const tar = await run('tar', ['czf', tarball, '-C', staging, 'build'], { cwd: workDir });
  if (tar.code !== 0) throw new Error(explain('tar of the local prebuild', tar));
  return { ...env, npm_config_better_sqlite3_local_prebuilds: prebuilds };
}

/** Starts `cmcard serve --port 0` from an installed bin; resolves with the child and its URL (first stdout line). */
export function startServe(bin: string, cwd: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, ['serve', '--port', '0', '--quiet'], { cwd, env: consumerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const stopOnExit = (): void => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    process.once('exit', stopOnExit);
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('cmcard serve printed no URL within 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolvePromise({ child, url: buffered.slice(0, nl).trim() });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cmcard serve exited with ${code} before printing its URL`));
    });
  });
}

/** Stops a started serve by its PID and waits for it. */
export async function stopServe(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
