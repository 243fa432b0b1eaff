import { constantTimeEqual } from '../../simulator/tdes.js';
import { readDiversifiedKey } from '../wire/decode.js';
import type { RequestOverrides } from '../wire/cm-client.js';
import { ask, inParallel, isSuccess, othersFor } from './helpers.js';
import type { ConformanceCase } from './types.js';

export const diversifiedKeyConsistent: ConformanceCase = {
  id: 'diversifiedkey.consistent',
  title: 'The diversifiedkey endpoint returns the configured 24-byte key, consistent with diversified=true',
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const cards = ctx.config.cards.filter((c) => c.diversifiedKey);
    // The answer is a key: readDiversifiedKey never quotes it, whatever the status.
    const fetched = await inParallel(cards, async (card) => {
      const res = await ctx.client.diversifiedKey({ reqid: card.reqid, scid: card.scid, cardid: card.cardid });
      const read = readDiversifiedKey(res);
      // A key the server handed out is masked in every output from now on.
      if (read.key) ctx.redactor.addKeys([read.key]);
      return { card, res, read };
    });
    const absent = fetched.filter((f) => f.res.status === 404 || f.res.status === 405);
    if (absent.length === fetched.length) return ctx.skip(`the diversifiedkey endpoint answers ${absent[0]!.res.status} (absent)`);
    for (const f of absent) {
      ctx.fail(`card ${f.card.name}: answered ${f.res.status} although it answered for other cards`, { exchange: f.res, why: `answered ${f.res.status}` });
    }
    for (const { card, res, read } of fetched) {
      if (!read.key) ctx.fail(`card ${card.name}: ${read.reason}`, { exchange: res, why: read.reason });
      if (card.diversifiedKey instanceof Buffer && !constantTimeEqual(read.key!, card.diversifiedKey)) {
        ctx.fail(`card ${card.name}: the key differs from the configured diversifiedKey`, {
          exchange: res,
          why: 'the key differs from the configured diversifiedKey',
        });
      }
    }
    const asked = await inParallel(fetched, ({ card, read }) =>
      ask(ctx, card, read.key!, { diversified: true, others: othersFor(ctx, card, 'diversified', read.key) }),
    );
    const problems = asked.flatMap((a, i) =>
      a.problem ? [`card ${fetched[i]!.card.name}: a diversified=True response does not match the endpoint's key: ${a.problem}`] : [],
    );
    if (problems.length) ctx.fail(problems.join('; '));
    const done = fetched.map((f) => f.card.name);
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
    const callers: Array<[string, RequestOverrides]> = [['an anonymous caller', { caller: 'anonymous' }]];
    const forbidden = ctx.config.forbiddenHeaders !== undefined || ctx.config.forbiddenAuth !== undefined;
    if (forbidden) callers.push(['the forbidden caller', { caller: 'forbidden' }]);
    const [own, ...answers] = await Promise.all([ctx.client.diversifiedKey(ids), ...callers.map(([, o]) => ctx.client.diversifiedKey(ids, o))]);
    if (own!.status === 404 || own!.status === 405) return ctx.skip(`the diversifiedkey endpoint answers ${own!.status} (absent)`);
    answers.forEach((res, i) => {
      const who = callers[i]![0];
      if (isSuccess(res.status) && res.body.trim().length > 0) {
        ctx.fail(`${who} got ${res.status} with a body: the admin key is handed out without authorization`, {
          exchange: res,
          why: `${who} got ${res.status} with a body`,
        });
      }
    });
    return ctx.pass(
      answers.map((res, i) => `${callers[i]![0]}: ${res.status}`).join(', ') + (forbidden ? '' : ' (no forbidden caller configured: only anonymous checked)'),
    );
  },
};
