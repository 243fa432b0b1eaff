import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from './errors.js';

/**
 * The card file's lock: one operation at a time across processes (and threads). Each
 * card operation re-reads, changes and writes the file; without a lock another process's
 * write between that read and write is overwritten and a counted attempt is lost.
 *
 * The lock is the file `.<card file name>.lock` beside the card file, holding the owner's
 * pid and a random token. It appears with its content in one step (written to a temp
 * file, then hard-linked, which fails if a lock exists), so a holder is always known. A
 * lock whose pid is dead (its process was killed mid-operation) is taken over; a live
 * holder is waited for, with a bound.
 */

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export function lockPathFor(cardPath: string): string {
  return join(dirname(cardPath), `.${basename(cardPath)}.lock`);
}

/**
 * A temp file name beside the card file: `.<name>.<pid>.<random>.tmp`. The pid lets the
 * next opener sweep files a killed writer left; the random part keeps two threads of one
 * process (same pid, separate module state) from picking the same name.
 */
export function tempPathFor(cardPath: string): string {
  return join(dirname(cardPath), `.${basename(cardPath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Runs `body` holding the card file's lock; throws InputError if it stays held past the timeout. */
export function withCardLock<T>(cardPath: string, body: () => T, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): T {
  const lockPath = lockPathFor(cardPath);
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  acquire(cardPath, lockPath, token, timeoutMs);
  try {
    return body();
  } finally {
    release(lockPath, token);
  }
}

function acquire(cardPath: string, lockPath: string, token: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    if (tryCreate(cardPath, lockPath, token)) return;
    const holder = readHolder(lockPath);
    if (holder !== null && !isAlive(holder)) {
      takeOverStale(lockPath, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new InputError(
        `card file ${cardPath} is busy: ${holder === null ? 'another process' : `process ${holder}`} has held ${lockPath} for ${timeoutMs} ms (delete that file if no cmcard process is using the card)`,
      );
    }
    sleep(pause);
    pause = Math.min(pause * 2, 25);
  }
}

/** Creates the lock with its content in one step; false when a lock exists. */
function tryCreate(cardPath: string, lockPath: string, token: string): boolean {
  const tmp = tempPathFor(cardPath);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InputError(`card file ${cardPath} cannot be locked: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    try { unlinkSync(tmp); } catch { /* never created */ }
  }
}

function release(lockPath: string, token: string): void {
  // Only our own lock: never remove one another process holds.
  try {
    if (readFileSync(lockPath, 'utf8').trim() === token) unlinkSync(lockPath);
  } catch { /* already gone */ }
}

/** The pid in a lock file, or null when there is none (gone, or not ours to read). */
function readHolder(lockPath: string): number | null {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').split(' ')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Removes a lock whose owner died. The rename is atomic, so of several processes that saw
 * the same dead owner only one moves the lock away; if what it moved turns out to be a
 * live lock (taken after the dead one was already cleared), it is linked back.
 */
function takeOverStale(lockPath: string, deadPid: number): void {
  const aside = `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return; // someone else cleared it
  }
  if (readHolder(aside) !== deadPid) {
    try { linkSync(aside, lockPath); } catch { /* a newer lock exists: it rules */ }
  }
  try { unlinkSync(aside); } catch { /* gone */ }
}

export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Card operations are synchronous (they persist before they answer), so the wait is too. */
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
