// kill -9 of card commands at random moments: a child makes wrong PIN attempts through the
// real card-file API, printing each answer, and is killed 0-25 ms after it opened the card.
// Afterwards the card file must load (never torn), every answer the child gave must be on
// the counter (a gained attempt is an answer the counter does not show), at most the one
// attempt in flight may be counted without an answer, and the next command must work,
// taking over the lock when the kill left one. Used by `npm run reliability`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createCardFile, openCardFile, readCardFile } from '../simulator/card-file.js';
import { lockPathFor } from '../simulator/card-lock.js';

export interface KillStressOptions {
  /** file: URL of the built card-file module the children load. */
  cardFileModule: string;
  dir: string;
  kills: number;
  /** The longest wait, after the child opened the card, before it is killed (ms). */
  maxDelayMs?: number;
}

export interface KillStressResult {
  kills: number;
  /** Answers the killed children printed (each one an attempt they saw the card answer). */
  answers: number;
  /** Tries the counters lost in all. */
  triesUsed: number;
  /** Answers the counter does not show: must be 0. */
  gainedAttempts: number;
  /** Attempts counted but killed before they answered (the price of counting first). */
  countedUnanswered: number;
  /** Kills that left the lock behind, each taken over by the next command. */
  staleLocks: number;
  /** Kills that left a temp file, each swept by the next open. */
  tempFilesLeft: number;
  /** Card files that did not load after a kill: must be 0. */
  tornFiles: number;
  /** Next commands that failed or were not counted exactly once: must be 0. */
  nextCommandFailures: number;
  /** Kills that landed before the first attempt answered, or after the card blocked. */
  idleKills: number;
}

const PIN_TRIES = 15;
const KEY = Buffer.from('0123456789abcdef23456789abcdef01456789abcdef0123', 'hex');

const CHILD = (cardFileModule: string): string => `
  import { openCardFile } from ${JSON.stringify(cardFileModule)};
  const card = openCardFile(process.argv[1]);
  process.stdout.write('ready\\n');
  for (let i = 0; i < ${PIN_TRIES}; i++) process.stdout.write('sw ' + card.verifyPin('0000').sw.toString(16) + '\\n');
  process.stdout.write('done\\n');
`;

/** Runs one child, kills it `delayMs` after it said ready; resolves with what it printed. */
function killedChild(script: string, cardPath: string, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, cardPath], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let armed = false;
    const bound = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      if (!armed && out.includes('ready\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(bound);
      resolve(out);
    });
  });
}

export async function runKillStress(options: KillStressOptions): Promise<KillStressResult> {
  const script = CHILD(options.cardFileModule);
  const maxDelay = options.maxDelayMs ?? 25;
  const r: KillStressResult = {
    kills: 0,
    answers: 0,
    triesUsed: 0,
    gainedAttempts: 0,
    countedUnanswered: 0,
    staleLocks: 0,
    tempFilesLeft: 0,
    tornFiles: 0,
    nextCommandFailures: 0,
    idleKills: 0,
  };
  for (let i = 0; i < options.kills; i++) {
    const cardPath = join(options.dir, `kill-${i}.json`);
    createCardFile(cardPath, { adminKey: KEY, pin: '1234', pinTries: PIN_TRIES });
    const out = await killedChild(script, cardPath, Math.random() * maxDelay);
    r.kills += 1;
    const answers = out.split('\n').filter((l) => l.startsWith('sw ')).length;
    if (answers === 0 || out.includes('done\n')) r.idleKills += 1;
    let left: number;
    try {
      left = readCardFile(cardPath).card.pinTriesLeft;
    } catch {
      r.tornFiles += 1;
      continue;
    }
    const used = PIN_TRIES - left;
    r.answers += answers;
    r.triesUsed += used;
    if (answers > used) r.gainedAttempts += answers - used;
    else r.countedUnanswered += used - answers;
    if (existsSync(lockPathFor(cardPath))) r.staleLocks += 1;
    const prefix = `.${basename(cardPath)}.`;
    if (readdirSync(options.dir).some((n) => n.startsWith(prefix) && n.endsWith('.tmp'))) r.tempFilesLeft += 1;
    // The next command: through any stale lock, counted exactly once (or refused if blocked).
    try {
      const result = openCardFile(cardPath).verifyPin('0000');
      const after = readCardFile(cardPath).card.pinTriesLeft;
      const fine = left === 0 ? !result.ok && after === 0 : after === left - 1;
      if (!fine) r.nextCommandFailures += 1;
    } catch {
      r.nextCommandFailures += 1;
    }
    rmSync(cardPath, { force: true });
    for (const n of readdirSync(options.dir)) if (n.startsWith(prefix)) rmSync(join(options.dir, n), { force: true });
  }
  return r;
}
