/** `params.required`: a request without cardid, challenge or diversified gets no 200. */
import { bodySnippet } from './cryptogram.js';
import { inParallel } from './helpers.js';
import type { ConformanceCase } from './types.js';

export const paramsRequired: ConformanceCase = {
  id: 'params.required',
  title: 'A request without cardid, challenge or diversified gets no 200',
  level: 'MUST',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
    const full = { reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false as boolean | undefined };
    const missing = ['cardid', 'challenge', 'diversified'] as const;
    const answers = await inParallel(missing, (m) => ctx.client.authenticationResponse({ ...full, [m]: undefined }));
    const problems: string[] = [];
    answers.forEach((res, i) => {
      if (res.status !== 200) return;
      problems.push(`without ${missing[i]} the server answered 200${bodySnippet(res.body, ctx.redactor)}`);
      ctx.blame(res, `answered 200 without ${missing[i]}`);
    });
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(answers.map((res, i) => `no ${missing[i]}: ${res.status}`).join(', '));
  },
};
