// Many processes released onto a card lock left by a killed process, each making one wrong
// PIN attempt through the real card-file API. Every round must cost exactly one try per
// process, each process must see a different count (63CE, 63CD, ...), and nothing may be
// left beside the card file. Used by `npm run reliability` (hundreds of rounds) and by
// test/simulator/card-lock-stress.test.ts (a bounded number).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createCardFile, readCardFile } from '../simulator/card-file.js';
import { lockPathFor } from '../simulator/card-lock.js';

export interface StaleLockOptions {
  /** file: URLs of the built modules the child processes load (dist/simulator/...). */
  cardFileModule: string;
  cardLockModule: string;
  /** A folder of its own; each round makes a card file there. */
  dir: string;
  rounds: number;
  /** Processes per round (each makes one wrong PIN attempt). */
  workers: number;
  /**
   * Slow lock steps down: the workers sleep 0-2 ms (at random) after every file call on
   * the lock or its claims, so the windows between the steps of a takeover are wide open
   * and a takeover that is not atomic shows up in a few rounds instead of 1 in 150.
   */
  jitter?: boolean;
  /** Called after each round, e.g. to print progress. */
  onRound?: (round: StaleLockRound) => void;
}

export interface StaleLockRound {
  round: number;
  /** The status words the processes answered, sorted. */
  sws: string[];
  /** What they should have answered: one of each count from limit-1 down. */
  expectedSws: string[];
  triesLeft: number;
  expectedTriesLeft: number;
  /** The killed holder's lock was there when the workers were released. */
  staleLockPresent: boolean;
  /** Files left beside the card file once every process finished (lock, claims, temp files). */
  leftovers: string[];
  ok: boolean;
}

const PIN_TRIES = 15;
const KEY = Buffer.from('0123456789abcdef23456789abcdef01456789abcdef0123', 'hex');

/** A worker: opens the card file when told, then makes one wrong PIN attempt on "go". */
const WORKER = (cardFileModule: string, jitter: boolean): string => `
  import { createRequire, syncBuiltinESMExports } from 'node:module';
  if (${jitter}) {
    // Wraps node:fs before the card modules load, so their imports get the slow versions.
    const fs = createRequire(import.meta.url)('node:fs');
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (const name of ['linkSync', 'unlinkSync', 'renameSync', 'readFileSync', 'openSync']) {
      const call = fs[name];
      fs[name] = (...args) => {
        const result = call(...args);
        if (args.some((a) => typeof a === 'string' && a.includes('.lock'))) Atomics.wait(sleeper, 0, 0, Math.random() * 2);
        return result;
      };
    }
    syncBuiltinESMExports();
  }
  const { openCardFile } = await import(${JSON.stringify(cardFileModule)});
  let card = null;
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        if (line.startsWith('open ')) { card = openCardFile(line.slice(5)); process.stdout.write('ready\\n'); }
        else if (line === 'go') process.stdout.write('sw ' + card.verifyPin('0000').sw.toString(16) + '\\n');
      } catch (err) {
        process.stdout.write('error ' + String(err.message).split('\\n')[0] + '\\n');
      }
    }
  });
`;

/** A holder: takes the card's lock and is killed while holding it. */
const HOLDER = (cardLockModule: string): string => `
  import { withCardLock } from ${JSON.stringify(cardLockModule)};
  withCardLock(process.argv[1], () => process.kill(process.pid, 'SIGKILL'));
`;

class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  private buffered = '';

  constructor(script: string) {
    this.child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const waiter = this.waiting;
        if (waiter) {
          this.waiting = null;
          waiter(line);
        } else this.lines.push(line);
      }
    });
    let stderr = '';
    this.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child.on('close', (code, signal) => this.waiting?.(`exited ${code ?? signal}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The next line the worker prints, or an "exited"/"timeout" line; bounded. */
  next(timeoutMs = 30_000): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve('timeout');
      }, timeoutMs);
      this.waiting = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
}

/** Runs a child that takes the lock and dies holding it; resolves once it is dead. */
function killHolder(script: string, cardPath: string): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, cardPath], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000); // a bound
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? code);
    });
  });
}

/** Every file beside the card file that belongs to it, but the card file itself. */
function besides(cardPath: string): string[] {
  const prefix = `.${basename(cardPath)}.`;
  return readdirSync(dirname(cardPath)).filter((n) => n.startsWith(prefix));
}

/** The worker processes' pids while a run is going (so a caller's exit handler can kill them). */
export const runningWorkers = new Set<number>();

export async function runStaleLockRounds(options: StaleLockOptions): Promise<StaleLockRound[]> {
  const workers = Array.from({ length: options.workers }, () => new Worker(WORKER(options.cardFileModule, options.jitter ?? false)));
  for (const w of workers) if (w.pid) runningWorkers.add(w.pid);
  const holder = HOLDER(options.cardLockModule);
  const expectedSws = Array.from({ length: options.workers }, (_, i) => (0x63c0 | (PIN_TRIES - 1 - i)).toString(16)).sort();
  const results: StaleLockRound[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const cardPath = join(options.dir, `card-${round}.json`);
      createCardFile(cardPath, { adminKey: KEY, pin: '1234', pinTries: PIN_TRIES });
      const died = await killHolder(holder, cardPath);
      if (died !== 'SIGKILL') throw new Error(`the lock holder was not killed (ended with ${died})`);
      const staleLockPresent = existsSync(lockPathFor(cardPath));
      for (const w of workers) w.send(`open ${cardPath}`);
      const ready = await Promise.all(workers.map((w) => w.next()));
      const notReady = ready.find((l) => l !== 'ready');
      if (notReady) throw new Error(`a worker did not open the card: ${notReady}`);
      // Released together: every one of them meets the dead holder's lock.
      for (const w of workers) w.send('go');
      const answers = await Promise.all(workers.map((w) => w.next()));
      const sws = answers.map((l) => (l.startsWith('sw ') ? l.slice(3) : l)).sort();
      const triesLeft = readCardFile(cardPath).card.pinTriesLeft;
      const expectedTriesLeft = PIN_TRIES - options.workers;
      const leftovers = besides(cardPath);
      const ok =
        staleLockPresent &&
        triesLeft === expectedTriesLeft &&
        leftovers.length === 0 &&
        sws.length === expectedSws.length &&
        sws.every((s, i) => s === expectedSws[i]);
      const result = { round, sws, expectedSws, triesLeft, expectedTriesLeft, staleLockPresent, leftovers, ok };
      results.push(result);
      options.onRound?.(result);
      rmSync(cardPath, { force: true });
      for (const name of leftovers) rmSync(join(options.dir, name), { force: true });
    }
  } finally {
    for (const w of workers) {
      w.stop();
      if (w.pid) runningWorkers.delete(w.pid);
    }
  }
  return results;
}
