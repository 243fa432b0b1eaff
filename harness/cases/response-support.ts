import type { CardConfig } from '../config.js';
import { ask, otherKeysFor, type AskOptions } from './helpers.js';
import type { CaseContext } from './types.js';

/** Asks each card once (default key, diversified=false unless told) and collects the problems. */
export async function askAll(ctx: CaseContext, cards: CardConfig[], o: AskOptions = {}): Promise<{ problems: string[] }> {
  const problems: string[] = [];
  for (const card of cards) {
    const { problem } = await ask(ctx, card, card.adminKey, { diversified: false, others: otherKeysFor(card, 'default'), ...o });
    if (problem) problems.push(`card ${card.name}: ${problem}`);
  }
  return { problems };
}

export function describeCards(cards: CardConfig[]): string {
  return cards.map((c) => c.name).join(', ');
}
