import { toBase64 } from '../../simulator/bytes.js';
import { isPaddedBase64 } from '../wire/decode.js';
import { ask, askAll, describeCards, otherKeysFor } from './helpers.js';
import { bodySnippet, isSelfInverse } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

const CHALLENGES_PER_CARD = 3;

export const responseCorrect: ConformanceCase = {
  id: 'response.correct',
  title: 'Responses to card-issued challenges are the right 3DES cryptograms (diversified=false)',
  level: 'MUST',
  async run(ctx) {
    const problems: string[] = [];
    for (const card of ctx.config.cards) {
      const others = otherKeysFor(card, 'default');
      for (let i = 0; i < CHALLENGES_PER_CARD; i++) {
        const { problem, challenge } = await ask(ctx, card, card.adminKey, { diversified: false, others });
        if (problem) problems.push(`card ${card.name}, challenge ${toBase64(challenge)}: ${problem}`);
      }
    }
    if (problems.length) ctx.fail(problems.length === 1 ? problems[0]! : `${problems[0]} (${problems.length} of ${ctx.config.cards.length * CHALLENGES_PER_CARD} refused)`);
    const weak = ctx.config.cards.every((c) => isSelfInverse(c.adminKey));
    return ctx.pass(
      `${ctx.config.cards.length * CHALLENGES_PER_CARD} responses accepted by the virtual cards (${describeCards(ctx.config.cards)})` +
        (weak ? '; note: every configured key is DES-weak, so a server that decrypts would also pass: add a card with a non-weak key' : ''),
    );
  },
};

export const responseDiversified: ConformanceCase = {
  id: 'response.diversified',
  title: "diversified=true uses the card's diversified key, diversified=false the default key",
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const checked: string[] = [];
    const skipped: string[] = [];
    const problems: string[] = [];
    for (const card of ctx.config.cards.filter((c) => c.diversifiedKey)) {
      const { key, reason } = await ctx.diversifiedKey(card);
      if (!key) {
        skipped.push(`${card.name}: ${reason}`);
        continue;
      }
      const t = await ask(ctx, card, key, { diversified: true, others: otherKeysFor(card, 'diversified') });
      if (t.problem) problems.push(`card ${card.name}, diversified=True: ${t.problem}`);
      const f = await ask(ctx, card, card.adminKey, { diversified: false, others: otherKeysFor(card, 'default', key) });
      if (f.problem) problems.push(`card ${card.name}, diversified=False: ${f.problem}`);
      checked.push(card.name);
    }
    if (problems.length) ctx.fail(problems.join('; '));
    if (checked.length === 0) return ctx.skip(`no diversified key available (${skipped.join('; ')})`);
    return ctx.pass(`cards ${checked.join(', ')}: True answered under the diversified key, False under the default key${skipped.length ? `; not checked: ${skipped.join('; ')}` : ''}`);
  },
};

export const responseFormat: ConformanceCase = {
  id: 'response.format',
  title: '200 with Content-Type application/json and a JSON string of base64, as many bytes as the challenge',
  level: 'MUST',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const { res, challenge } = await ask(ctx, card, card.adminKey, { diversified: false });
    if (res.status !== 200) ctx.fail(`answered ${res.status}${bodySnippet(res.body)}, expected 200`);
    const type = res.headers['content-type'];
    const media = type?.split(';')[0]?.trim().toLowerCase();
    if (media !== 'application/json') ctx.fail(`Content-Type is ${type === undefined ? 'missing' : JSON.stringify(type)}, expected application/json`);
    let value: unknown;
    try {
      value = JSON.parse(res.body);
    } catch {
      ctx.fail(`body is not JSON${bodySnippet(res.body)} (expected a quoted base64 string)`);
    }
    if (typeof value !== 'string') ctx.fail(`body is JSON but not a string${bodySnippet(res.body)}`);
    const text = value as string;
    if (!isPaddedBase64(text)) ctx.fail(`body is a string but not standard padded base64: ${JSON.stringify(text)}`);
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length !== challenge.length) {
      const hexHint = /^[0-9a-fA-F]+$/.test(text) && text.length === challenge.length * 2 ? ' (it looks like hex, not base64)' : '';
      ctx.fail(`the string decodes to ${bytes.length} bytes for a ${challenge.length}-byte challenge${hexHint}`);
    }
    return ctx.pass(`200, ${type}, body ${res.body.trim()} = ${bytes.length} bytes`);
  },
};

export const responseDeterministic: ConformanceCase = {
  id: 'response.deterministic',
  title: 'The same challenge twice gives the same response',
  level: 'SHOULD',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
    const params = { reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false };
    const a = await ctx.client.authenticationResponse(params);
    const b = await ctx.client.authenticationResponse(params);
    if (a.status !== 200 || b.status !== 200) ctx.fail(`answered ${a.status} then ${b.status}, expected 200 twice`);
    if (a.body.trim() !== b.body.trim()) ctx.fail(`two different answers to one challenge: ${a.body.trim()} then ${b.body.trim()}`);
    return ctx.pass(`both answers ${a.body.trim()}`);
  },
};

export const responseMultiBlock: ConformanceCase = {
  id: 'response.multi-block',
  title: 'A 16-byte challenge is answered block by block (ECB)',
  level: 'MAY',
  async run(ctx) {
    const results = await askAll(ctx, ctx.config.cards.slice(0, 1), { length: 16 });
    if (results.problems.length) ctx.fail(results.problems.join('; '));
    return ctx.pass('the card accepted the 16-byte response');
  },
};
