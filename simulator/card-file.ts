import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isGuid } from './bytes.js';
import { isAlive, tempPathFor, withCardLock } from './card-lock.js';
import { MAX_TRIES, VirtualCard, pinProblem, type CardState, type NewCardOptions } from './card.js';
import { InputError } from './errors.js';
import { atrProblem } from './iso7816.js';
import { seededRandom, type RandomSource } from './random.js';
import { adminKeyLengthProblem } from './tdes.js';
import { challengeLengthRule, guidProblem } from './validate.js';

/**
 * The durable card file: one JSON document per card, written atomically (temp file in
 * the same folder, fsync, rename, fsync of the folder), mode 0600 because it holds the
 * admin key and the PIN. The card calls `persist` before every secret comparison, and
 * the rename is the commit point: after a crash the file is the old state or the new
 * one, never a mix, and an attempt that reached the compare has been counted.
 *
 *   { "format": "cmcard/card", "version": 1,
 *     "card": { ...CardState },
 *     "replay": { "seed": "demo", "drawn": 24 } }      (only for cards made with a seed)
 *
 * `replay` makes a seeded card's challenges repeat across processes: the random stream
 * is SHA-256 counter mode over the seed (random.ts), and `drawn` is how many of its
 * bytes the card has used, so a reopened card continues where the last process stopped.
 */

export const CARD_FILE_FORMAT = 'cmcard/card';
export const CARD_FILE_VERSION = 1;

export interface ReplayState {
  /** The seed text given to `cmcard card new --seed`. It predicts every challenge. */
  readonly seed: string;
  /** Bytes of the seeded stream used so far. */
  readonly drawn: number;
}

export interface CardFileData {
  readonly card: CardState;
  readonly replay: ReplayState | null;
}

export interface OpenCardOptions {
  /** Overrides the card's random source (and the file's replay stream, which is then left as is). */
  random?: RandomSource;
  /** Called after each durable write, with the state written (watchers; power-loss tests). */
  afterPersist?: (state: Readonly<CardState>) => void;
}

export interface CreateCardFileOptions extends NewCardOptions {
  /** Deterministic challenges (and cardid when none is given), replayable across processes. */
  seed?: string;
  /** Replace an existing file; without it an existing file is an error and stays untouched. */
  overwrite?: boolean;
  afterPersist?: (state: Readonly<CardState>) => void;
}

/**
 * Opens a card file: the card's every commit point writes the file synchronously, and
 * every operation runs holding the card file's lock (card-lock.ts): it re-reads the file
 * if another process wrote it since (a `cmcard card` command while `card attach` runs),
 * changes the state and writes it before the lock is let go. So two processes never
 * undo each other's counter changes, and each attempt is on disk before its compare.
 */
export function openCardFile(path: string, options: OpenCardOptions = {}): VirtualCard {
  removeStaleTempFiles(path);
  let { data, signature: seen } = readCardFileVersion(path);
  let stream = options.random || !data.replay ? null : replayStream(data.replay);
  const random: RandomSource | undefined = options.random ?? (stream ? (length) => stream!.random(length) : undefined);
  return VirtualCard.fromState(data.card, {
    ...(random ? { random } : {}),
    transaction: (body) => withCardLock(path, body),
    persist: (state) => {
      const replay = stream ? { seed: stream.seed, drawn: stream.drawn() } : data.replay;
      try {
        // The signature of what we wrote, taken from our own file before the rename: a
        // later stat could see another writer's file and take it as already loaded.
        seen = writeCardFileVersion(path, { card: state, replay }, true);
      } catch (err) {
        seen = 'unknown'; // not written: the next operation starts again from the file
        throw err;
      }
      options.afterPersist?.(state);
    },
    refresh: () => {
      if (fileSignature(path) === seen) return null;
      ({ data, signature: seen } = readCardFileVersion(path));
      if (!options.random) stream = data.replay ? replayStream(data.replay) : null;
      return data.card;
    },
  });
}

