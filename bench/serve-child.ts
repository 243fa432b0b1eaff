// What several benches share: `cmcard serve` in a child process on a free loopback port,
// and the median of a few rounds.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const BIN = resolve(import.meta.dirname, '../../dist/bin/cmcard.js');

/** Starts `cmcard serve` (plus `extraArgs`, e.g. `--db FILE`); resolves with its origin, the first line of its stdout. */
export async function startServe(extraArgs: readonly string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('cmcard serve printed no URL within 20 s')), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      ok(line.trim());
    });
    child.once('exit', (code) => fail(new Error(`cmcard serve exited with ${code}`)));
  });
  lines.on('line', () => {}); // keep draining
  return { url, child };
}

/** The median (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
