import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { InputError } from './errors.js';

/**
 * The card file's lock: one operation at a time across processes (and threads). Each
 * card operation re-reads, changes and writes the file; without a lock another process's
 * write between that read and write is overwritten and a counted attempt is lost.
 *
 * The lock is the file `.<card file name>.lock` beside the card file. One line names its
 * owner: pid, a random nonce, the process start time and the boot id (from /proc, where
 * there is one) and the host. It appears with its content in one step (a temp file
 * hard-linked to the lock path, which fails if a lock exists), so a holder is always known.
 *
 * A lock whose owner is dead (killed mid-operation) is taken over. Taking over is the one
 * place two processes could both end up holding the lock, so it is made safe by
 * construction: a lock is only ever removed by its owner, or by the one process that won
 * the claim `.<name>.lock.<nonce>.<k>.take` for that very lock (k = 0, or the next k when
 * every earlier claimant died too), created in one step like the lock. The claim winner
 * removes the lock only if it still carries that nonce. While a claim stands nobody else
 * can remove that lock, and a lock never gets its nonce back once removed, so a live lock
 * is never removed, whatever the timing.
 *
 * "Dead" is judged by pid *and* start time: a pid reused by an unrelated process does not
 * keep a dead owner's lock alive. A lock from another host cannot be judged and is waited
 * for like a live one.
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

/** Who holds a lock (or a takeover claim), as written in its one line. */
export interface LockOwner {
  pid: number;
  nonce: string;
  /** The process start time (clock ticks since boot, /proc/<pid>/stat), or null where unknown. */
  start: string | null;
  /** The kernel's boot id, or null where unknown. */
  boot: string | null;
  /** The host name, or null (locks written by older versions). */
  host: string | null;
}

/** The line a lock of this process would carry, with a fresh nonce. */
export function ownerLine(nonce = randomBytes(12).toString('hex')): string {
  ownFields ??= `${processStart(process.pid) ?? '-'} ${bootId() ?? '-'} ${encodeURIComponent(host())}`;
  return `${process.pid} ${nonce} ${ownFields}`;
}
/** This process's start time, boot id and host, read once. */
let ownFields: string | undefined;

/** Parses a lock line; older versions wrote `<pid> <token>`, which reads with start, boot and host unknown. */
export function parseOwner(text: string): LockOwner | null {
  const [pid, nonce, start, boot, host] = text.trim().split(' ');
  const n = Number(pid);
  // The nonce names claim files: letters, digits, '-' and '_' only.
  if (!Number.isInteger(n) || n <= 0 || !nonce || !/^[\w-]{1,64}$/.test(nonce)) return null;
  const field = (v: string | undefined): string | null => (v === undefined || v === '-' ? null : v);
  return { pid: n, nonce, start: field(start), boot: field(boot), host: host === undefined ? null : decodeURIComponent(host) };
}

/**
 * Whether the owner of a lock still runs: 'dead' only when that is certain (no such pid,
 * a pid now used by a process started at another time, or a lock from before a reboot);
 * 'unknown' for another host's lock, which is treated as alive.
 */
export function ownerState(owner: LockOwner): 'alive' | 'dead' | 'unknown' {
  if (owner.host !== null && owner.host !== host()) return 'unknown';
  const boot = bootId();
  if (owner.boot !== null && boot !== null && owner.boot !== boot) return 'dead';
  if (!isAlive(owner.pid)) return 'dead';
  if (owner.start !== null) {
    const start = processStart(owner.pid);
    if (start !== null && start !== owner.start) return 'dead'; // the pid was reused
  }
  return 'alive';
}

/** Runs `body` holding the card file's lock; throws InputError if it stays held past the timeout. */
export function withCardLock<T>(cardPath: string, body: () => T, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): T {
  const lockPath = lockPathFor(cardPath);
  const nonce = randomBytes(12).toString('hex');
  const line = ownerLine(nonce);
  acquire(cardPath, lockPath, line, timeoutMs);
  try {
    sweepLeftovers(lockPath, nonce);
    return body();
  } finally {
    release(lockPath, line);
  }
}

type LockView = { kind: 'gone' } | { kind: 'unreadable' } | { kind: 'owner'; owner: LockOwner; line: string };

