import { toBase64 } from '../../simulator/bytes.js';
import { isPaddedBase64 } from '../wire/decode.js';
import { ask, askAll, describeCards, inParallel, othersFor, preferredCard } from './helpers.js';
import { bodySnippet } from './cryptogram.js';
import { describeDifference } from '../show-body.js';
import type { ConformanceCase } from './types.js';

const CHALLENGES_PER_CARD = 3;

export const responseCorrect: ConformanceCase = {
  id: 'response.correct',
  title: 'Responses to card-issued challenges are the right 3DES cryptograms (diversified=false)',
  level: 'MUST',
  async run(ctx) {
    const cards = ctx.config.cards;
    const asks = cards.flatMap((card) => Array.from({ length: CHALLENGES_PER_CARD }, () => card));
    const asked = await inParallel(asks, (card) => ask(ctx, card, card.adminKey, { diversified: false, others: othersFor(ctx, card, 'default') }));
    const problems = asked.flatMap((a, i) => (a.problem ? [`card ${asks[i]!.name}, challenge ${toBase64(a.challenge)}: ${a.problem}`] : []));
    if (problems.length) ctx.fail(problems.length === 1 ? problems[0]! : `${problems[0]} (${problems.length} of ${asks.length} refused)`);
    // Whether every key is DES-weak is said once, in the run's notes.
    return ctx.pass(`${asks.length} responses accepted by the virtual cards (${describeCards(cards)})`);
  },
};

export const responseDiversified: ConformanceCase = {
  id: 'response.diversified',
  title: "diversified=true uses the card's diversified key, diversified=false the default key",
  level: 'MUST',
  needs: ['diversified-key'],
  async run(ctx) {
    const results = await inParallel(
      ctx.config.cards.filter((c) => c.diversifiedKey),
      async (card) => {
        const { key, reason } = await ctx.diversifiedKey(card);
        if (!key) return { card, skipped: `${card.name}: ${reason}`, problems: [] as string[] };
        const [t, f] = await Promise.all([
          ask(ctx, card, key, { diversified: true, others: othersFor(ctx, card, 'diversified', key) }),
          ask(ctx, card, card.adminKey, { diversified: false, others: othersFor(ctx, card, 'default', key) }),
        ]);
        const problems: string[] = [];
        if (t.problem) problems.push(`card ${card.name}, diversified=True: ${t.problem}`);
        if (f.problem) problems.push(`card ${card.name}, diversified=False: ${f.problem}`);
        return { card, skipped: undefined, problems };
      },
    );
    const problems = results.flatMap((r) => r.problems);
    const skipped = results.flatMap((r) => (r.skipped ? [r.skipped] : []));
    const checked = results.filter((r) => !r.skipped).map((r) => r.card.name);
    if (problems.length) ctx.fail(problems.join('; '));
    if (checked.length === 0) return ctx.skip(`no diversified key available (${skipped.join('; ')})`);
    return ctx.pass(
      `cards ${checked.join(', ')}: True answered under the diversified key, False under the default key${skipped.length ? `; not checked: ${skipped.join('; ')}` : ''}`,
    );
  },
};

export const responseFormat: ConformanceCase = {
  id: 'response.format',
  title: '200 with Content-Type application/json and a JSON string of base64, as many bytes as the challenge',
  level: 'MUST',
  async run(ctx) {
    const card = preferredCard(ctx.config);
    const { res, challenge } = await ask(ctx, card, card.adminKey, { diversified: false });
    const fail = (message: string, why: string): never => ctx.fail(message, { exchange: res, why });
    if (res.status !== 200) fail(`card ${card.name}: answered ${res.status}${bodySnippet(res.body, ctx.redactor)}, expected 200`, `answered ${res.status}`);
    const type = res.headers['content-type'];
    const media = type?.split(';')[0]?.trim().toLowerCase();
    if (media !== 'application/json')
      fail(`Content-Type is ${type === undefined ? 'missing' : JSON.stringify(type)}, expected application/json`, 'Content-Type is not application/json');
    if (res.body.charCodeAt(0) === 0xfeff)
      fail(
        `body ${ctx.quote(res.body)} starts with a byte order mark (U+FEFF): JSON sent over the network has none`,
        'the body starts with a byte order mark (U+FEFF)',
      );
    let value: unknown;
    try {
      value = JSON.parse(res.body);
    } catch {
      const bare = isPaddedBase64(res.body.trim());
      fail(
        `body is not JSON${bodySnippet(res.body, ctx.redactor)} (expected a quoted base64 string${bare ? `: ${describeDifference(res.body.trim(), JSON.stringify(res.body.trim()))}` : ''})`,
        bare ? 'the body is bare base64, without the JSON string quotes' : 'the body is not JSON',
      );
    }
    if (typeof value !== 'string') fail(`body is JSON but not a string${bodySnippet(res.body, ctx.redactor)}`, 'the body is JSON but not a string');
    const text = value as string;
    if (!isPaddedBase64(text))
      fail(`body is a string but not standard padded base64: ${ctx.quote(text)}`, 'the body is a JSON string but not standard padded base64');
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length !== challenge.length) {
      const hexHint = /^[0-9a-fA-F]+$/.test(text) && text.length === challenge.length * 2 ? ' (it looks like hex, not base64)' : '';
      fail(
        `the string decodes to ${bytes.length} bytes for a ${challenge.length}-byte challenge${hexHint}`,
        hexHint ? 'the body holds hex, not base64' : 'the response has the wrong length for the challenge',
      );
    }
    return ctx.pass(`card ${card.name}: 200, ${type}, body ${res.body.trim()} = ${bytes.length} bytes`);
  },
};

export const responseDeterministic: ConformanceCase = {
  id: 'response.deterministic',
  title: 'The same challenge twice gives the same response',
  level: 'SHOULD',
  async run(ctx) {
    const card = preferredCard(ctx.config);
    const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
    const params = { reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false };
    // Both at once: a deterministic server answers them alike however they arrive.
    const [a, b] = await Promise.all([ctx.client.authenticationResponse(params), ctx.client.authenticationResponse(params)]);
    if (a.status !== 200 || b.status !== 200) {
      ctx.fail(`answered ${a.status} then ${b.status}, expected 200 twice`, { exchange: [a, b].filter((r) => r.status !== 200), why: 'not 200' });
    }
    const difference = describeDifference(b.body.trim(), a.body.trim());
    if (difference)
      ctx.fail(`two different answers to one challenge: ${ctx.quote(a.body.trim())} then ${ctx.quote(b.body.trim())} (${difference})`, {
        exchange: [a, b],
        why: 'two different answers to one challenge',
      });
    return ctx.pass(`both answers ${a.body.trim()}`);
  },
};

export const responseMultiBlock: ConformanceCase = {
  id: 'response.multi-block',
  title: 'A 16-byte challenge is answered block by block (ECB)',
  level: 'MAY',
  async run(ctx) {
    const card = preferredCard(ctx.config);
    const results = await askAll(ctx, [card], { length: 16 });
    if (results.problems.length) ctx.fail(results.problems.join('; '));
    return ctx.pass(`card ${card.name}: the card accepted the 16-byte response`);
  },
};
