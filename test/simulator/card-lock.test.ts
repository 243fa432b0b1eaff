import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createCardFile, openCardFile, readCardFile } from '../../simulator/card-file.js';
import { lockPathFor, ownerLine, ownerState, parseOwner, processStart, takeOverStale, withCardLock } from '../../simulator/card-lock.js';

const KEY = Buffer.from('0123456789abcdef23456789abcdef01456789abcdef0123', 'hex');
/** A pid no process can have (above any kernel's pid_max). */
const NO_SUCH_PID = 0x7ffffffe;
const hasProc = process.platform === 'linux' && processStart(process.pid) !== null;
if (!hasProc) console.log('card-lock.test: no /proc/<pid>/stat here, so the start-time checks are skipped (Linux only)');

const scratch = mkdtempSync(join(tmpdir(), 'cmcard-cardlock-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
function newCard(): string {
  const path = join(scratch, `card-${n++}.json`);
  createCardFile(path, { adminKey: KEY, pin: '1234' });
  return path;
}
/** Every file beside the card file (lock, claims, temp files), the card file excluded. */
const besides = (path: string): string[] =>
  readdirSync(scratch)
    .filter((f) => f.startsWith(`.${basename(path)}.`))
    .sort();
/** This process's lock line with one field replaced (0 pid, 1 nonce, 2 start, 3 boot, 4 host). */
function ownLineWith(index: number, value: string): string {
  const fields = ownerLine().split(' ');
  fields[index] = value;
  return fields.join(' ');
}

describe('who holds the lock', () => {
  it('a lock names its owner by pid, nonce, start time, boot id and host; older two-field locks still read', () => {
    const owner = parseOwner(ownerLine('abc123'))!;
    expect(owner).toMatchObject({ pid: process.pid, nonce: 'abc123' });
    expect(ownerState(owner)).toBe('alive');
    expect(parseOwner('4242 0123abcd\n')).toEqual({ pid: 4242, nonce: '0123abcd', start: null, boot: null, host: null });
    // A nonce names claim files: nothing that could leave the folder.
    expect(parseOwner('4242 ../../x')).toBeNull();
    expect(parseOwner('garbage')).toBeNull();
  });

  it.skipIf(!hasProc)('a reused pid does not keep a dead owner alive: same pid, other start time, is dead', () => {
    const start = Number(processStart(process.pid));
    expect(ownerState(parseOwner(ownLineWith(2, String(start + 1)))!)).toBe('dead');
    expect(ownerState(parseOwner(ownerLine())!)).toBe('alive');
  });

  it.skipIf(!hasProc)('a lock written before a reboot (another boot id) is dead', () => {
    expect(ownerState(parseOwner(ownLineWith(3, '00000000-0000-4000-8000-000000000000'))!)).toBe('dead');
  });

  it('a lock of another host cannot be judged, so it counts as held', () => {
    expect(ownerState(parseOwner(ownLineWith(4, 'some-other-host'))!)).toBe('unknown');
    expect(ownerState(parseOwner(`${NO_SUCH_PID} abc - - some-other-host`)!)).toBe('unknown');
  });
});

describe('taking a stale lock over', () => {
  it.skipIf(!hasProc)('a lock whose pid now belongs to another process is taken over at once, not waited for', () => {
    const path = newCard();
    // Our own pid with another start time: what a killed owner's pid looks like once reused.
    writeFileSync(lockPathFor(path), `${ownLineWith(2, String(Number(processStart(process.pid)) + 7))}\n`);
    // With a 30 ms bound, waiting would fail with "busy": it runs, so the lock was taken over.
    expect(withCardLock(path, () => 'ran', 30)).toBe('ran');
    expect(besides(path)).toEqual([]);
  });

  it('a lock of a dead pid in the older two-field form is taken over', () => {
    const path = newCard();
    writeFileSync(lockPathFor(path), `${NO_SUCH_PID} 0123abcd\n`);
    expect(withCardLock(path, () => 'ran', 30)).toBe('ran');
    expect(besides(path)).toEqual([]);
  });

  it('a lock held by this very process (alive) is waited for and then named, never taken over', () => {
    const path = newCard();
    const line = ownerLine('held-here');
    writeFileSync(lockPathFor(path), `${line}\n`);
    expect(() => withCardLock(path, () => 'ran', 30)).toThrow(/is busy: process \d+ has held .*\.lock for 30 ms/);
    expect(readFileSync(lockPathFor(path), 'utf8').trim()).toBe(line);
    rmSync(lockPathFor(path));
  });

  it('a lock of another host is waited for, and the error says which host', () => {
    const path = newCard();
    writeFileSync(lockPathFor(path), `${NO_SUCH_PID} abc - - card-host-2\n`);
    expect(() => withCardLock(path, () => 'ran', 30)).toThrow(/is busy: process \d+ on card-host-2 has held/);
    rmSync(lockPathFor(path));
  });

  it('a taker whose view is outdated (the stale lock was replaced by a live one) removes nothing', () => {
    const path = newCard();
    const stale = `${NO_SUCH_PID} 5ca1ab1e - - -`;
    const live = ownerLine('a11ve');
    writeFileSync(lockPathFor(path), `${live}\n`);
    // It read the dead owner's line, then slept while another taker removed that lock and a live process locked.
    expect(takeOverStale(path, lockPathFor(path), stale)).toBe(true);
    expect(readFileSync(lockPathFor(path), 'utf8').trim()).toBe(live);
    expect(besides(path)).toEqual([basename(lockPathFor(path))]); // its claim is cleaned up
    rmSync(lockPathFor(path));
  });

  it('while a live process holds the claim on a stale lock, nobody else removes that lock', () => {
    const path = newCard();
    const lock = lockPathFor(path);
    const stale = `${NO_SUCH_PID} 5ca1ab1e`;
    writeFileSync(lock, `${stale}\n`);
    const claim = `${lock}.5ca1ab1e.0.take`;
    writeFileSync(claim, `${ownerLine('c1a1m')}\n`);
    expect(takeOverStale(path, lock, stale)).toBe(false);
    expect(readFileSync(lock, 'utf8').trim()).toBe(stale);
    // withCardLock waits for that claimant, as for a live holder.
    expect(() => withCardLock(path, () => 'ran', 30)).toThrow(/is busy/);
    expect(existsSync(lock)).toBe(true);
    rmSync(claim);
    expect(withCardLock(path, () => 'ran', 30)).toBe('ran');
    expect(besides(path)).toEqual([]);
  });

  it('a claimant that died mid-takeover is passed over: the next claim number takes the lock over and every claim goes', () => {
    const path = newCard();
    const lock = lockPathFor(path);
    writeFileSync(lock, `${NO_SUCH_PID} 5ca1ab1e\n`);
    writeFileSync(`${lock}.5ca1ab1e.0.take`, `${NO_SUCH_PID} c1a1m0\n`);
    writeFileSync(`${lock}.5ca1ab1e.1.take`, `${NO_SUCH_PID} c1a1m1\n`);
    expect(withCardLock(path, () => 'ran', 30)).toBe('ran');
    expect(besides(path)).toEqual([]);
  });

  it("what interrupted takeovers left is swept by the next holder: claims of gone locks, and older versions' .stale files of dead processes", () => {
    const path = newCard();
    const lock = lockPathFor(path);
    const deadStale = `${lock}.${NO_SUCH_PID}.a1b2c3d4e5f6.stale`;
    const liveStale = `${lock}.${process.pid}.a1b2c3d4e5f6.stale`;
    const oldClaim = `${lock}.0ddc1a1m.0.take`;
    for (const f of [deadStale, liveStale, oldClaim]) writeFileSync(f, `${NO_SUCH_PID} x\n`);
    expect(withCardLock(path, () => 'ran')).toBe('ran');
    // The live process's file may still be in use by it: kept.
    expect(besides(path)).toEqual([basename(liveStale)]);
    rmSync(liveStale);
  });

  it('a card operation meeting a stale lock makes its attempt, counted once', () => {
    const path = newCard();
    const card = openCardFile(path);
    writeFileSync(lockPathFor(path), `${NO_SUCH_PID} 0123abcd\n`);
    expect(card.verifyPin('0000')).toMatchObject({ ok: false, sw: 0x63c2 });
    expect(readCardFile(path).card.pinTriesLeft).toBe(2);
    expect(besides(path)).toEqual([]);
  });
});
