/**
 * What a conformance case is: data (id, title, level, what it needs) plus `run(ctx)`.
 * A case talks to the server only through `ctx.client`, which records every exchange
 * for this case, and judges responses with virtual cards from simulator/.
 */
import type { VirtualCard } from '../../simulator/card.js';
import type { CmClient } from '../wire/cm-client.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import type { Level } from '../events.js';

/** What a case needs from the config; without it the case is skipped with that reason. */
export type Need = 'documented-example' | 'forbidden-caller' | 'diversified-key' | 'two-cards' | 'lifecycle';

export interface Verdict {
  outcome: 'passed' | 'failed' | 'skipped';
  message: string;
}

/** Thrown by `ctx.fail`: ends the case. The runner turns it into `failed` or `warning` by level. */
export class CaseFailure extends Error {
  override readonly name = 'CaseFailure';
}

export interface CaseContext {
  readonly config: HarnessConfig;
  /** Sends with the configured headers and records each exchange for this case. */
  readonly client: CmClient;
  /** A fresh virtual card with this card's identity, holding `key` as its admin key. */
  virtualCard(card: CardConfig, key: Buffer, options?: { pin?: string }): VirtualCard;
  /**
   * The key the server must use for `diversified=true`: the configured one, or (for
   * `"server"`) the one the diversifiedkey endpoint hands out. `reason` says why there is none.
   */
  diversifiedKey(card: CardConfig): Promise<{ key?: Buffer; reason?: string }>;
  pass(message: string): Verdict;
  skip(reason: string): Verdict;
  /** Ends the case as not holding. */
  fail(message: string): never;
}

export interface ConformanceCase {
  id: string;
  title: string;
  level: Level;
  needs?: Need[];
  run(ctx: CaseContext): Promise<Verdict>;
}
