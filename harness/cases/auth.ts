import { toBase64 } from '../../simulator/bytes.js';
import { tdesEncrypt } from '../../simulator/tdes.js';
import type { RequestOverrides } from '../wire/cm-client.js';
import { isSuccess } from './helpers.js';
import { bodySnippet } from './cryptogram.js';
import type { CaseContext, ConformanceCase, Verdict } from './types.js';

/** The caller must be refused with 401/403, and the body must not carry the response anyway. */
async function expectRefused(ctx: CaseContext, who: string, overrides: RequestOverrides): Promise<Verdict> {
  const card = ctx.config.cards[0]!;
  const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
  const res = await ctx.client.authenticationResponse(
    { reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false },
    overrides,
  );
  const leaked = res.body.includes(toBase64(tdesEncrypt(card.adminKey, challenge)));
  if (res.status !== 401 && res.status !== 403) ctx.fail(`${who} got ${res.status}${bodySnippet(res.body)}, expected 401 or 403${leaked ? ', and the body holds the right response' : ''}`);
  if (leaked) ctx.fail(`${who} got ${res.status}, but the body holds the right response`);
  return ctx.pass(`${who}: ${res.status}, no response bytes`);
}

export const authForbidden: ConformanceCase = {
  id: 'auth.forbidden',
  title: 'A caller without the right gets 401/403 and no response bytes',
  level: 'MUST',
  needs: ['forbidden-caller'],
  run: (ctx) => expectRefused(ctx, `the forbidden caller (${ctx.config.forbiddenAuth ? 'forbiddenAuth' : 'forbiddenHeaders'})`, { caller: 'forbidden' }),
};

export const authAnonymous: ConformanceCase = {
  id: 'auth.anonymous',
  title: 'A request without credentials gets 401/403',
  level: 'MUST',
  run: (ctx) => expectRefused(ctx, 'an anonymous caller', { headers: null }),
};

