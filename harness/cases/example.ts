import { DOCUMENTED_EXAMPLE as E, isDocumentedExample } from '../config.js';
import { bodySnippet } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

/** The request of the MIM documentation, sent exactly as printed there (lower-case path, encoded query). */
export const exampleDocumented: ConformanceCase = {
  id: 'example.documented',
  title: 'The documented example request answers "F0Zudm4wPLY="',
  level: 'MUST',
  needs: ['documented-example'],
  async run(ctx) {
    const card = ctx.config.cards.find(isDocumentedExample)!;
    const path =
      `${ctx.config.basePath.toLowerCase()}/requests/${E.reqid}/smartcards/${E.scid}/authenticationresponse` +
      `?cardid=${E.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`;
    const res = await ctx.client.raw('GET', path);
    if (res.status !== 200) ctx.fail(`the documented request (card ${card.name}) answered ${res.status}${bodySnippet(res.body)}, expected 200 "${E.responseBase64}"`);
    const expected = `"${E.responseBase64}"`;
    if (res.body.trim() !== expected) ctx.fail(`body is ${bodySnippet(res.body).slice(2)}, expected ${expected} byte for byte`);
    return ctx.pass(`200 ${expected}, as documented`);
  },
};
