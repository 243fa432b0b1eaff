/** The CaseContext a case runs with: its client, virtual cards, keys and verdict helpers. */
import { VirtualCard } from '../../simulator/card.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import type { Redactor } from '../redact.js';
import { fetchDiversifiedKey, type CmClient } from '../wire/cm-client.js';
import { CaseFailure, type CaseContext, type Verdict } from './types.js';

export function makeContext(config: HarnessConfig, client: CmClient, redactor: Redactor): CaseContext {
  return {
    config,
    client,
    virtualCard: (card: CardConfig, key: Buffer, options = {}) =>
      VirtualCard.create({ adminKey: key, pin: options.pin ?? '1234', cardId: card.cardid, ...(card.atr ? { atr: card.atr } : {}) }),
    async diversifiedKey(card) {
      if (!card.diversifiedKey) return { reason: 'no diversifiedKey configured' };
      if (card.diversifiedKey !== 'server') return { key: card.diversifiedKey };
      const fetched = await fetchDiversifiedKey(client, card);
      if (fetched.key) redactor.addKeys([fetched.key]);
      return fetched.key ? { key: fetched.key } : { reason: `diversifiedKey is "server" but ${fetched.reason}` };
    },
    pass: (message): Verdict => ({ outcome: 'passed', message }),
    skip: (message): Verdict => ({ outcome: 'skipped', message }),
    fail: (message): never => {
      throw new CaseFailure(message);
    },
  };
}
