import { constantTimeEqual } from '../../simulator/tdes.js';
import { CmFormatError, decodeBase64Body } from '../cm-client.js';
import { ask, otherKeysFor } from './helpers.js';
import { bodySnippet } from './judge.js';
import type { ConformanceCase } from './types.js';

export const diversifiedKeyConsistent: ConformanceCase = {
  id: 'diversifiedkey.consistent',
  title: 'The diversifiedkey endpoint returns the configured 24-byte key, consistent with diversified=true',
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const done: string[] = [];
    for (const card of ctx.config.cards.filter((c) => c.diversifiedKey)) {
      const res = await ctx.client.diversifiedKey({ reqid: card.reqid, scid: card.scid, cardid: card.cardid });
      if (res.status === 404 || res.status === 405) {
        if (done.length === 0) return ctx.skip(`the diversifiedkey endpoint answers ${res.status} (absent)`);
        ctx.fail(`card ${card.name}: answered ${res.status} although it answered for other cards`);
      }
      if (res.status !== 200) ctx.fail(`card ${card.name}: answered ${res.status}${bodySnippet(res.body)}, expected 200`);
      let key: Buffer;
      try {
        key = decodeBase64Body(res);
      } catch (err) {
        if (err instanceof CmFormatError) ctx.fail(`card ${card.name}: ${err.message.replace(/: ".*"$/, '')} (body not shown: it may be a key)`);
        throw err;
      }
      if (key.length !== 24) ctx.fail(`card ${card.name}: the key has ${key.length} bytes, expected 24`);
      if (card.diversifiedKey instanceof Buffer && !constantTimeEqual(key, card.diversifiedKey)) {
        ctx.fail(`card ${card.name}: the key differs from the configured diversifiedKey`);
      }
      const { problem } = await ask(ctx, card, key, { diversified: true, others: otherKeysFor(card, 'diversified') });
      if (problem) ctx.fail(`card ${card.name}: a diversified=True response does not match the endpoint's key: ${problem}`);
      done.push(card.name);
    }
    return ctx.pass(`cards ${done.join(', ')}: 24-byte key${done.length > 1 ? 's' : ''} as configured, matching diversified=True responses`);
  },
};
