/** The CaseContext a case runs with: its client, virtual cards, keys, the run so far and verdict helpers. */
import { VirtualCard } from '../../simulator/card.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import type { Redactor } from '../redact.js';
import { fetchDiversifiedKey, type CmClient } from '../wire/cm-client.js';
import type { KeyRing } from './keys.js';
import { quoteBody } from '../show-body.js';
import { CaseFailure, type Blamed, type CaseContext, type RunView, type Verdict } from './types.js';

/** What the runner lends a case beyond the client: where blame goes and what the run has seen. */
export interface ContextHooks {
  blame?: (answers: readonly Blamed[], why: string) => void;
  run?: RunView;
  /** Learns keys fetched from the server (for secrets.no-leak). */
  keys?: KeyRing;
}

export function makeContext(config: HarnessConfig, client: CmClient, redactor: Redactor, hooks: ContextHooks = {}): CaseContext {
  const blame = (answers: Blamed | readonly Blamed[] | undefined, why: string): void => {
    if (answers === undefined || !hooks.blame) return;
    const list = (Array.isArray(answers) ? answers : [answers]) as readonly Blamed[];
    if (list.length > 0) hooks.blame(list, why);
  };
  return {
    config,
    client,
    redactor,
    run: hooks.run ?? { answers: () => [], keys: () => hooks.keys?.all() ?? [], othersDone: () => Promise.resolve() },
    virtualCard: (card: CardConfig, key: Buffer, options = {}) =>
      VirtualCard.create({ adminKey: key, pin: options.pin ?? '1234', cardId: card.cardid, ...(card.atr ? { atr: card.atr } : {}) }),
    async diversifiedKey(card) {
      if (!card.diversifiedKey) return { reason: 'no diversifiedKey configured' };
      if (card.diversifiedKey !== 'server') return { key: card.diversifiedKey };
      const fetched = await fetchDiversifiedKey(client, card);
      if (fetched.key) {
        redactor.addKeys([fetched.key]);
        hooks.keys?.add(`card ${card.name}'s diversified key (from the server)`, fetched.key);
      }
      return fetched.key ? { key: fetched.key } : { reason: `diversifiedKey is "server" but ${fetched.reason}` };
    },
    quote: (body, max = 80) => quoteBody(body, redactor, max),
    blame,
    pass: (message): Verdict => ({ outcome: 'passed', message }),
    skip: (message): Verdict => ({ outcome: 'skipped', message }),
    fail: (message, on): never => {
      if (on?.exchange !== undefined) blame(on.exchange, on.why ?? message);
      throw new CaseFailure(message);
    },
  };
}
