import { playUnlock } from '../unlock-flow.js';
import { otherKeysFor } from './helpers.js';
import { judgeResponse } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

export const exchangeUnlock: ConformanceCase = {
  id: 'exchange.unlock',
  title: 'Full unlock: PIN blocked, card challenge, server response, unblock, new PIN verifies, counters restored',
  level: 'MUST',
  async run(ctx) {
    const done: string[] = [];
    for (const card of ctx.config.cards) {
      // A card in the field holds its diversified key when it has one (enrollment switched it).
      const { key: dkey } = card.diversifiedKey ? await ctx.diversifiedKey(card) : {};
      const result = await playUnlock({
        client: ctx.client,
        card,
        key: dkey ?? card.adminKey,
        diversified: dkey !== undefined,
        lifecycle: ctx.config.lifecycle,
        virtualCard: ctx.virtualCard,
        otherKeys: otherKeysFor(card, dkey ? 'diversified' : 'default', dkey),
      });
      if (!result.ok) ctx.fail(`card ${card.name}: ${result.failure}`);
      done.push(`${card.name} (${dkey ? 'diversified' : 'default'} key)`);
    }
    return ctx.pass(`unlocked ${done.join(', ')}${ctx.config.lifecycle ? ', each through a created and completed Unblock request' : ''}`);
  },
};

export const exchangeEnrollDiversify: ConformanceCase = {
  id: 'exchange.enroll-diversify',
  title: 'Enrollment walkthrough: default key (diversified=false), switch to the diversified key, unblock with diversified=true',
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const done: string[] = [];
    const notChecked: string[] = [];
    for (const card of ctx.config.cards.filter((c) => c.diversifiedKey)) {
      const { key: dkey, reason } = await ctx.diversifiedKey(card);
      if (!dkey) {
        notChecked.push(`${card.name}: ${reason}`);
        continue;
      }
      // The card leaves the factory with the template's default key.
      const vc = ctx.virtualCard(card, card.adminKey);
      const challenge = vc.getChallenge();
      const res = await ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false });
      const problem = judgeResponse(vc, card.adminKey, challenge, res, otherKeysFor(card, 'default', dkey));
      if (problem) ctx.fail(`card ${card.name}, first authentication with diversified=False: ${problem}`);
      const changed = vc.changeAdminKey(dkey);
      if (!changed.ok) ctx.fail(`card ${card.name}: switching to the diversified key failed: ${changed.message}`);
      vc.logout();
      const result = await playUnlock({
        client: ctx.client,
        card,
        key: dkey,
        diversified: true,
        lifecycle: false,
        virtualCard: () => vc,
        otherKeys: otherKeysFor(card, 'diversified'),
      });
      if (!result.ok) ctx.fail(`card ${card.name}, after the switch to the diversified key: ${result.failure}`);
      done.push(card.name);
    }
    if (done.length === 0) return ctx.skip(`no diversified key available (${notChecked.join('; ')})`);
    return ctx.pass(`cards ${done.join(', ')}: authenticated on the default key, switched, unblocked with diversified=True${notChecked.length ? `; not checked: ${notChecked.join('; ')}` : ''}`);
  },
};
