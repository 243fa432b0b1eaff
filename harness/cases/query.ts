import { toBase64 } from '../../simulator/bytes.js';
import { ask, inParallel, othersFor, preferredCard } from './helpers.js';
import { bodySnippet } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

export const queryBooleanSpelling: ConformanceCase = {
  id: 'query.boolean-spelling',
  title: 'diversified accepts False, false, True and true',
  level: 'MUST',
  async run(ctx) {
    let card = ctx.config.cards[0]!;
    let dkey: Buffer | undefined;
    for (const c of ctx.config.cards.filter((x) => x.diversifiedKey)) {
      const { key } = await ctx.diversifiedKey(c);
      if (key) {
        card = c;
        dkey = key;
        break;
      }
    }
    const spellings = dkey ? ['False', 'false', 'True', 'true'] : ['False', 'false'];
    const asked = await inParallel(spellings, (spelling) => {
      const truthy = spelling.toLowerCase() === 'true';
      const key = truthy ? dkey! : card.adminKey;
      return ask(ctx, card, key, { diversified: spelling, others: othersFor(ctx, card, truthy ? 'diversified' : 'default', dkey) });
    });
    const problems = asked.flatMap((a, i) => (a.problem ? [`diversified=${spellings[i]}: ${a.problem}`] : []));
    if (problems.length) ctx.fail(problems.join('; '));
    if (dkey) return ctx.pass(`${spellings.join(', ')} accepted with the right key`);
    // No known diversified key: the answers cannot be verified, but both spellings must
    // still be understood alike (a server that parses only one spelling answers them differently).
    const truths = ['True', 'true'];
    const answers = await inParallel(truths, (spelling) => {
      const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
      return ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: spelling });
    });
    answers.forEach((res, i) => {
      if (res.status >= 500)
        ctx.fail(`diversified=${truths[i]} answered ${res.status}${bodySnippet(res.body, ctx.redactor)}`, { exchange: res, why: `answered ${res.status}` });
    });
    const [upper, lower] = answers as [(typeof answers)[0], (typeof answers)[0]];
    if (upper.status !== lower.status) {
      ctx.fail(`diversified=True answered ${upper.status} but diversified=true answered ${lower.status}: the spellings are not treated alike`, {
        exchange: [upper, lower],
        why: 'True and true are answered differently',
      });
    }
    return ctx.pass(
      `False, false accepted with the right key; True and true both answered ${upper.status} ` +
        '(their responses not verified: no card has a known diversified key)',
    );
  },
};

export const queryEncoding: ConformanceCase = {
  id: 'query.encoding',
  title: 'Challenges whose base64 holds +, / and = (percent-encoded) are decoded',
  level: 'MUST',
  async run(ctx) {
    const card = preferredCard(ctx.config);
    const shapes: Array<[string, (c: Buffer) => boolean]> = [
      ["'+'", (c) => toBase64(c).includes('+')],
      ["'/'", (c) => toBase64(c).includes('/')],
    ];
    // Every 8-byte challenge's base64 ends in '=', so '=' is always covered.
    const asked = await inParallel(shapes, ([, where]) => ask(ctx, card, card.adminKey, { challengeWhere: where, others: othersFor(ctx, card, 'default') }));
    const problems = asked.flatMap(({ problem, challenge }, i) =>
      problem ? [`challenge with ${shapes[i]![0]} ${toBase64(challenge)} (sent ${encodeURIComponent(toBase64(challenge))}): ${problem}`] : [],
    );
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(`card ${card.name}: answered correctly for ${asked.map((a) => toBase64(a.challenge)).join(' and ')}`);
  },
};

export const queryAtr: ConformanceCase = {
  id: 'query.atr',
  title: "The optional atr parameter (the card's ATR) is accepted",
  level: 'SHOULD',
  async run(ctx) {
    const card = ctx.config.cards.find((c) => c.atr);
    if (!card) return ctx.skip('no card has an atr in the config');
    const { problem } = await ask(ctx, card, card.adminKey, { atr: card.atr!, others: othersFor(ctx, card, 'default') });
    if (problem) ctx.fail(`with atr=${card.atr}: ${problem}`);
    return ctx.pass(`card ${card.name} with atr=${card.atr}: answered correctly`);
  },
};
