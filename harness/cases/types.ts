/**
 * What a conformance case is: data (id, title, level, what it needs, how it may be
 * scheduled) plus `run(ctx)`. A case talks to the server only through `ctx.client`, which
 * records every exchange for this case, and judges responses with virtual cards from
 * simulator/.
 */
import type { VirtualCard } from '../../simulator/card.js';
import type { CmClient, CmResponse, RawExchange } from '../wire/cm-client.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import type { Level, RecordedExchange } from '../events.js';
import type { Redactor } from '../redact.js';
import type { KnownKey } from './keys.js';

/** What a case needs from the config; without it the case is skipped with that reason. */
export type Need = 'documented-example' | 'forbidden-caller' | 'diversified-key' | 'two-cards' | 'lifecycle';

/** Each need in the config's words (for `--list`). */
export const NEED_TEXT: Record<Need, string> = {
  'documented-example': 'a card equal to the documented example',
  'forbidden-caller': 'forbiddenHeaders',
  'diversified-key': 'a card with a diversifiedKey',
  'two-cards': 'two cards with different requests',
  lifecycle: 'lifecycle: true',
};

/**
 * How the runner may schedule a case (default `parallel`):
 * - `parallel`: beside other cases (it changes nothing the server holds);
 * - `alone`: with no other case in flight (it changes what the server holds, e.g. creates
 *   and completes requests);
 * - `last`: judged after every other case has finished (it judges their answers): it
 *   starts beside the `parallel` ones, and `ctx.run.othersDone()` tells it when the rest
 *   of the run has ended; its time limit runs from then.
 */
export type Schedule = 'parallel' | 'alone' | 'last';

export interface Verdict {
  outcome: 'passed' | 'failed' | 'skipped';
  message: string;
}

/** Thrown by `ctx.fail`: ends the case. The runner turns it into `failed` or `warning` by level. */
export class CaseFailure extends Error {
  override readonly name = 'CaseFailure';
}

/** An answer a case can point at: what its client returned, or an exchange recorded by another case. */
export type Blamed = CmResponse | RecordedExchange;

/** One answer of the run so far, with what went and came before redaction. Never for output. */
export interface RunAnswer {
  caseId: string;
  exchange: RecordedExchange;
  raw: RawExchange;
}

/** What a case may see of the whole run (for `last` cases: every other case's answers). */
export interface RunView {
  /** Every answer recorded so far, of every case, in the order they came. */
  answers(): readonly RunAnswer[];
  /** Every key the harness knows: the configured admin and diversified keys, and those fetched from the server. */
  keys(): readonly KnownKey[];
  /** For a `last` case: resolves when every other case of the run has ended (at once for any other case). */
  othersDone(): Promise<void>;
}

export interface CaseContext {
  readonly config: HarnessConfig;
  /** Sends with the configured headers and records each exchange for this case. */
  readonly client: CmClient;
  /** The whole run, as far as it went. */
  readonly run: RunView;
  /** Masks every credential and key the run knows (for text that may quote a body). */
  readonly redactor: Redactor;
  /** A fresh virtual card with this card's identity, holding `key` as its admin key. */
  virtualCard(card: CardConfig, key: Buffer, options?: { pin?: string }): VirtualCard;
  /**
   * The key the server must use for `diversified=true`: the configured one, or (for
   * `"server"`) the one the diversifiedkey endpoint hands out. `reason` says why there is none.
   */
  diversifiedKey(card: CardConfig): Promise<{ key?: Buffer; reason?: string }>;
  /**
   * A body for a message: credentials and keys masked first, then cut to `max`
   * characters, then shown so quotes, whitespace, a BOM and escapes are visible.
   */
  quote(body: string, max?: number): string;
  /**
   * Marks answers this case fails on, with why (one line): every report shows them as the
   * failing exchanges. An exchange of another case is copied into this case's exchanges.
   */
  blame(answers: Blamed | readonly Blamed[] | undefined, why: string): void;
  pass(message: string): Verdict;
  skip(reason: string): Verdict;
  /** Ends the case as not holding; `blame` marks the answers it failed on (why: the message). */
  fail(message: string, blame?: { exchange?: Blamed | readonly Blamed[]; why?: string }): never;
}

export interface ConformanceCase {
  id: string;
  title: string;
  level: Level;
  needs?: Need[];
  /** Default `parallel`; a function decides from the config (e.g. `alone` only with `lifecycle`). */
  schedule?: Schedule | ((config: HarnessConfig) => Schedule);
  run(ctx: CaseContext): Promise<Verdict>;
}
