/**
 * `secrets.no-leak`: no answer of the run, whatever its status, carries key material the
 * harness knows (every configured admin and diversified key, and those fetched from the
 * server), as hex in any case or spacing, base64 or base64url; the one exception is the
 * diversifiedkey endpoint's own 200 to the caller with rights. A key in an error message
 * is worse than a stack trace. The case is judged last: it sends refusals of its own that
 * servers like to explain at length, then, once every other case has ended, reads the raw
 * answers of the whole run before redaction (the reports mask keys, so they cannot show it).
 */
import { randomBytes } from 'node:crypto';
import type { CardConfig } from '../config.js';
import type { CmResponse, RawExchange } from '../wire/cm-client.js';
import { inParallel, unknownGuid } from './helpers.js';
import { KeyRing, type KeyFound } from './keys.js';
import type { CaseContext, ConformanceCase, RunAnswer } from './types.js';

/** The diversifiedkey endpoint's 200 to the caller with rights: handing out the key is its job. */
function isOwnKeyAnswer(raw: RawExchange): boolean {
  return raw.caller === 'rights' && raw.response?.status === 200 && /\/smartcards\/[^/?#]+\/diversifiedkey(?:[?#]|$)/i.test(raw.request.path);
}

/** The key an answer carries, in its body or a header; null when none. */
export function keyIn(ring: KeyRing, res: CmResponse): KeyFound | null {
  const inBody = ring.find(res.body);
  if (inBody) return inBody;
  for (const [name, value] of Object.entries(res.headers)) {
    const found = ring.find(value);
    if (found) return { label: found.label, form: `${found.form} in the ${name} header` };
  }
  return null;
}

/** Refusals of every kind for one card: servers explain these, sometimes with what they hold. */
function ownRequests(ctx: CaseContext, card: CardConfig): Array<() => Promise<CmResponse>> {
  const ids = { reqid: card.reqid, scid: card.scid, cardid: card.cardid };
  const c = ctx.client;
  const garbage = { headers: { Authorization: `Bearer ${randomBytes(24).toString('base64url')}` } };
  const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
  return [
    () => c.diversifiedKey(ids, { caller: 'anonymous' }),
    ...(ctx.config.forbiddenHeaders ? [() => c.diversifiedKey(ids, { caller: 'forbidden' })] : []),
    () => c.diversifiedKey(ids, garbage),
    () => c.diversifiedKey({ ...ids, cardid: unknownGuid() }),
    () => c.diversifiedKey({ reqid: ids.reqid, scid: ids.scid }),
    () => c.diversifiedKey(ids, { method: 'POST' }),
    () => c.authenticationResponse({ ...ids, challenge, diversified: 'maybe' }),
    () => c.authenticationResponse({ ...ids, challenge: Buffer.alloc(9, 1), diversified: false }),
    () => c.authenticationResponse({ ...ids, cardid: unknownGuid(), challenge, diversified: true }),
    () => c.authenticationResponse({ ...ids, challenge, diversified: true }, { caller: 'anonymous' }),
    () => c.authenticationResponse({ ...ids, challenge, diversified: false }, garbage),
  ];
}

function describe(answer: RunAnswer, found: KeyFound): string {
  const { exchange } = answer;
  const status = exchange.response ? String(exchange.response.status) : 'no';
  const path = exchange.request.url.replace(/^[a-z]+:\/\/[^/]+/i, '').split('?')[0];
  return `${answer.caseId}: ${exchange.request.method} ${path} answered ${status} carrying ${found.label} as ${found.form}`;
}

export const secretsNoLeak: ConformanceCase = {
  id: 'secrets.no-leak',
  title: 'No answer, whatever its status, carries a key the harness knows (except the diversifiedkey endpoint to the caller with rights)',
  level: 'MUST',
  schedule: 'last',
  async run(ctx) {
    await inParallel(
      ctx.config.cards.flatMap((card) => ownRequests(ctx, card)),
      (send) => send(),
    );
    // Every other case's answers, once they are all in.
    await ctx.run.othersDone();
    const ring = new KeyRing(ctx.run.keys());
    const answers = ctx.run.answers();
    const leaks: string[] = [];
    const ownLeaks: string[] = [];
    const cases = new Set<string>();
    for (const answer of answers) {
      cases.add(answer.caseId);
      const res = answer.raw.response;
      if (!res || isOwnKeyAnswer(answer.raw)) continue;
      const found = keyIn(ring, res);
      if (!found) continue;
      (answer.caseId === secretsNoLeak.id ? ownLeaks : leaks).push(describe(answer, found));
      ctx.blame(answer.exchange, `the answer carries ${found.label} as ${found.form}`);
    }
    // Other cases' answers first: they show the leak was there in the ordinary run.
    leaks.push(...ownLeaks);
    if (leaks.length) {
      ctx.fail(
        `${leaks.length} answer${leaks.length === 1 ? '' : 's'} carr${leaks.length === 1 ? 'ies' : 'y'} key material: ${leaks.slice(0, 3).join('; ')}${leaks.length > 3 ? `; and ${leaks.length - 3} more` : ''}`,
      );
    }
    const own = answers.filter((a) => a.caseId === secretsNoLeak.id).length;
    return ctx.pass(
      `${answers.length} answers of ${cases.size} case${cases.size === 1 ? '' : 's'} (${own} refusals of its own) carry none of the ${ring.all().length} known keys`,
    );
  },
};
