import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCardFile, openCardFile, parseCardFile, readCardFile, serializeCardFile, writeCardFile } from '../../simulator/card-file.js';
import { lockPathFor, withCardLock } from '../../simulator/card-lock.js';
import { VirtualCard } from '../../simulator/card.js';
import { InputError } from '../../simulator/errors.js';
import { seededRandom } from '../../simulator/random.js';
import { tdesEncrypt } from '../../simulator/tdes.js';

const KEY = Buffer.from('0123456789abcdef23456789abcdef01456789abcdef0123', 'hex');
const CARDID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
// The child processes run the built library, as a user's process would (global setup builds dist/).
const DIST_CARD_FILE = pathToFileURL(resolve(import.meta.dirname, '../../dist/simulator/card-file.js')).href;

const scratch = mkdtempSync(join(tmpdir(), 'cmcard-cardfile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(scratch, `card-${n++}.json`);

function newFile(extra: Partial<Parameters<typeof createCardFile>[1]> = {}): string {
  const path = fresh();
  createCardFile(path, { adminKey: KEY, pin: '1234', cardId: CARDID, ...extra });
  return path;
}

/** Rewrites one field of a valid card file (the test's way to make broken files). */
function withField(path: string, edit: (doc: { card: Record<string, unknown> } & Record<string, unknown>) => void): string {
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  edit(doc);
  const out = fresh();
  writeFileSync(out, JSON.stringify(doc));
  return out;
}

describe('card file round trip', () => {
  it('create, reopen: same state, file mode 0600, format marker', () => {
    const path = fresh();
    const card = createCardFile(path, { adminKey: KEY, pin: '1234', cardId: CARDID, adminTries: null, pinTries: 5 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    expect(doc).toMatchObject({ format: 'cmcard/card', version: 1, card: { cardId: CARDID, adminTriesLimit: null, pinTriesLimit: 5 } });
    expect(openCardFile(path).snapshot()).toEqual(card.snapshot());
  });

  it('every change is on disk when the call returns', () => {
    const path = newFile();
    const card = openCardFile(path);
    const challenge = card.getChallenge();
    expect(readCardFile(path).card.pendingChallenge).toBe(challenge.toString('hex'));
    card.verifyPin('0000');
    expect(readCardFile(path).card.pinTriesLeft).toBe(2);
    card.getChallenge();
    card.authenticateAdmin(Buffer.alloc(8));
    expect(readCardFile(path).card).toMatchObject({ adminTriesLeft: 4, pendingChallenge: null });
    // A second process's view: a reopened card carries on from the file.
    const again = openCardFile(path);
    expect(again.authenticateAdmin(tdesEncrypt(KEY, again.getChallenge())).ok).toBe(true);
    expect(readCardFile(path).card.adminTriesLeft).toBe(5);
    expect(readdirSync(scratch).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to overwrite an existing file unless asked, and leaves it untouched', () => {
    const path = newFile();
    const before = readFileSync(path, 'utf8');
    expect(() => createCardFile(path, { adminKey: Buffer.alloc(24), pin: '9999' })).toThrow(/already exists/);
    expect(readFileSync(path, 'utf8')).toBe(before);
    createCardFile(path, { adminKey: Buffer.alloc(24), pin: '9999', overwrite: true });
    expect(readCardFile(path).card.adminKey).toBe('00'.repeat(24));
  });

  it('a seeded card replays the same challenges across reopen, like one uninterrupted card', () => {
    const path = fresh();
    const created = createCardFile(path, { adminKey: KEY, pin: '1234', seed: 'demo' });
    const got = [created.getChallenge().toString('hex')];
    for (let i = 0; i < 3; i++) got.push(openCardFile(path).getChallenge().toString('hex'));
    const inProcess = VirtualCard.create({ adminKey: KEY, pin: '1234' }, { random: seededRandom('demo') });
    expect(inProcess.cardId).toBe(readCardFile(path).card.cardId);
    expect([0, 1, 2, 3].map(() => inProcess.getChallenge().toString('hex'))).toEqual(got);
    expect(readCardFile(path).replay).toEqual({ seed: 'demo', drawn: 16 + 4 * 8 });
  });

  it('two holders of one card file (say, card attach and a CLI command) never undo each other', () => {
    const path = newFile();
    const a = openCardFile(path);
    const b = openCardFile(path);
    a.getChallenge();
    a.authenticateAdmin(Buffer.alloc(8));
    b.getChallenge();
    expect(b.authenticateAdmin(Buffer.alloc(8))).toMatchObject({ attemptsRemaining: 3 });
    expect(a.adminTriesLeft).toBe(3);
    a.getChallenge();
    expect(a.authenticateAdmin(Buffer.alloc(8))).toMatchObject({ attemptsRemaining: 2 });
    expect(readCardFile(path).card.adminTriesLeft).toBe(2);

    // A challenge issued through the other holder replaces this one's, as on one card.
    const first = a.getChallenge();
    b.getChallenge();
    expect(a.authenticateAdmin(tdesEncrypt(KEY, first)).ok).toBe(false);

    // Another holder's write drops this holder's authentication, as a card reset would.
    expect(a.authenticateAdmin(tdesEncrypt(KEY, a.getChallenge())).ok).toBe(true);
    expect(b.verifyPin('1234').ok).toBe(true);
    expect(a.adminAuthenticated).toBe(false);
    expect(a.resetPin('5678')).toMatchObject({ ok: false, sw: 0x6982 });
  });

  it('two holders of a seeded card continue one challenge stream', () => {
    const path = fresh();
    createCardFile(path, { adminKey: KEY, pin: '1234', seed: 'shared' });
    const a = openCardFile(path);
    const b = openCardFile(path);
    const got = [a.getChallenge(), b.getChallenge(), a.getChallenge()].map((c) => c.toString('hex'));
    const one = VirtualCard.create({ adminKey: KEY, pin: '1234' }, { random: seededRandom('shared') });
    expect([one.getChallenge(), one.getChallenge(), one.getChallenge()].map((c) => c.toString('hex'))).toEqual(got);
  });

  it('cannot write into a missing folder: one-line InputError, nothing created', () => {
    const path = join(scratch, 'no-such-dir', 'card.json');
    expect(() => createCardFile(path, { adminKey: KEY, pin: '1234' })).toThrow(InputError);
    expect(() => readCardFile(path)).toThrow(/does not exist/);
  });
});

describe('card file validation: one line naming the file and the field', () => {
  const base = newFile();
  const cases: Array<[string, () => string, RegExp]> = [
    ['missing file', () => join(scratch, 'absent.json'), /absent\.json does not exist/],
    [
      'not JSON',
      () => {
        const p = fresh();
        writeFileSync(p, '{"format": "cmcard/card",');
        return p;
      },
      /is not JSON/,
    ],
    [
      'not an object',
      () => {
        const p = fresh();
        writeFileSync(p, '[1,2]');
        return p;
      },
      /top level must be a JSON object/,
    ],
    [
      'another format',
      () =>
        withField(base, (d) => {
          d.format = 'something-else';
        }),
      /"format" must be "cmcard\/card"/,
    ],
    [
      'a future version',
      () =>
        withField(base, (d) => {
          d.version = 2;
        }),
      /"version" must be 1, got 2/,
    ],
    [
      'a number as a string',
      () =>
        withField(base, (d) => {
          d.card.adminTriesLeft = '3';
        }),
      /card\.adminTriesLeft must be a whole number/,
    ],
    [
      'a short key',
      () =>
        withField(base, (d) => {
          d.card.adminKey = '0102030405';
        }),
      /card\.adminKey must be 24 bytes .* got 5 bytes/,
    ],
    [
      'a key that is not hex',
      () =>
        withField(base, (d) => {
          d.card.adminKey = 'zz'.repeat(24);
        }),
      /card\.adminKey must be lower-case hex/,
    ],
    [
      'a missing PIN',
      () =>
        withField(base, (d) => {
          delete d.card.pin;
        }),
      /card\.pin must be a string, got undefined/,
    ],
    [
      'tries above the limit',
      () =>
        withField(base, (d) => {
          d.card.pinTriesLeft = 9;
        }),
      /card\.pinTriesLeft must be a whole number from 0 to 3/,
    ],
    [
      'an ATR with a wrong TCK',
      () =>
        withField(base, (d) => {
          d.card.atr = '3b8d0180fba000000397425446590301c9';
        }),
      /card\.atr has a wrong TCK byte/,
    ],
    [
      'a bad cardid',
      () =>
        withField(base, (d) => {
          d.card.cardId = 'bc88';
        }),
      /card\.cardId is not a GUID like/,
    ],
    [
      'a 7-byte challenge',
      () =>
        withField(base, (d) => {
          d.card.pendingChallenge = '01020304050607';
        }),
      /card\.pendingChallenge length in bytes must be a multiple of 8 from 8 to 64, got 7$/,
    ],
    [
      'a bad replay',
      () =>
        withField(base, (d) => {
          d.replay = { seed: 'x', drawn: -1 };
        }),
      /replay\.drawn must be a whole number >= 0/,
    ],
  ];
  it.each(cases)('%s', (_name, make, message) => {
    const path = make();
    let error: unknown;
    try {
      openCardFile(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    const text = (error as Error).message;
    expect(text).toMatch(message);
    expect(text).toContain(path);
    expect(text.split('\n')).toHaveLength(1);
  });

  it('parses what it serializes', () => {
    const data = readCardFile(base);
    expect(parseCardFile(JSON.parse(serializeCardFile(data)))).toEqual(data);
  });
});

/** Runs an ES module script in a child node with args; resolves with how it ended. */
function runChild(
  script: string,
  args: string[],
  onStdout?: (text: string, kill: () => void) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000); // a bound, not an assertion
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, () => child.kill('SIGKILL'));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

describe('anti-tearing: a process killed mid-operation', () => {
  // The child kills itself right after the card's first durable write of the attempt,
  // that is after the counter is persisted and before the secret is compared.
  const killAfterPersist = `
    import { openCardFile } from ${JSON.stringify(DIST_CARD_FILE)};
    const [path, op, arg] = process.argv.slice(1);
    const card = openCardFile(path, { afterPersist: () => process.kill(process.pid, 'SIGKILL') });
    const result = op === 'admin' ? card.authenticateAdmin(Buffer.from(arg, 'hex')) : card.verifyPin(arg);
    console.log('survived', JSON.stringify(result));
  `;

  it('an admin attempt with the right response is counted and its challenge consumed', async () => {
    const path = newFile();
    const challenge = openCardFile(path).getChallenge();
    const right = tdesEncrypt(KEY, challenge).toString('hex');
    const r = await runChild(killAfterPersist, [path, 'admin', right]);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('survived');
    expect(readCardFile(path).card).toMatchObject({ adminTriesLeft: 4, pendingChallenge: null });
    // The consumed challenge cannot be replayed by the next process.
    const after = openCardFile(path);
    expect(after.authenticateAdmin(Buffer.from(right, 'hex'))).toMatchObject({ ok: false, sw: 0x6985 });
  });

  it('a PIN verification with the right PIN is counted', async () => {
    const path = newFile();
    const r = await runChild(killAfterPersist, [path, 'pin', '1234']);
    expect(r.signal).toBe('SIGKILL');
    expect(readCardFile(path).card.pinTriesLeft).toBe(2);
  });

  /**
   * A child that runs a fixed sequence of card operations and dies by SIGKILL at an exact
   * point of its K-th card-file write: before writing the temp file ('write'), halfway
   * through writing it ('half'), before its fsync ('fsync'), before the rename ('rename'),
   * or just after the write is reported ('after'). The points are set by wrapping node:fs
   * in the child, so where the kill lands does not depend on timing. The child prints
   * each operation it starts and each state the card wrote (afterPersist).
   */
  const killAtWrite = `
    import { createRequire, syncBuiltinESMExports } from 'node:module';
    const fs = createRequire(import.meta.url)('node:fs');
    const [path, killAt, phase] = process.argv.slice(1);
    const die = () => process.kill(process.pid, 'SIGKILL');
    let writes = 0;
    let cardFd = -1;
    const { writeSync, fsyncSync, renameSync } = fs;
    fs.writeSync = (fd, data, ...rest) => {
      if (typeof data === 'string' && data.startsWith('{\\n  "format"')) {
        writes += 1;
        cardFd = fd;
        if (writes === Number(killAt)) {
          if (phase === 'write') die();
          if (phase === 'half') { writeSync(fd, data.slice(0, data.length >> 1)); fsyncSync(fd); die(); }
        }
      }
      return writeSync(fd, data, ...rest);
    };
    fs.fsyncSync = (fd) => {
      if (fd === cardFd && writes === Number(killAt) && phase === 'fsync') die();
      return fsyncSync(fd);
    };
    fs.renameSync = (from, to) => {
      if (to === path && writes === Number(killAt) && phase === 'rename') die();
      return renameSync(from, to);
    };
    syncBuiltinESMExports();
    const { openCardFile } = await import(${JSON.stringify(DIST_CARD_FILE)});
    const card = openCardFile(path, {
      afterPersist: (state) => {
        console.log('state ' + JSON.stringify(state));
        if (writes === Number(killAt) && phase === 'after') die();
      },
    });
    for (let i = 0; i < 50; i++) {
      console.log('op challenge');
      card.getChallenge(i % 2 ? 8 : 64);
      const pin = i % 3 ? '1234' : '0000';
      console.log(pin === '1234' ? 'op verify-right' : 'op verify-wrong');
      card.verifyPin(pin);
    }
    console.log('not killed');
  `;
  const phases = ['write', 'half', 'fsync', 'rename', 'after'] as const;

  it('killed at any point of any write, the file is the last state the card reported written, and a kill never gives a try back', async () => {
    const path = newFile({ adminTries: null, pinTries: 5 });
    const temps = () => readdirSync(scratch).filter((f) => f.startsWith(`.${basename(path)}.`) && f.endsWith('.tmp'));
    let previous = readCardFile(path).card;
    let restoreKills = 0;
    // The sequence writes: 1 challenge, 2 wrong PIN, 3 challenge, 4+5 right PIN (decrement,
    // restore), 6 challenge, 7+8 right PIN, 9 challenge, 10 wrong PIN, 11 challenge, 12+13
    // right PIN: K = 5, 8 and 13 hit a restore write (with phases 'write', 'rename', 'rename').
    for (let k = 1; k <= 13; k++) {
      const phase = phases[k % phases.length]!;
      const r = await runChild(killAtWrite, [path, String(k), phase]);
      expect(r.signal, `${k}/${phase}: ${r.stderr}`).toBe('SIGKILL');
      const lines = r.stdout.trim().split('\n');
      const states = lines.filter((l) => l.startsWith('state ')).map((l) => JSON.parse(l.slice(6)));
      // The kill landed where it was aimed: after the K-th write was reported, or before it committed.
      expect(states).toHaveLength(phase === 'after' ? k : k - 1);
      const onDisk = readCardFile(path).card; // throws on a torn or partial file
      expect(onDisk).toEqual(states.at(-1) ?? previous);

      const lastOp = lines.filter((l) => l.startsWith('op ')).at(-1);
      const sinceOp = lines.slice(lines.lastIndexOf(lastOp!) + 1).filter((l) => l.startsWith('state ')).length;
      if (lastOp === 'op verify-right' && sinceOp === 1 && phase !== 'after') {
        // Killed in the write that would restore the counter after the right PIN: the try is spent.
        const before = lines
          .slice(0, lines.lastIndexOf(lastOp))
          .filter((l) => l.startsWith('state '))
          .at(-1);
        const triesBefore = before ? JSON.parse(before.slice(6)).pinTriesLeft : previous.pinTriesLeft;
        expect(onDisk.pinTriesLeft).toBe(triesBefore - 1);
        restoreKills += 1;
      }
      if (phase === 'rename') {
        // Up to the rename the old file is whole and the new state waits, whole, in a temp file.
        const [temp] = temps();
        const pending = readCardFile(join(scratch, temp!)).card;
        expect(pending).not.toEqual(onDisk);
        expect(pending).toMatchObject({ cardId: CARDID, adminKey: KEY.toString('hex') });
      }
      // Each round starts with full tries, so no round meets a blocked PIN (which would write less).
      writeCardFile(path, { card: { ...onDisk, pinTriesLeft: onDisk.pinTriesLimit }, replay: null });
      previous = readCardFile(path).card;
    }
    expect(restoreKills).toBe(3);
    // The killed children left temp files and a lock owned by a dead process: the next
    // open sweeps the temp files, and the next operation takes the stale lock over.
    expect(temps().length).toBeGreaterThan(0);
    const card = openCardFile(path);
    expect(temps()).toEqual([]);
    expect(card.verifyPin('1234')).toMatchObject({ ok: true, attemptsRemaining: 5 });
  }, 60_000);
});

describe('several processes on one card file', () => {
  /** A child that opens the card, says "ready", and makes one wrong PIN attempt when told to. */
  const oneWrongPin = `
    import { openCardFile } from ${JSON.stringify(DIST_CARD_FILE)};
    const card = openCardFile(process.argv[1]);
    console.log('ready');
    process.stdin.once('data', () => {
      console.log('sw ' + card.verifyPin('0000').sw.toString(16));
      process.exit(0);
    });
  `;

  /** Starts `n` children on one card file, lets them all read it, then sets them off together. */
  async function wrongPinsAtOnce(path: string, n: number): Promise<string[]> {
    const children = Array.from({ length: n }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', oneWrongPin, path], { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    const outputs = children.map((child) => {
      let text = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000); // a bound, not an assertion
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      const ready = new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('ready')) resolve();
        }),
      );
      const done = new Promise<string>((resolve) =>
        child.on('close', () => {
          clearTimeout(timer);
          resolve(text);
        }),
      );
      return { ready, done };
    });
    // Every child has read the file before any of them starts its attempt.
    await Promise.all(outputs.map((o) => o.ready));
    for (const child of children) child.stdin.end('go\n');
    return Promise.all(outputs.map((o) => o.done));
  }

  it('N processes each making one wrong PIN attempt at the same moment cost exactly N tries', async () => {
    const n = 7;
    // A few rounds: without the lock, one round loses an attempt most of the time, not always.
    for (let round = 0; round < 4; round++) {
      const path = newFile({ pinTries: 15 });
      const texts = await wrongPinsAtOnce(path, n);
      const sws = texts.map((t) => /sw (\w+)/.exec(t)?.[1] ?? t).sort();
      // Each attempt saw the ones before it: 14, 13, ... tries left, each reported once.
      expect(sws).toEqual(Array.from({ length: n }, (_, i) => (0x63c0 | (14 - i)).toString(16)).sort());
      expect(readCardFile(path).card.pinTriesLeft).toBe(15 - n);
    }
  }, 120_000);

  it('a lock held by a live process is waited for, with a bound, then named in a one-line error', () => {
    const path = newFile();
    // This very process holds it (as another thread would): alive, so never taken over.
    writeFileSync(lockPathFor(path), `${process.pid} held-elsewhere\n`);
    try {
      expect(() => withCardLock(path, () => 'ran', 30)).toThrow(/card file .* is busy: process \d+ has held .*\.lock for 30 ms/);
      expect(readFileSync(lockPathFor(path), 'utf8')).toContain('held-elsewhere'); // not removed
    } finally {
      rmSync(lockPathFor(path));
    }
    expect(withCardLock(path, () => 'ran')).toBe('ran');
    expect(existsSync(lockPathFor(path))).toBe(false);
  });

  it('worker threads of one process writing one card file never pick the same temp file name', async () => {
    const path = newFile();
    const data = readCardFile(path);
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.module).then(({ writeCardFile }) => {
        let failures = 0;
        for (let i = 0; i < 150; i++) {
          try { writeCardFile(workerData.path, workerData.data); } catch (err) { failures += 1; parentPort.postMessage(String(err.message)); }
        }
        parentPort.postMessage({ failures });
      });
    `;
    const run = () =>
      new Promise<{ failures: number; errors: string[] }>((resolve, reject) => {
        const errors: string[] = [];
        const worker = new Worker(code, { eval: true, workerData: { module: DIST_CARD_FILE, path, data } });
        worker.on('message', (m: unknown) => (typeof m === 'string' ? errors.push(m) : resolve({ ...(m as { failures: number }), errors })));
        worker.on('error', reject);
      });
    const results = await Promise.all([run(), run(), run()]);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(results.map((r) => r.failures)).toEqual([0, 0, 0]);
    expect(readCardFile(path)).toEqual(data);
  }, 60_000);
});

describe('card file errors never show the admin key', () => {
  it('a key with a bad digit is named by position, not shown', () => {
    const base = newFile();
    const key = KEY.toString('hex');
    const path = withField(base, (d) => {
      d.card.adminKey = `${key.slice(0, 40)}X${key.slice(41)}`;
    });
    expect(() => readCardFile(path)).toThrow(/card\.adminKey must be lower-case hex: character 41 of 48 is not/);
    try {
      readCardFile(path);
    } catch (err) {
      for (let at = 0; at + 8 <= key.length; at += 4) expect((err as Error).message).not.toContain(key.slice(at, at + 8));
    }
  });
});

describe('writeCardFile', () => {
  it('replaces the whole document, mode 0600, and leaves no temp file', () => {
    const path = newFile();
    const data = readCardFile(path);
    writeCardFile(path, { ...data, card: { ...data.card, pinTriesLeft: 1 } });
    expect(readCardFile(path)).toEqual({ ...data, card: { ...data.card, pinTriesLeft: 1 } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(scratch).filter((f) => f.startsWith(`.${basename(path)}.`))).toEqual([]);
  });
});
