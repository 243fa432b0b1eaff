import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCardFile, readCardFile } from '../../simulator/card-file.js';
import { BIN, runCli } from '../support/cli.js';
import { FakeVpcd, withTimeout } from './vpcd-fake.js';

// `cmcard card attach` as a user runs it (the built bin), against a fake vpcd reader driver.

const KEY = '8f1e6d2c4b3a59687f0e1d2c3b4a5968a7b6c5d4e3f20110';
const SELECT = '00a4040c09a00000039742544659';

describe('cmcard card attach', () => {
  let dir: string;
  let state: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cmcard-attach-'));
    state = join(dir, 'card.json');
    createCardFile(state, { adminKey: Buffer.from(KEY, 'hex'), pin: '2468', pinTries: 3 });
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function attach(args: string[]): { child: ChildProcess; output: () => string; stderr: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [BIN, 'card', 'attach', '--state', state, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    let errors = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      errors += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { child, output: () => text, stderr: () => errors, exited };
  }

  it('answers the reader, writes every counter change to the card file, and detaches on SIGTERM', async () => {
    const vpcd = await FakeVpcd.start();
    try {
      const run = attach(['--vpcd', `127.0.0.1:${vpcd.port}`, '--trace']);
      const conn = await vpcd.connection(1, 15_000);
      expect((await conn.request(Buffer.from([0x04]))).toString('hex')).toBe(readCardFile(state).card.atr);
      conn.send(Buffer.from([0x01]));
      expect((await conn.apdu(SELECT)).sw).toBe(0x9000);
      expect((await conn.apdu('002000800439393939')).sw).toBe(0x63c2);
      // The attempt is in the file as soon as the card has answered.
      expect(readCardFile(state).card.pinTriesLeft).toBe(2);
      expect((await conn.apdu('002000800432343638')).sw).toBe(0x9000);
      expect(readCardFile(state).card.pinTriesLeft).toBe(3);

      run.child.kill('SIGTERM');
      expect(await withTimeout(run.exited, 10_000, 'attach to exit')).toBe(0);
      await withTimeout(conn.closed, 5000, 'the connection to close');
      const out = run.output();
      expect(out).toContain(`connected to vpcd at 127.0.0.1:${vpcd.port}`);
      expect(out).toContain('> 00 a4 04 0c 09 a0 00 00 03 97 42 54 46 59    SELECT');
      expect(out).toContain('> 00 20 00 80 04 ** ** ** **    VERIFY');
      expect(out).toContain('SW 63C2');
      expect(out).not.toMatch(/39 39 39 39|32 34 36 38/);
      expect(out).toContain('detached');
    } finally {
      await vpcd.close();
    }
  });

  it('waits for the reader driver and says so once, then connects when it appears', async () => {
    const probe = await FakeVpcd.start();
    const port = probe.port;
    await probe.close();
    const run = attach(['--vpcd', `127.0.0.1:${port}`]);
    await withTimeout(waitForText(run.output, 'waiting for vpcd'), 15_000, 'the waiting line');
    const vpcd = await FakeVpcd.start(port);
    try {
      const conn = await vpcd.connection(1, 15_000);
      expect((await conn.apdu(SELECT)).sw).toBe(0x9000);
      run.child.kill('SIGINT');
      expect(await withTimeout(run.exited, 10_000, 'attach to exit')).toBe(0);
      expect(run.output().match(/waiting for vpcd/g)?.length).toBe(1);
    } finally {
      await vpcd.close();
    }
  });

  it.each([
    ['deleted', () => rmSync(state), 'VERIFY', /card file .*card\.json does not exist/],
    ['corrupted', () => writeFileSync(state, '{"format": "cmcard/card", '), 'GET ATR', /card file .*card\.json is not JSON/],
  ])('the card file %s while attached: the card answers no more, says why in one line, and exits 1', async (_name, spoil, what, reason) => {
    const vpcd = await FakeVpcd.start();
    try {
      const run = attach(['--vpcd', `127.0.0.1:${vpcd.port}`]);
      const conn = await vpcd.connection(1, 15_000);
      expect((await conn.apdu(SELECT)).sw).toBe(0x9000);
      spoil();
      if (what === 'VERIFY') {
        // The command in flight gets a status word (6F00, "no precise diagnosis"), not silence.
        expect((await conn.apdu('002000800439393939')).sw).toBe(0x6f00);
      } else {
        conn.send(Buffer.from([0x04]));
      }
      expect(await withTimeout(run.exited, 10_000, 'attach to exit')).toBe(1);
      await withTimeout(conn.closed, 5000, 'the connection to close');
      const errorLines = run.stderr().trimEnd().split('\n');
      expect(errorLines).toHaveLength(1);
      expect(errorLines[0]).toMatch(/^cmcard: the card failed, so it left the reader: /);
      expect(errorLines[0]).toMatch(reason);
      expect(run.output()).toContain('detached');
    } finally {
      await vpcd.close();
    }
  });

  it('bad input exits 2 with one line and leaves the card file alone', async () => {
    const before = readFileSync(state, 'utf8');
    const badPort = await runCli(['card', 'attach', '--state', state, '--vpcd', '127.0.0.1:70000']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr.trim()).toBe('cmcard: --vpcd: port must be a number from 1 to 65535, got "70000"');
    const missing = await runCli(['card', 'attach', '--state', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/card file .*nope\.json does not exist/);
    const noState = await runCli(['card', 'attach']);
    expect(noState.code).toBe(2);
    expect(readFileSync(state, 'utf8')).toBe(before);
  });
});

async function waitForText(output: () => string, text: string): Promise<void> {
  for (let i = 0; i < 3000 && !output().includes(text); i++) await new Promise((r) => setTimeout(r, 5));
  if (!output().includes(text)) throw new Error(`no "${text}" in the output: ${output()}`);
}
