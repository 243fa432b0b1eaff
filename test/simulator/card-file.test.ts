import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createCardFile, openCardFile, parseCardFile, readCardFile, serializeCardFile, writeCardFile,
} from '../../simulator/card-file.js';
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
    ['not JSON', () => { const p = fresh(); writeFileSync(p, '{"format": "cmcard/card",'); return p; }, /is not JSON/],
    ['not an object', () => { const p = fresh(); writeFileSync(p, '[1,2]'); return p; }, /top level must be a JSON object/],
    ['another format', () => withField(base, (d) => { d.format = 'something-else'; }), /"format" must be "cmcard\/card"/],
    ['a future version', () => withField(base, (d) => { d.version = 2; }), /"version" must be 1, got 2/],
    ['a number as a string', () => withField(base, (d) => { d.card.adminTriesLeft = '3'; }), /card\.adminTriesLeft must be a whole number/],
    ['a short key', () => withField(base, (d) => { d.card.adminKey = '0102030405'; }), /card\.adminKey must be 24 bytes .* got 5 bytes/],
    ['a key that is not hex', () => withField(base, (d) => { d.card.adminKey = 'zz'.repeat(24); }), /card\.adminKey must be lower-case hex/],
    ['a missing PIN', () => withField(base, (d) => { delete d.card.pin; }), /card\.pin must be a string, got undefined/],
    ['tries above the limit', () => withField(base, (d) => { d.card.pinTriesLeft = 9; }), /card\.pinTriesLeft must be a whole number from 0 to 3/],
    ['an ATR with a wrong TCK', () => withField(base, (d) => { d.card.atr = '3b8d0180fba000000397425446590301c9'; }), /card\.atr has a wrong TCK byte/],
    ['a bad cardid', () => withField(base, (d) => { d.card.cardId = 'bc88'; }), /card\.cardId must be a GUID/],
    ['a 7-byte challenge', () => withField(base, (d) => { d.card.pendingChallenge = '01020304050607'; }), /card\.pendingChallenge must be a multiple of 8 bytes/],
    ['a bad replay', () => withField(base, (d) => { d.replay = { seed: 'x', drawn: -1 }; }), /replay\.drawn must be a whole number >= 0/],
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
function runChild(script: string, args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
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

  it('killed during a loop of writes, the file is always a whole old or new state', async () => {
    const path = newFile({ adminTries: null });
    // Each write changes the pending challenge or the PIN counter; the child says when it has written.
    const writeLoop = `
      import { openCardFile } from ${JSON.stringify(DIST_CARD_FILE)};
      const card = openCardFile(process.argv[1]);
      for (let i = 0; ; i++) {
        if (i === 3) console.log('writing');
        card.getChallenge(i % 2 ? 8 : 64);
        // A kill can leave the PIN blocked (see below); keep writing through the admin path then.
        if (card.pinBlocked) card.authenticateAdmin(Buffer.alloc(8));
        else card.verifyPin(i % 3 ? '1234' : '0000');
      }
    `;
    const seen = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const r = await runChild(writeLoop, [path], (text, kill) => {
        // Kill at a different point of the loop each round: after 0..7 extra ms of writes.
        if (text.includes('writing')) setTimeout(kill, round);
      });
      expect(r.signal).toBe('SIGKILL');
      const data = readCardFile(path); // throws on a torn or partial file
      expect(data.card).toMatchObject({ cardId: CARDID, adminKey: KEY.toString('hex'), pin: '1234' });
      // Counter-first can leave 0 here (killed between decrement and restore with one try
      // left): the kill costs the try, as on a real card; it never gains one.
      expect(data.card.pinTriesLeft).toBeGreaterThanOrEqual(0);
      expect(data.card.pinTriesLeft).toBeLessThanOrEqual(3);
      seen.add(data.card.pendingChallenge ?? 'none');
    }
    // The file did change between kills: the loop really was writing.
    expect(seen.size).toBeGreaterThan(1);
    // Temp files the killed writers left behind are swept by the next open.
    const temps = () => readdirSync(scratch).filter((f) => f.startsWith(`.${basename(path)}.`) && f.endsWith('.tmp'));
    writeFileSync(join(scratch, `.${basename(path)}.999999999.0.tmp`), 'left by a dead writer');
    expect(temps().length).toBeGreaterThan(0);
    openCardFile(path);
    expect(temps()).toEqual([]);
  });
});

describe('writeCardFile', () => {
  it('writes whole documents only: the old file stays readable until the rename', () => {
    const path = newFile();
    const data = readCardFile(path);
    writeCardFile(path, { ...data, card: { ...data.card, pinTriesLeft: 1 } });
    expect(readCardFile(path).card.pinTriesLeft).toBe(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