/** Identifies one version of the file: every atomic write makes a new inode. */
function signatureOf(s: { ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${s.ino}:${s.size}:${s.mtimeNs}`;
}

function fileSignature(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      return signatureOf(fstatSync(fd, { bigint: true }));
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'missing';
  }
}

/** Makes a new card and its file, and opens it. Refuses an existing file unless `overwrite` is set. */
export function createCardFile(path: string, options: CreateCardFileOptions): VirtualCard {
  const { seed, overwrite = false, afterPersist, ...cardOptions } = options;
  if (seed !== undefined && seed.length === 0) throw new InputError('seed is empty');
  const stream = seed === undefined ? null : replayStream({ seed, drawn: 0 });
  const random = stream?.random ?? cardOptions.random;
  const card = VirtualCard.create(cardOptions, random ? { random } : {});
  const replay = stream ? { seed: stream.seed, drawn: stream.drawn() } : null;
  const write = () => writeCardFile(path, { card: card.snapshot(), replay }, { overwrite });
  // Replacing a card another process may be using: not in the middle of its operation.
  if (overwrite) withCardLock(path, write);
  else write();
  // The returned card is the file's, as openCardFile gives it (seeded cards continue their stream).
  return openCardFile(path, {
    ...(stream === null && cardOptions.random ? { random: cardOptions.random } : {}),
    ...(afterPersist ? { afterPersist } : {}),
  });
}

/** Reads and validates a card file; every problem is one line naming the file and the field. */
export function readCardFile(path: string): CardFileData {
  return readCardFileVersion(path).data;
}

/** The file's data and the signature of the very version read (one open file: no race between them). */
function readCardFileVersion(path: string): { data: CardFileData; signature: string } {
  let text: string;
  let signature: string;
  try {
    const fd = openSync(path, 'r');
    try {
      signature = signatureOf(fstatSync(fd, { bigint: true }));
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`card file ${path} does not exist (create one with \`cmcard card new\`)`);
    if (code === 'EISDIR') throw new InputError(`card file ${path} is a directory`);
    throw new InputError(`card file ${path} cannot be read: ${oneLine(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`card file ${path} is not JSON: ${oneLine(err)}`);
  }
  return { data: parseCardFile(json, `card file ${path}`), signature };
}

/** Validates parsed card-file JSON; `label` starts every error message. */
export function parseCardFile(json: unknown, label = 'card file'): CardFileData {
  const fail = (field: string, problem: string): never => {
    throw new InputError(`${label}: ${field} ${problem}`);
  };
  if (!isRecord(json)) return fail('top level', 'must be a JSON object');
  if (json.format !== CARD_FILE_FORMAT) fail('"format"', `must be "${CARD_FILE_FORMAT}" (is this a cmcard card file?)`);
  if (json.version !== CARD_FILE_VERSION) fail('"version"', `must be ${CARD_FILE_VERSION}, got ${JSON.stringify(json.version)}`);
  const c = json.card;
  if (!isRecord(c)) return fail('"card"', 'must be an object');

  const str = (k: string): string => {
    const v = c[k];
    if (typeof v !== 'string') fail(`card.${k}`, `must be a string, got ${typeName(v)}`);
    return v as string;
  };
  const int = (k: string, min: number, max: number, nullable = false): number | null => {
    const v = c[k];
    if (v === null && nullable) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(`card.${k}`, `must be a whole number from ${min} to ${max}${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  // The file holds the card's own forms (lower-case hex, bare GUID) as the card writes
  // them; what they may hold is the card's and the kit's rule, checked by their functions.
  const hexField = (k: string, rule: (bytes: Buffer) => string | null): string => {
    const v = str(k);
    // Never echo the value: card.adminKey is a secret.
    const bad = v.search(/[^0-9a-f]/);
    if (bad >= 0) fail(`card.${k}`, `must be lower-case hex: character ${bad + 1} of ${v.length} is not`);
    if (v.length % 2 !== 0) fail(`card.${k}`, `must be lower-case hex with an even number of digits, got ${v.length}`);
    const problem = rule(Buffer.from(v, 'hex'));
    if (problem) fail(`card.${k}`, problem);
    return v;
  };

  if (c.version !== 1) fail('card.version', `must be 1, got ${JSON.stringify(c.version)}`);
  const cardId = str('cardId');
  if (!isGuid(cardId)) fail('card.cardId', guidProblem(cardId));
  const atr = hexField('atr', atrProblem);
  const serial = str('serial');
  const adminKey = hexField('adminKey', (key) => adminKeyLengthProblem(key.length));
  const adminTriesLimit = int('adminTriesLimit', 1, MAX_TRIES, true);
  const adminTriesLeft = int('adminTriesLeft', 0, adminTriesLimit ?? 0, adminTriesLimit === null);
  if ((adminTriesLimit === null) !== (adminTriesLeft === null)) fail('card.adminTriesLeft', 'must be null exactly when adminTriesLimit is null');
  const pin = str('pin');
  const pinBad = pinProblem(pin, 'card.pin');
  if (pinBad) throw new InputError(`${label}: ${pinBad}`);
  const pinTriesLimit = int('pinTriesLimit', 1, MAX_TRIES) as number;
  const pinTriesLeft = int('pinTriesLeft', 0, pinTriesLimit) as number;
  const pendingChallenge =
    c.pendingChallenge === null
      ? null
      : hexField('pendingChallenge', (challenge) => {
          const rule = challengeLengthRule(challenge.length);
          return rule && `length in bytes ${rule}`;
        });

  let replay: ReplayState | null = null;
  if (json.replay !== undefined && json.replay !== null) {
    const r = json.replay;
    if (!isRecord(r)) return fail('"replay"', 'must be an object or null');
    if (typeof r.seed !== 'string' || r.seed.length === 0) fail('replay.seed', 'must be a non-empty string');
    if (typeof r.drawn !== 'number' || !Number.isSafeInteger(r.drawn) || r.drawn < 0)
      fail('replay.drawn', `must be a whole number >= 0, got ${JSON.stringify(r.drawn)}`);
    replay = { seed: r.seed as string, drawn: r.drawn as number };
  }
  const card: CardState = {
    version: 1,
    cardId,
    atr,
    serial,
    adminKey,
    adminTriesLimit,
    adminTriesLeft,
    pin,
    pinTriesLimit,
    pinTriesLeft,
    pendingChallenge,
  };
  return { card, replay };
}

/** The file's JSON text for a state (keys and PIN included: it is written with mode 0600). */
export function serializeCardFile(data: CardFileData): string {
  const doc = { format: CARD_FILE_FORMAT, version: CARD_FILE_VERSION, card: data.card, ...(data.replay ? { replay: data.replay } : {}) };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Writes a card file atomically: temp file beside it (mode 0600), fsync, then rename
 * (or, without `overwrite: false`, a hard link that fails if the file exists), fsync of
 * the folder so the rename itself survives power loss.
 */
export function writeCardFile(path: string, data: CardFileData, options: { overwrite?: boolean } = {}): void {
  writeCardFileVersion(path, data, options.overwrite ?? true);
}

/** writeCardFile, returning the signature of the file it wrote. */
function writeCardFileVersion(path: string, data: CardFileData, overwrite: boolean): string {
  const dir = dirname(path);
  const tmp = tempPathFor(path);
  let fd: number;
  let signature: string;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (err) {
    throw new InputError(`card file ${path} cannot be written: ${oneLine(err)}`);
  }
  try {
    try {
      writeSync(fd, serializeCardFile(data));
      fsyncSync(fd);
      // rename and link keep the inode, size and mtime: this is the signature the file will have.
      signature = signatureOf(fstatSync(fd, { bigint: true }));
    } finally {
      closeSync(fd);
    }
    if (overwrite) {
      renameSync(tmp, path);
    } else {
      try {
        linkSync(tmp, path); // atomic "create if absent": never clobbers a card another process made
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new InputError(`card file ${path} already exists (pass --force to replace it)`);
        }
        throw err;
      }
      unlinkSync(tmp);
    }
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or gone */
    }
    if (err instanceof InputError) throw err;
    throw new InputError(`card file ${path} cannot be written: ${oneLine(err)}`);
  }
  syncDir(dir);
  return signature;
}

/**
 * Deletes temp files that writers killed mid-write left beside the card file (their
 * names carry the writer's pid; files of live processes are left alone).
 */
export function removeStaleTempFiles(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      /* another process cleaned it */
    }
  }
}

function syncDir(dir: string): void {
  // Windows cannot open a folder for fsync; there the rename is as durable as it gets.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The seeded stream, fast-forwarded past the bytes a previous process used. */
function replayStream(state: ReplayState): { seed: string; random: RandomSource; drawn: () => number } {
  const base = seededRandom(state.seed);
  // Skip in chunks: the seeded source's pool grows by concatenation.
  for (let left = state.drawn; left > 0; left -= 4096) base(Math.min(left, 4096));
  let drawn = state.drawn;
  return {
    seed: state.seed,
    random: (length) => {
      drawn += length;
      return base(length);
    },
    drawn: () => drawn,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}
function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
