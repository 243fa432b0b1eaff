import { toBase64 } from '../../simulator/bytes.js';
import type { CardConfig } from '../config.js';
import { ask, otherKeysFor } from './helpers.js';
import { bodySnippet, judgeResponse } from './cryptogram.js';
import type { CaseContext, ConformanceCase } from './types.js';

export const queryBooleanSpelling: ConformanceCase = {
  id: 'query.boolean-spelling',
  title: 'diversified accepts False, false, True and true',
  level: 'MUST',
  async run(ctx) {
    const problems: string[] = [];
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
    for (const spelling of spellings) {
      const truthy = spelling.toLowerCase() === 'true';
      const key = truthy ? dkey! : card.adminKey;
      const { problem } = await ask(ctx, card, key, { diversified: spelling, others: otherKeysFor(card, truthy ? 'diversified' : 'default', dkey) });
      if (problem) problems.push(`diversified=${spelling}: ${problem}`);
    }
    if (problems.length) ctx.fail(problems.join('; '));
    if (dkey) return ctx.pass(`${spellings.join(', ')} accepted with the right key`);
    // No known diversified key: the answers cannot be verified, but both spellings must
    // still be understood alike (a server that parses only one spelling answers them differently).
    const statuses: number[] = [];
    for (const spelling of ['True', 'true']) {
      const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
      const res = await ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: spelling });
      if (res.status >= 500) ctx.fail(`diversified=${spelling} answered ${res.status}${bodySnippet(res.body)}`);
      statuses.push(res.status);
    }
    if (statuses[0] !== statuses[1]) ctx.fail(`diversified=True answered ${statuses[0]} but diversified=true answered ${statuses[1]}: the spellings are not treated alike`);
    return ctx.pass(
      `False, false accepted with the right key; True and true both answered ${statuses[0]} ` +
        '(their responses not verified: no card has a known diversified key)',
    );
  },
};

export const queryEncoding: ConformanceCase = {
  id: 'query.encoding',
  title: 'Challenges whose base64 holds +, / and = (percent-encoded) are decoded',
  level: 'MUST',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const shapes: Array<[string, (c: Buffer) => boolean]> = [
      ["'+'", (c) => toBase64(c).includes('+')],
      ["'/'", (c) => toBase64(c).includes('/')],
    ];
    const problems: string[] = [];
    const sent: string[] = [];
    for (const [label, where] of shapes) {
      // Every 8-byte challenge's base64 ends in '=', so '=' is always covered.
      const { problem, challenge } = await ask(ctx, card, card.adminKey, { challengeWhere: where, others: otherKeysFor(card, 'default') });
      sent.push(toBase64(challenge));
      if (problem) problems.push(`challenge with ${label} ${toBase64(challenge)} (sent ${encodeURIComponent(toBase64(challenge))}): ${problem}`);
    }
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(`answered correctly for ${sent.join(' and ')}`);
  },
};

export const queryAtr: ConformanceCase = {
  id: 'query.atr',
  title: "The optional atr parameter (the card's ATR) is accepted",
  level: 'SHOULD',
  async run(ctx) {
    const card = ctx.config.cards.find((c) => c.atr);
    if (!card) return ctx.skip('no card has an atr in the config');
    const { problem } = await ask(ctx, card, card.adminKey, { atr: card.atr!, others: otherKeysFor(card, 'default') });
    if (problem) ctx.fail(`with atr=${card.atr}: ${problem}`);
    return ctx.pass(`card ${card.name} with atr=${card.atr}: answered correctly`);
  },
};
