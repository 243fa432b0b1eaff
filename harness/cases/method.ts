/** `method.not-allowed`: other methods on the endpoint. */
import { bodySnippet } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

export const methodNotAllowed: ConformanceCase = {
  id: 'method.not-allowed',
  title: 'POST, PUT and DELETE on the endpoint get no 200',
  level: 'MAY',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const seen: string[] = [];
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
      const res = await ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false }, { method });
      if (res.status === 200) ctx.fail(`${method} answered 200${bodySnippet(res.body)}`);
      seen.push(`${method}: ${res.status}`);
    }
    return ctx.pass(seen.join(', '));
  },
};
