/**
 * A broken invariant as the user gets it: the shrunk sequence as numbered steps, each with
 * what it did, what came back and a copyable curl command, then the one command that
 * replays exactly this sequence. Pure text; the engine puts it in the invariant's result.
 */
import type { Redactor } from '../redact.js';
import { curlCommand, curlEnvNote, type CurlCallers } from './curl.js';
import type { CallerChoice } from './inputs.js';
import type { Break, Invariant } from './invariants.js';
import type { StepRecord } from './sequence.js';

export interface Finding {
  invariant: Invariant;
  /** The break the sequence ends on. */
  brk: Break;
  /** The steps of the shrunk sequence, up to the break (all of them in a replay). */
  steps: StepRecord[];
  seed: number;
  /** `--path`, see replay.ts. */
  path: string;
  /** A search: which sequence of its round broke it first (1-based) and how many shrink runs followed. */
  found?: { sequence: number; shrinkRuns: number };
}

export interface RenderOptions {
  origin: string;
  callers: CurlCallers;
  /** The full replay command line. */
  replay: string;
  /** Masks what a server echoed into a break message. */
  redactor: Redactor;
}

export function renderFinding(f: Finding, o: RenderOptions): string {
  const n = f.steps.length;
  const lines: string[] = [];
  lines.push(`step ${f.brk.step} of ${n}: ${o.redactor.text(f.brk.message)}`);
  lines.push(
    f.found
      ? `found in sequence ${f.found.sequence} (seed ${f.seed}), shrunk in ${f.found.shrinkRuns} runs to ${n === 1 ? 'this step' : `these ${n} steps`}:`
      : `the replayed sequence, ${n === 1 ? 'one step' : `${n} steps`}:`,
  );
  const made: number[] = [];
  for (const s of f.steps) {
    lines.push(`${s.index}. ${s.title} -> ${s.outcome}`);
    lines.push(
      `   ${o.redactor.text(curlCommand({ method: s.method, url: `${o.origin}${s.path}`, caller: s.caller, ...(s.body !== undefined ? { body: s.body } : {}) }, o.callers))}`,
    );
    if (s.method === 'POST' && /^2\d\d$/.test(s.outcome)) made.push(s.index);
  }
  const notes: string[] = [];
  const env = curlEnvNote(new Set<CallerChoice['kind']>(f.steps.map((s) => s.caller.kind)), o.callers);
  if (env) notes.push(env);
  if (made.length > 0)
    notes.push(
      `The server makes new ids in step${made.length > 1 ? 's' : ''} ${made.join(', ')}: run by hand, the later steps need the ids your answers carry.`,
    );
  if (notes.length > 0) lines.push(notes.join(' '));
  lines.push(`replay: ${o.replay}`);
  return lines.join('\n');
}
