import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';

// A non-weak 3-key key; its hex must never show up unless --show-key is given.
const KEY = '0123456789abcdef23456789abcdef01456789abcdef0123';
const scratch = mkdtempSync(join(tmpdir(), 'cmcard-cli-card-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(scratch, `card-${n++}.json`);

async function newCard(extra: string[] = []): Promise<string> {
  const state = fresh();
  const r = await runCli(['card', 'new', '--state', state, '--admin-key', KEY, '--pin', '1234', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return state;
}

/** Runs a command that must succeed; a failure shows its stderr. */
async function ok(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(pattern);
}

describe('cmcard card: a blocked PIN unblocked with the help desk', () => {
  it('new -> three wrong PINs -> blocked -> challenge -> cmcard response -> unblock -> new PIN verifies', async () => {
    const state = fresh();
    const outputs: string[] = [];
    const run = async (args: string[]) => {
      const r = await runCli(args);
      outputs.push(r.stdout, r.stderr);
      return r;
    };

    const created = await run(['card', 'new', '--state', state, '--admin-key', KEY, '--pin', '1234', '--cardid', 'bc88f13f-83ba-4037-8262-46eba1291c6e']);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('bc88f13f-83ba-4037-8262-46eba1291c6e');
    expect(statSync(state).mode & 0o777).toBe(0o600);

    const wrong1 = await run(['card', 'verify-pin', '--state', state, '--pin', '0000']);
    expect(wrong1.code).toBe(1);
    expectOneLine(wrong1.stderr, /wrong PIN, 2 attempt\(s\) left \(SCARD_W_WRONG_CHV, SW 63C2\)/);
    expect((await run(['card', 'verify-pin', '--state', state, '--pin', '0000'])).stderr).toMatch(/SW 63C1/);
    const blocked = await run(['card', 'verify-pin', '--state', state, '--pin', '0000']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/PIN is blocked \(SCARD_W_CHV_BLOCKED, SW 6983\)/);
    const rightButBlocked = await run(['card', 'verify-pin', '--state', state, '--pin', '1234']);
    expect(rightButBlocked.code).toBe(1);

    const challenge = await run(['card', 'challenge', '--state', state]);
    expect(challenge.code).toBe(0);
    const windows = /challenge: ([0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4})/.exec(challenge.stdout)?.[1];
    const base64 = /base64: +(\S+)/.exec(challenge.stdout)?.[1];
    expect(windows).toBeDefined();
    expect(Buffer.from(base64!, 'base64').toString('hex').toUpperCase()).toBe(windows!.replace(/ /g, ''));

    // The help desk reads the Windows digits and answers in the same format.
    const response = await run(['response', '--key', KEY, '--challenge', windows!, '--format', 'hex']);
    expect(response.code).toBe(0);

    const unblocked = await run(['card', 'unblock', '--state', state, '--response', response.stdout.trim(), '--new-pin', '5678']);
    expect(unblocked.code, unblocked.stderr).toBe(0);
    expect(unblocked.stdout).toMatch(/SCARD_S_SUCCESS, SW 9000/);

    expect((await run(['card', 'verify-pin', '--state', state, '--pin', '1234'])).code).toBe(1);
    const ok = await run(['card', 'verify-pin', '--state', state, '--pin', '5678']);
    expect(ok.code).toBe(0);
    const status = JSON.parse((await run(['card', 'status', '--state', state, '--json'])).stdout);
    expect(status).toMatchObject({ pinBlocked: false, pinTriesLeft: 3, adminTriesLeft: 5, pendingChallenge: null });

    // No command printed the admin key or the PINs' file contents.
    expect(outputs.join('\n').toLowerCase()).not.toContain(KEY);
  }, 60_000); // fourteen commands in a row on a busy machine: a bound, not a speed claim

  it('unblock takes the server\'s JSON answer pasted as is ("zVdlc/8Ah5Q=", quotes included)', async () => {
    const state = await newCard();
    await ok(['card', 'block', '--state', state]);
    const challenge = JSON.parse(await ok(['card', 'challenge', '--state', state, '--json'])).base64 as string;
    const response = (await ok(['response', '--key', KEY, '--challenge', challenge])).trim();
    const unblocked = await runCli(['card', 'unblock', '--state', state, '--response', JSON.stringify(response), '--new-pin', '5678']);
    expect(unblocked.code, unblocked.stderr).toBe(0);
    expect(unblocked.stdout).toMatch(/SW 9000/);
    const bad = await runCli(['card', 'unblock', '--state', state, '--response', '"zVdl"c/8Ah5Q="', '--new-pin', '5678']);
    expect(bad.code).toBe(2);
    expectOneLine(bad.stderr, /--response starts and ends with a double quote but is not a JSON string/);
  }, 60_000);

  it('a wrong response costs an admin attempt and says how many are left; no pending challenge is refused', async () => {
    const state = await newCard(['--admin-tries', '3']);
    await ok(['card', 'block', '--state', state]);
    const noChallenge = await runCli(['card', 'unblock', '--state', state, '--response', 'AAAAAAAAAAA=', '--new-pin', '5678']);
    expect(noChallenge.code).toBe(1);
    expect(noChallenge.stderr).toMatch(/SW 6985/);
    await ok(['card', 'challenge', '--state', state]);
    const wrong = await runCli(['card', 'unblock', '--state', state, '--response', 'AAAAAAAAAAA=', '--new-pin', '5678']);
    expect(wrong.code).toBe(1);
    expectOneLine(wrong.stderr, /wrong admin response, 2 admin attempt\(s\) left \(SCARD_W_WRONG_CHV, SW 63C2\)/);
  }, 60_000);

  it('a blocked admin key gets no challenge, as on the card (6983), and nothing is left pending', async () => {
    const state = await newCard(['--admin-tries', '1']);
    await ok(['card', 'challenge', '--state', state]);
    const wrong = await runCli(['card', 'unblock', '--state', state, '--response', 'AAAAAAAAAAA=', '--new-pin', '5678']);
    expect(wrong.stderr).toMatch(/SW 6983/);
    const refused = await runCli(['card', 'challenge', '--state', state]);
    expect(refused.code).toBe(1);
    expectOneLine(refused.stderr, /admin key is blocked: no challenge issued \(SCARD_W_CHV_BLOCKED, SW 6983\)/);
    expect(JSON.parse(await ok(['card', 'status', '--state', state, '--json'])).pendingChallenge).toBeNull();
  }, 60_000);

  it('a mistyped key is never echoed: not by card new, not by response', async () => {
    const typo = `${KEY.slice(0, 30)}!${KEY.slice(31)}`;
    const runs = await Promise.all([
      runCli(['card', 'new', '--state', fresh(), '--admin-key', typo, '--pin', '1234']),
      runCli(['response', '--key', typo, '--challenge', '1603ebdf1c8a2e72']),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /character 31 of 48 is not/);
      for (let at = 0; at + 8 <= KEY.length; at += 4) expect(r.stderr).not.toContain(KEY.slice(at, at + 8));
    }
  });
});

describe('cmcard card: keys and output', () => {
  it('status shows the KCV, and the key only with --show-key', async () => {
    const state = await newCard(['--admin-tries', 'unlimited']);
    const plain = await ok(['card', 'status', '--state', state]);
    expect(plain).not.toContain(KEY);
    expect(plain).toMatch(/KCV [0-9A-F]{6}/);
    expect(plain).toMatch(/unlimited attempts/);
    const json = JSON.parse(await ok(['card', 'status', '--state', state, '--json']));
    expect(json.adminKey).toBeUndefined();
    expect(json.adminTriesLimit).toBeNull();
    expect(await ok(['card', 'status', '--state', state, '--show-key'])).toContain(KEY);
    expect(JSON.parse(await ok(['card', 'status', '--state', state, '--json', '--show-key'])).adminKey).toBe(KEY);
  }, 60_000);

  it('the all-zero key shows the documented KCV 8CA64D', async () => {
    const state = fresh();
    await ok(['card', 'new', '--state', state, '--admin-key', '00'.repeat(24), '--pin', '1234']);
    expect(await ok(['card', 'status', '--state', state])).toMatch(/KCV 8CA64D/);
  });

  it('--seed replays: two cards with the same seed issue the same cardid and challenges', async () => {
    const [a, b, c] = await Promise.all([newCard(['--seed', 'class demo']), newCard(['--seed', 'class demo']), newCard(['--seed', 'another'])]);
    const seq = async (state: string) => {
      const out: string[] = [];
      for (const len of ['8', '16']) {
        const r = await runCli(['card', 'challenge', '--state', state, '--length', len, '--json']);
        expect(r.code, r.stderr).toBe(0);
        out.push(r.stdout);
      }
      return out;
    };
    const [seqA, seqB] = await Promise.all([seq(a), seq(b)]);
    expect(seqA).toEqual(seqB);
    expect(JSON.parse(seqA[1]!).hex).toHaveLength(32);
    const id = async (s: string) => JSON.parse(await ok(['card', 'status', '--state', s, '--json'])).cardId;
    const [idA, idB, idC] = await Promise.all([id(a), id(b), id(c)]);
    expect(idA).toBe(idB);
    expect(idC).not.toBe(idA);
  }, 60_000);
});

describe('cmcard card: bad input exits 2 with one line and changes nothing', () => {
  it.each([
    [['--admin-key', '0102030405060708', '--pin', '1234'], /--admin-key must be 48 or 32 hex digits \(or base64 of 24 or 16 bytes\), got 16 hex digits/],
    [['--admin-key', 'xyz!', '--pin', '1234'], /--admin-key is neither hex nor base64/],
    [['--admin-key', KEY, '--pin', '12'], /--pin must be 4 to 127 bytes/],
    [['--admin-key', KEY, '--pin', '1234', '--cardid', 'nope'], /cardid is not a GUID/],
    [['--admin-key', KEY, '--pin', '1234', '--atr', '3b8d0180fba000000397425446590301c9'], /ATR has a wrong TCK byte C9/],
    [['--admin-key', KEY, '--pin', '1234', '--admin-tries', '0'], /--admin-tries must be a whole number from 1 to 15, got 0/],
    [['--admin-key', KEY, '--pin', '1234', '--pin-tries', 'three'], /--pin-tries must be a whole number/],
  ])('new %j', async (args, message) => {
    const state = fresh();
    const r = await runCli(['card', 'new', '--state', state, ...args]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, message);
    expect(() => statSync(state)).toThrow();
  });

  it('commands on a card refuse bad flags before touching the file', async () => {
    const state = await newCard();
    await ok(['card', 'challenge', '--state', state]);
    const before = readFileSync(state, 'utf8');
    const bad: Array<[string[], RegExp]> = [
      [['card', 'unblock', '--state', state, '--response', 'not base64!', '--new-pin', '5678'], /--response is neither hex nor base64/],
      [['card', 'unblock', '--state', state, '--response', '0102030405060708', '--new-pin', '1'], /--new-pin must be 4 to 127 bytes/],
      [
        ['card', 'unblock', '--state', state, '--response', '01020304050607', '--new-pin', '5678'],
        /--response must be 8 bytes like the pending challenge, got 7/,
      ],
      [['card', 'verify-pin', '--state', state, '--pin', '12'], /--pin must be 4 to 127 bytes/],
      [['card', 'challenge', '--state', state, '--length', '7'], /--length must be a multiple of 8/],
      [['card', 'new', '--state', state, '--admin-key', KEY, '--pin', '1234'], /already exists \(pass --force/],
    ];
    for (const [args, message] of bad) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneLine(r.stderr, message);
      expect(r.stderr).not.toContain(KEY);
    }
    expect(readFileSync(state, 'utf8')).toBe(before);
  }, 60_000);

  const broken: Array<[string, () => Promise<string>, RegExp]> = [
    ['missing', async () => join(scratch, 'missing.json'), /does not exist/],
    [
      'corrupt',
      async () => {
        const p = fresh();
        writeFileSync(p, '{"format": "cmcard/card", "version": 1, "card": {');
        return p;
      },
      /is not JSON/,
    ],
    [
      'foreign',
      async () => {
        const p = fresh();
        writeFileSync(p, '{"hello": "world"}');
        return p;
      },
      /"format" must be "cmcard\/card"/,
    ],
    [
      'short key',
      async () => {
        const p = await newCard();
        const doc = JSON.parse(readFileSync(p, 'utf8'));
        doc.card.adminKey = '0102';
        writeFileSync(p, JSON.stringify(doc));
        return p;
      },
      /card\.adminKey must be 24 bytes .*got 2 bytes/,
    ],
  ];
  it.each(broken)(
    'a %s card file',
    async (_name, make, message) => {
      const state = await make();
      const runs = await Promise.all(['status', 'challenge', 'block'].map((cmd) => runCli(['card', cmd, '--state', state])));
      for (const r of runs) {
        expect(r.code).toBe(2);
        expectOneLine(r.stderr, message);
        expect(r.stderr).toContain(state);
      }
    },
    60_000,
  );

  it('a missing --state is a usage error', async () => {
    const r = await runCli(['card', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--state/);
  });

  it('--help exits 0 and lists the commands', async () => {
    const r = await runCli(['card', '--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['new', 'status', 'challenge', 'unblock', 'verify-pin', 'block', 'attach']) expect(r.stdout).toContain(cmd);
  });
});
