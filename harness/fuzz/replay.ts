/**
 * The `--seed S --path P` that replays one shrunk sequence exactly. fast-check finds a
 * shrunk value again from its seed and path without running the steps in between, so for
 * commands it also needs which of them ran (its replayPath): P is fast-check's path, then
 * `~` and the replayPath when there is one, e.g. `36:1:0:0~CDB:Ag`.
 */
import { InputError } from '../../simulator/errors.js';
import { shellQuote } from './curl.js';

export interface ReplayPoint {
  /** fast-check's path: the run, then each shrink taken, e.g. `36:1:0`. */
  path: string;
  /** fast-check's replayPath of the commands arbitrary. */
  replayPath?: string;
}

const PATH = /^\d+(?::\d+)*$/;
const REPLAY_PATH = /^[A-Za-z0-9+/]*:[A-Za-z0-9+/]*$/;

export function encodePath(point: ReplayPoint): string {
  return point.replayPath ? `${point.path}~${point.replayPath}` : point.path;
}

/** Reads `--path`; a one-line InputError names the flag when it is not one we printed. */
export function decodePath(text: string): ReplayPoint {
  const [path = '', replayPath, ...rest] = text.trim().split('~');
  if (rest.length > 0 || !PATH.test(path) || (replayPath !== undefined && !REPLAY_PATH.test(replayPath))) {
    throw new InputError(`--path '${text}' is not a replay path: use the --path of a replay command cmcard fuzz printed (like 36:1:0~CDB:Ag)`);
  }
  return replayPath !== undefined ? { path, replayPath } : { path };
}

/** The replayPath fast-check appends to a commands counterexample's text: `... /*replayPath="CDB:Ag"*\/`. */
export function replayPathOf(counterexample: unknown): string | undefined {
  const m = /\/\*replayPath="([^"]*)"\*\//.exec(String(counterexample));
  return m?.[1] || undefined;
}

/** `--seed`: a whole number fast-check takes as a seed (32-bit). */
export function parseSeed(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(n) || n < -0x80000000 || n > 0xffffffff) {
    throw new InputError(`--seed must be a whole number from -2147483648 to 4294967295, got '${text}'`);
  }
  return n | 0;
}

/** `base --seed S --path 'P'` */
export function replayCommand(base: string, seed: number, path: string): string {
  return `${base} --seed ${seed} --path ${shellQuote(path)}`;
}
