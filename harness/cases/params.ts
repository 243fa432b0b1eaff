/** `params.required`: a request missing cardid, challenge or diversified gets no 200. */
import { bodySnippet } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

export const paramsRequired: ConformanceCase = {
  id: 'params.required',
  title: 'A request without cardid, challenge or diversified gets no 200',
  level: 'MUST',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
    const full = { reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false as boolean | undefined };
    const problems: string[] = [];
    const statuses: string[] = [];
    for (const missing of ['cardid', 'challenge', 'diversified'] as const) {
      const res = await ctx.client.authenticationResponse({ ...full, [missing]: undefined });
      statuses.push(`no ${missing}: ${res.status}`);
      if (res.status === 200) problems.push(`without ${missing} the server answered 200${bodySnippet(res.body)}`);
    }
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(statuses.join(', '));
  },
};
