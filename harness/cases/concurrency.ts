/**
 * `concurrency`: what one-at-a-time requests cannot see. A server that shares a buffer, a
 * cipher object or a cache entry between requests answers right alone and wrong when
 * requests overlap; here at least 32 are in flight at once, across every card and both
 * key kinds, and each answer is judged by the virtual card that asked.
 */
import { toBase64 } from '../../simulator/bytes.js';
import { tdesEncrypt } from '../../simulator/tdes.js';
import type { VirtualCard } from '../../simulator/card.js';
import type { CardConfig } from '../config.js';
import { decodeCryptogram } from '../wire/decode.js';
import { judge } from './cryptogram.js';
import { ask, inParallel, othersFor } from './helpers.js';
import type { ConformanceCase } from './types.js';

/** Requests in flight at once (at least). */
export const IN_FLIGHT = 32;

interface Kind {
  card: CardConfig;
  key: Buffer;
  diversified: boolean;
  dkey: Buffer | undefined;
}

interface Prepared extends Kind {
  vc: VirtualCard;
  challenge: Buffer;
  expected: Buffer;
}

const kindName = (k: Kind): string => `card ${k.card.name}, ${k.diversified ? 'diversified' : 'default'} key`;

export const concurrency: ConformanceCase = {
  id: 'concurrency',
  title: `At least ${IN_FLIGHT} exchanges in flight at once, across every card and both key kinds, each right for the card that asked`,
  level: 'MUST',
  // Its own requests only, so a wrong answer is one of its own requests' and "alone" means alone.
  schedule: 'alone',
  async run(ctx) {
    const perCard = await inParallel(ctx.config.cards, async (card): Promise<Kind[]> => {
      const { key: dkey } = card.diversifiedKey ? await ctx.diversifiedKey(card) : {};
      const kinds: Kind[] = [{ card, key: card.adminKey, diversified: false, dkey }];
      if (dkey) kinds.push({ card, key: dkey, diversified: true, dkey });
      return kinds;
    });
    const kinds = perCard.flat();
    const total = Math.max(IN_FLIGHT, kinds.length);
    // Every challenge is drawn first, then every request leaves in the same turn of the event loop.
    const prepared: Prepared[] = Array.from({ length: total }, (_, i) => {
      const kind = kinds[i % kinds.length]!;
      const vc = ctx.virtualCard(kind.card, kind.key);
      const challenge = vc.getChallenge();
      return { ...kind, vc, challenge, expected: tdesEncrypt(kind.key, challenge) };
    });
    const answers = await Promise.all(
      prepared.map((p) =>
        ctx.client.authenticationResponse({
          reqid: p.card.reqid,
          scid: p.card.scid,
          cardid: p.card.cardid,
          challenge: p.challenge,
          diversified: p.diversified,
          ...(p.card.atr ? { atr: p.card.atr } : {}),
        }),
      ),
    );
    const problems: string[] = [];
    const crossed: string[] = [];
    const wrongKinds: Prepared[] = [];
    answers.forEach((res, i) => {
      const p = prepared[i]!;
      const verdict = judge(p.vc, p.key, p.challenge, res, othersFor(ctx, p.card, p.diversified ? 'diversified' : 'default', p.dkey), ctx.redactor);
      if (!verdict) return;
      if (!wrongKinds.some((w) => w.card === p.card && w.diversified === p.diversified)) wrongKinds.push(p);
      // The signature of shared state: the right answer, but to another request in flight.
      const got = res.status === 200 ? decodeCryptogram(res.body, p.challenge.length) : null;
      const owner = got ? prepared.findIndex((q, j) => j !== i && q.expected.equals(got)) : -1;
      if (owner >= 0) {
        const q = prepared[owner]!;
        crossed.push(`${kindName(p)}, challenge ${toBase64(p.challenge)}, got the answer for ${kindName(q)}, challenge ${toBase64(q.challenge)}`);
        ctx.blame(res, 'the answer belongs to another request in flight (state shared between requests)');
      } else {
        problems.push(`${kindName(p)}: ${verdict.problem}`);
        ctx.blame(res, verdict.cause);
      }
    });
    const spread = `${total} requests at once over ${kinds.length} card and key kind${kinds.length === 1 ? '' : 's'}`;
    const wrong = problems.length + crossed.length;
    // Wrong together: is it right alone? (A few of the wrong kinds, one request at a time.)
    let alone = '';
    if (wrong > 0) {
      const checked = wrongKinds.slice(0, 3);
      let right = 0;
      for (const k of checked) {
        const again = await ask(ctx, k.card, k.key, {
          diversified: k.diversified,
          ...(k.card.atr ? { atr: k.card.atr } : {}),
          others: othersFor(ctx, k.card, k.diversified ? 'diversified' : 'default', k.dkey),
        });
        if (!again.problem) right += 1;
      }
      alone =
        right === checked.length
          ? `; asked again one at a time, ${checked.length === 1 ? 'it was' : `all ${checked.length} were`} right: right alone, wrong under concurrency`
          : `; asked again one at a time, ${checked.length - right} of ${checked.length} still wrong`;
    }
    if (crossed.length) {
      // The signature of state shared between requests comes first, whatever else went wrong.
      ctx.fail(
        `${wrong} of ${total} answers wrong under concurrency (${spread}); ${crossed.length} of them the right response to another request in flight ` +
          `(a buffer, cipher or cache entry shared between requests?), e.g. ${crossed[0]}${problems.length ? `; other: ${problems[0]}` : ''}${alone}`,
      );
    }
    if (problems.length) ctx.fail(`${wrong} of ${total} answers wrong under concurrency (${spread})${alone}; first: ${problems[0]}`);
    return ctx.pass(`${spread} (${kinds.map(kindName).join('; ')}): every answer right for the card that asked`);
  },
};
