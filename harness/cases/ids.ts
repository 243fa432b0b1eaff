import type { CardConfig } from '../config.js';
import { inParallel, unknownGuid } from './helpers.js';
import { bodySnippet } from './cryptogram.js';
import type { CaseContext, ConformanceCase } from './types.js';

/** Asks with the given ids (a card's key and challenge) and fails the case if the answer is 200. */
async function expectNo200(ctx: CaseContext, label: string, ids: Pick<CardConfig, 'reqid' | 'scid' | 'cardid'>, keyCard: CardConfig): Promise<string> {
  const challenge = ctx.virtualCard(keyCard, keyCard.adminKey).getChallenge();
  const res = await ctx.client.authenticationResponse({ ...ids, challenge, diversified: false });
  if (res.status === 200) ctx.fail(`${label}: answered 200${bodySnippet(res.body, ctx.redactor)}`, { exchange: res, why: `${label}: answered 200` });
  return `${label}: ${res.status}`;
}

export const idsUnknown: ConformanceCase = {
  id: 'ids.unknown',
  title: 'An unknown reqid or scid gets no 200',
  level: 'MUST',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const asks: Array<[string, CardConfig]> = [
      ['unknown reqid', { ...card, reqid: unknownGuid() }],
      ['unknown scid', { ...card, scid: unknownGuid() }],
    ];
    const seen = await inParallel(asks, ([label, ids]) => expectNo200(ctx, label, ids, card));
    return ctx.pass(seen.join(', '));
  },
};

export const idsCardidMismatch: ConformanceCase = {
  id: 'ids.cardid-mismatch',
  title: 'A cardid that does not belong to the scid gets no 200',
  level: 'SHOULD',
  async run(ctx) {
    const [card, other] = ctx.config.cards as [CardConfig, CardConfig | undefined];
    const asks: Array<[string, CardConfig]> = [['an unknown cardid', { ...card, cardid: unknownGuid() }]];
    if (other && other.cardid !== card.cardid) asks.push([`card ${other.name}'s cardid with card ${card.name}'s scid`, { ...card, cardid: other.cardid }]);
    const seen = await inParallel(asks, ([label, ids]) => expectNo200(ctx, label, ids, card));
    return ctx.pass(seen.join(', '));
  },
};

export const idsRequestMismatch: ConformanceCase = {
  id: 'ids.request-mismatch',
  title: 'A scid that does not belong to the reqid gets no 200',
  level: 'SHOULD',
  needs: ['two-cards'],
  async run(ctx) {
    const cards = ctx.config.cards;
    for (const a of cards) {
      const b = cards.find((c) => c.reqid !== a.reqid && c.scid !== a.scid);
      if (b) {
        const seen = await expectNo200(
          ctx,
          `card ${a.name}'s reqid with card ${b.name}'s scid and cardid`,
          { reqid: a.reqid, scid: b.scid, cardid: b.cardid },
          b,
        );
        return ctx.pass(seen);
      }
    }
    return ctx.skip('no two configured cards have different requests and smart cards');
  },
};
