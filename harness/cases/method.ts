/** `method.not-allowed`: other methods on the endpoint. */
import { bodySnippet } from './cryptogram.js';
import { inParallel } from './helpers.js';
import type { ConformanceCase } from './types.js';

export const methodNotAllowed: ConformanceCase = {
  id: 'method.not-allowed',
  title: 'POST, PUT and DELETE on the endpoint get no 200',
  level: 'MAY',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const methods = ['POST', 'PUT', 'DELETE'];
    const answers = await inParallel(methods, (method) => {
      const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
      return ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false }, { method });
    });
    const accepted = answers.findIndex((res) => res.status === 200);
    if (accepted >= 0) {
      const res = answers[accepted]!;
      ctx.fail(`${methods[accepted]} answered 200${bodySnippet(res.body, ctx.redactor)}`, { exchange: res, why: `${methods[accepted]} answered 200` });
    }
    return ctx.pass(answers.map((res, i) => `${methods[i]}: ${res.status}`).join(', '));
  },
};