function acquire(cardPath: string, lockPath: string, line: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    if (createWithContent(cardPath, lockPath, line)) return;
    const view = readLock(lockPath);
    if (view.kind === 'gone') continue; // released between our attempt and the read: try again now
    let who =
      view.kind === 'owner' ? `process ${view.owner.pid}${view.owner.host && view.owner.host !== host() ? ` on ${view.owner.host}` : ''}` : 'another process';
    if (view.kind === 'owner' && ownerState(view.owner) === 'dead') {
      if (takeOverStale(cardPath, lockPath, view.line)) {
        swept.delete(lockPath); // a takeover may leave claims behind: sweep them once we hold the lock
        continue;
      }
      // Another live process is taking this lock over: it will be gone in a moment.
      who = `a takeover of dead process ${view.owner.pid}'s lock`;
    }
    if (Date.now() >= deadline) {
      throw new InputError(
        `card file ${cardPath} is busy: ${who} has held ${lockPath} for ${timeoutMs} ms (delete that file if no cmcard process is using the card)`,
      );
    }
    sleep(pause);
    pause = Math.min(pause * 2, 25);
  }
}

/** Creates `path` with its content in one step; false when it exists. */
function createWithContent(cardPath: string, path: string, line: string): boolean {
  const tmp = tempPathFor(cardPath);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InputError(`card file ${cardPath} cannot be locked: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
  }
}

function release(lockPath: string, line: string): void {
  // Only our own lock: nobody else removes a lock whose owner is alive, so the read stays true until the unlink.
  try {
    if (readFileSync(lockPath, 'utf8').trim() === line) unlinkSync(lockPath);
  } catch {
    /* already gone */
  }
}

function readLock(path: string): LockView {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { kind: 'gone' } : { kind: 'unreadable' };
  }
  const owner = parseOwner(text);
  return owner ? { kind: 'owner', owner, line: text.trim() } : { kind: 'unreadable' };
}

function claimPath(lockPath: string, nonce: string, k: number): string {
  return `${lockPath}.${nonce}.${k}.take`;
}

/**
 * Removes the lock whose line is `staleLine` (its owner is dead), if it is still there.
 * True when that lock is gone (removed here or before); false when another live process
 * holds the claim to remove it (the caller waits a moment and looks again).
 */
export function takeOverStale(cardPath: string, lockPath: string, staleLine: string): boolean {
  const stale = parseOwner(staleLine);
  if (!stale) return false;
  const me = ownerLine();
  let k = 0;
  for (; ; k++) {
    const claim = claimPath(lockPath, stale.nonce, k);
    if (createWithContent(cardPath, claim, me)) break;
    const view = readLock(claim);
    // Claims are deleted only after their lock was removed: this lock is gone for good.
    if (view.kind === 'gone') return true;
    if (view.kind !== 'owner' || ownerState(view.owner) !== 'dead') return false;
    // That claimant died mid-takeover: the next claim number is ours to try.
  }
  try {
    // We are the one live claimant: the lock cannot change between this read and the unlink.
    const now = readLock(lockPath);
    if (now.kind === 'owner' && now.line === staleLine.trim()) unlinkSync(lockPath);
  } finally {
    for (let j = k; j >= 0; j--) {
      try {
        unlinkSync(claimPath(lockPath, stale.nonce, j));
      } catch {
        /* gone */
      }
    }
  }
  return true;
}

/** Lock paths this process has swept (one sweep per lock, and after every takeover). */
const swept = new Set<string>();

/**
 * Holding the lock, deletes what interrupted takeovers left beside it: claims for other
 * locks than ours (those locks are gone for good), and the `.lock.<pid>.<hex>.stale` files
 * of older versions whose process is dead.
 */
function sweepLeftovers(lockPath: string, myNonce: string): void {
  if (swept.has(lockPath)) return;
  swept.add(lockPath);
  const dir = dirname(lockPath);
  const prefix = `${basename(lockPath)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const parts = name.slice(prefix.length).split('.');
    let leftover = false;
    if (parts.length === 3 && parts[2] === 'take') leftover = parts[0] !== myNonce;
    else if (parts.length === 3 && parts[2] === 'stale') {
      const pid = Number(parts[0]);
      leftover = Number.isInteger(pid) && pid > 0 && !isAlive(pid);
    }
    if (!leftover) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* another process swept it */
    }
  }
}

/** Whether a process with this pid exists (any process: pids are reused, see ownerState). */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The start time of a process in clock ticks after boot (field 22 of /proc/<pid>/stat), or null. */
export function processStart(pid: number): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return start && /^\d+$/.test(start) ? start : null;
  } catch {
    return null;
  }
}

let hostName: string | undefined;
function host(): string {
  return (hostName ??= hostname());
}

let boot: string | null | undefined;
function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = process.platform === 'linux' ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null : null;
    } catch {
      boot = null;
    }
  }
  return boot;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Card operations are synchronous (they persist before they answer), so the wait is too. */
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
