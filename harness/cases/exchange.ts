import { playUnlock } from '../unlock-flow.js';
import { inParallel, othersFor } from './helpers.js';
import { judge } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

export const exchangeUnlock: ConformanceCase = {
  id: 'exchange.unlock',
  title: 'Full unlock: PIN blocked, card challenge, server response, unblock, new PIN verifies, counters restored',
  level: 'MUST',
  // With lifecycle it creates and completes requests on the server: no other case beside it.
  schedule: (config) => (config.lifecycle ? 'alone' : 'parallel'),
  async run(ctx) {
    const results = await inParallel(ctx.config.cards, async (card) => {
      // A card in the field holds its diversified key when it has one (enrollment switched it).
      const { key: dkey } = card.diversifiedKey ? await ctx.diversifiedKey(card) : {};
      const result = await playUnlock({
        client: ctx.client,
        card,
        key: dkey ?? card.adminKey,
        diversified: dkey !== undefined,
        lifecycle: ctx.config.lifecycle,
        virtualCard: ctx.virtualCard,
        otherKeys: othersFor(ctx, card, dkey ? 'diversified' : 'default', dkey),
        redactor: ctx.redactor,
      });
      if (result.failedOn) ctx.blame(result.failedOn.response, result.failedOn.cause);
      return { card, dkey, result };
    });
    const failures = results.flatMap(({ card, result }) => (result.ok ? [] : [`card ${card.name}: ${result.failure}`]));
    if (failures.length) ctx.fail(failures.join('; '));
    const done = results.map(({ card, dkey }) => `${card.name} (${dkey ? 'diversified' : 'default'} key)`);
    return ctx.pass(`unlocked ${done.join(', ')}${ctx.config.lifecycle ? ', each through a created and completed Unblock request' : ''}`);
  },
};

export const exchangeEnrollDiversify: ConformanceCase = {
  id: 'exchange.enroll-diversify',
  title: 'Enrollment walkthrough: default key (diversified=false), switch to the diversified key, unblock with diversified=true',
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const results = await inParallel(
      ctx.config.cards.filter((c) => c.diversifiedKey),
      async (card): Promise<{ name: string; skipped?: string; failure?: string }> => {
        const { key: dkey, reason } = await ctx.diversifiedKey(card);
        if (!dkey) return { name: card.name, skipped: `${card.name}: ${reason}` };
        // The card leaves the factory with the template's default key.
        const vc = ctx.virtualCard(card, card.adminKey);
        const challenge = vc.getChallenge();
        const res = await ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false });
        const first = judge(vc, card.adminKey, challenge, res, othersFor(ctx, card, 'default', dkey), ctx.redactor);
        if (first) {
          ctx.blame(res, first.cause);
          return { name: card.name, failure: `card ${card.name}, first authentication with diversified=False: ${first.problem}` };
        }
        const changed = vc.changeAdminKey(dkey);
        if (!changed.ok) return { name: card.name, failure: `card ${card.name}: switching to the diversified key failed: ${changed.message}` };
        vc.logout();
        const result = await playUnlock({
          client: ctx.client,
          card,
          key: dkey,
          diversified: true,
          lifecycle: false,
          virtualCard: () => vc,
          otherKeys: othersFor(ctx, card, 'diversified', dkey),
          redactor: ctx.redactor,
        });
        if (result.failedOn) ctx.blame(result.failedOn.response, result.failedOn.cause);
        return result.ok ? { name: card.name } : { name: card.name, failure: `card ${card.name}, after the switch to the diversified key: ${result.failure}` };
      },
    );
    const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
    if (failures.length) ctx.fail(failures.join('; '));
    const done = results.filter((r) => !r.skipped).map((r) => r.name);
    const notChecked = results.flatMap((r) => (r.skipped ? [r.skipped] : []));
    if (done.length === 0) return ctx.skip(`no diversified key available (${notChecked.join('; ')})`);
    return ctx.pass(
      `cards ${done.join(', ')}: authenticated on the default key, switched, unblocked with diversified=True${notChecked.length ? `; not checked: ${notChecked.join('; ')}` : ''}`,
    );
  },
};
