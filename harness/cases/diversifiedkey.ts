import { constantTimeEqual } from '../../simulator/tdes.js';
import { fetchDiversifiedKey } from '../wire/cm-client.js';
import type { RequestOverrides } from '../wire/cm-client.js';
import { ask, isSuccess, otherKeysFor } from './helpers.js';
import type { ConformanceCase } from './types.js';

export const diversifiedKeyConsistent: ConformanceCase = {
  id: 'diversifiedkey.consistent',
  title: 'The diversifiedkey endpoint returns the configured 24-byte key, consistent with diversified=true',
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const done: string[] = [];
    for (const card of ctx.config.cards.filter((c) => c.diversifiedKey)) {
      // The answer is a key: fetchDiversifiedKey never quotes it, whatever the status.
      const fetched = await fetchDiversifiedKey(ctx.client, card);
      if (fetched.status === 404 || fetched.status === 405) {
        if (done.length === 0) return ctx.skip(`the diversifiedkey endpoint answers ${fetched.status} (absent)`);
        ctx.fail(`card ${card.name}: answered ${fetched.status} although it answered for other cards`);
      }
      if (!fetched.key) return ctx.fail(`card ${card.name}: ${fetched.reason}`);
      const key = fetched.key;
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

export const diversifiedKeyAuth: ConformanceCase = {
  id: 'diversifiedkey.auth',
  title: 'The diversifiedkey endpoint gives anonymous and forbidden callers no key',
  level: 'MUST',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const ids = { reqid: card.reqid, scid: card.scid, cardid: card.cardid };
    const own = await ctx.client.diversifiedKey(ids);
    if (own.status === 404 || own.status === 405) return ctx.skip(`the diversifiedkey endpoint answers ${own.status} (absent)`);
    const callers: Array<[string, RequestOverrides]> = [['an anonymous caller', { headers: null }]];
    const forbidden = ctx.config.forbiddenHeaders !== undefined || ctx.config.forbiddenAuth !== undefined;
    if (forbidden) callers.push(['the forbidden caller', { caller: 'forbidden' }]);
    const seen: string[] = [];
    for (const [who, o] of callers) {
      const res = await ctx.client.diversifiedKey(ids, o);
      if (isSuccess(res.status) && res.body.trim().length > 0) ctx.fail(`${who} got ${res.status} with a body: the admin key is handed out without authorization`);
      seen.push(`${who}: ${res.status}`);
    }
    return ctx.pass(seen.join(', ') + (forbidden ? '' : ' (no forbidden caller configured: only anonymous checked)'));
  },
};
