import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BIN } from '../../support/cli.js';

export interface Served {
  /** The origin `cmcard serve` printed on its first line. */
  url: string;
  stop(): Promise<void>;
}

/**
 * `cmcard serve --port 0 --quiet ...args` as a user starts it (the built bin), on a free
 * loopback port. Stopped by PID by `stop()`, and killed when the test process exits
 * (an interrupted run leaves no server behind).
 */
export async function startServe(args: string[], timeoutMs = 20_000): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', kill);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  try {
    return { url: await firstLine(child, timeoutMs), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`cmcard serve printed no first line within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buffered.slice(0, nl).trim());
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cmcard serve exited with ${code} before printing its URL`));
    });
  });
}
