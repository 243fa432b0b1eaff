/** `path.case-insensitive`: the base path and segments in other spellings. */
import { toBase64 } from '../../simulator/bytes.js';
import type { CardConfig } from '../config.js';
import { judge } from './cryptogram.js';
import { inParallel, othersFor, preferredCard } from './helpers.js';
import type { CaseContext, ConformanceCase } from './types.js';

/** `/CertificateManagement` -> `/cErTiFiCaTeMaNaGeMeNt`: neither the documented spelling nor lower case. */
function alternateCase(text: string): string {
  let upper = false;
  return text.replace(/[a-z]/gi, (ch) => {
    upper = !upper;
    return upper ? ch.toLowerCase() : ch.toUpperCase();
  });
}

/** Sends the card's request under a given path spelling (raw: the client would not vary the segments). */
async function askWithPath(ctx: CaseContext, card: CardConfig, spell: (segment: string) => string): Promise<string | null> {
  const vc = ctx.virtualCard(card, card.adminKey);
  const challenge = vc.getChallenge();
  const path =
    `${spell(ctx.config.basePath)}/${spell('requests')}/${card.reqid}/${spell('smartcards')}/${card.scid}/${spell('authenticationresponse')}` +
    `?cardid=${card.cardid}&challenge=${encodeURIComponent(toBase64(challenge))}&diversified=False`;
  const res = await ctx.client.raw('GET', path);
  const verdict = judge(vc, card.adminKey, challenge, res, othersFor(ctx, card, 'default'), ctx.redactor);
  if (!verdict) return null;
  ctx.blame(res, verdict.cause);
  return `${path.split('?')[0]}: ${verdict.problem}`;
}

const PASCAL: Record<string, string> = { requests: 'Requests', smartcards: 'SmartCards', authenticationresponse: 'AuthenticationResponse' };

export const pathCaseInsensitive: ConformanceCase = {
  id: 'path.case-insensitive',
  title: 'Lower-case and mixed-case base paths work',
  level: 'MUST',
  async run(ctx) {
    const card = preferredCard(ctx.config);
    const variants: Array<[string, (s: string) => string]> = [
      ['lower case', (s) => s.toLowerCase()],
      ['mixed case', alternateCase],
      ['PascalCase segments', (s) => PASCAL[s] ?? s],
    ];
    const found = await inParallel(variants, ([, spell]) => askWithPath(ctx, card, spell));
    const problems = found.flatMap((p, i) => (p ? [`${variants[i]![0]}: ${p}`] : []));
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(`card ${card.name}: ${variants.map((v) => v[0]).join(', ')}: all answered correctly`);
  },
};
