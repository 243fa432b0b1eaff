import { DOCUMENTED_EXAMPLE as E, isDocumentedExample } from '../config.js';
import { isPaddedBase64 } from '../wire/decode.js';
import { bodySnippet } from './cryptogram.js';
import { describeDifference, visible } from '../show-body.js';
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
    if (res.status !== 200) {
      ctx.fail(`the documented request (card ${card.name}) answered ${res.status}${bodySnippet(res.body, ctx.redactor)}, expected 200 "${E.responseBase64}"`, {
        exchange: res,
        why: `answered ${res.status}`,
      });
    }
    const expected = `"${E.responseBase64}"`;
    // JSON whitespace around the value is still the same document (a BOM is not: JSON.parse refuses it).
    const difference = describeDifference(res.body.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''), expected);
    if (difference) {
      // Named as the other cases name it, so a shared cause is seen as one.
      const bare = isPaddedBase64(res.body.trim());
      ctx.fail(`body ${ctx.quote(res.body)} is not the documented ${visible(expected)}: ${difference}`, {
        exchange: res,
        why: bare ? 'the body is bare base64, without the JSON string quotes' : difference,
      });
    }
    return ctx.pass(`200 ${expected}, as documented`);
  },
};
