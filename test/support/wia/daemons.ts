/**
 * Background programs a test starts (krb5kdc, apache2): each is stopped by its PID in
 * afterAll, and also when the test process exits or is interrupted, so an aborted run
 * leaves nothing listening.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface Daemon {
  readonly pid: number;
  readonly name: string;
  /** Resolves once the process is gone (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** True while the process runs. */
  alive(): boolean;
}

const running = new Map<number, string>();
let hooked = false;

function killAll(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAll();
      process.off(signal, onSignal);
      // Nobody else handles it: exit as the signal would have (through 'exit', so temp dirs go too).
      if (process.listenerCount(signal) === 0) process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on(signal, onSignal);
  }
}

/** Starts `command` with its stdout and stderr appended to `logFile`. */
export function startDaemon(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; logFile: string; cwd?: string }): Daemon {
  hookProcessExit();
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  running.set(pid, name);
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(pid);
      resolve();
    });
    child.once('error', () => {
      exited = true;
      running.delete(pid);
      resolve();
    });
  });
  return {
    pid,
    name,
    alive: () => !exited,
    stop: async () => {
      if (exited) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return gone;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }, 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
