import { randomBytes } from 'node:crypto';
import { toBase64 } from '../../simulator/bytes.js';
import { tdesEncrypt } from '../../simulator/tdes.js';
import { isSecretHeaderName } from '../redact.js';
import type { CmResponse, RequestOverrides } from '../wire/cm-client.js';
import { bodySnippet } from './cryptogram.js';
import { inParallel } from './helpers.js';
import type { CaseContext, ConformanceCase, Verdict } from './types.js';

interface Refusal {
  who: string;
  res: CmResponse;
  /** Why the answer is wrong; null when the caller was refused as it must be. */
  problem: string | null;
}

/** Asks for the first card's response as `who`; it must be refused with 401/403, and the body must not carry the response anyway. */
async function askRefused(ctx: CaseContext, who: string, overrides: RequestOverrides, allowed: readonly number[] = [401, 403]): Promise<Refusal> {
  const card = ctx.config.cards[0]!;
  const challenge = ctx.virtualCard(card, card.adminKey).getChallenge();
  const res = await ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false }, overrides);
  const right = tdesEncrypt(card.adminKey, challenge);
  const leaked = res.body.includes(toBase64(right)) || res.body.toLowerCase().includes(right.toString('hex'));
  const expected = allowed.join(' or ');
  let problem: string | null = null;
  if (!allowed.includes(res.status))
    problem = `${who} got ${res.status}${bodySnippet(res.body, ctx.redactor)}, expected ${expected}${leaked ? ', and the body holds the right response' : ''}`;
  else if (leaked) problem = `${who} got ${res.status}, but the body holds the right response`;
  if (problem)
    ctx.blame(res, leaked && allowed.includes(res.status) ? `${who}: the body holds the right response` : `${who} got ${res.status}, expected ${expected}`);
  return { who, res, problem };
}

function verdictOf(ctx: CaseContext, refusals: Refusal[]): Verdict {
  const problems = refusals.flatMap((r) => (r.problem ? [r.problem] : []));
  if (problems.length) ctx.fail(problems.join('; '));
  return ctx.pass(refusals.map((r) => `${r.who}: ${r.res.status}`).join(', ') + ', no response bytes');
}

export const authForbidden: ConformanceCase = {
  id: 'auth.forbidden',
  title: 'A caller without the right gets 401/403 and no response bytes',
  level: 'MUST',
  needs: ['forbidden-caller'],
  run: async (ctx) =>
    verdictOf(ctx, [
      await askRefused(ctx, `the forbidden caller (${ctx.config.forbiddenAuth ? 'forbiddenAuth' : 'forbiddenHeaders'})`, { caller: 'forbidden' }),
    ]),
};

export const authAnonymous: ConformanceCase = {
  id: 'auth.anonymous',
  title: 'A request without credentials gets 401/403',
  level: 'MUST',
  run: async (ctx) => verdictOf(ctx, [await askRefused(ctx, 'an anonymous caller', { caller: 'anonymous' })]),
};

/** The configured credential header (Authorization first), with its scheme and token when it has one. */
function configuredCredential(ctx: CaseContext): { name: string; value: string; scheme?: string; token: string } | undefined {
  const entries = Object.entries(ctx.config.headers).filter(([name]) => isSecretHeaderName(name));
  const [name, value] = entries.find(([n]) => n.toLowerCase() === 'authorization') ?? entries[0] ?? [];
  if (name === undefined || value === undefined) return undefined;
  const m = /^([A-Za-z][\w-]*)\s+(\S.*)$/.exec(value);
  return m ? { name, value, scheme: m[1]!, token: m[2]! } : { name, value, token: value };
}

/** The configured headers that are not credentials (sent along, so only the credential differs). */
function plainHeaders(ctx: CaseContext): Record<string, string> {
  return Object.fromEntries(Object.entries(ctx.config.headers).filter(([name]) => !isSecretHeaderName(name)));
}

const garbage = (): string => randomBytes(32).toString('base64url');

export const authInvalid: ConformanceCase = {
  id: 'auth.invalid',
  title: 'Malformed and unknown credentials (garbage, truncated, unknown scheme, empty) get 401/403 and no response bytes',
  level: 'MUST',
  async run(ctx) {
    const plain = plainHeaders(ctx);
    const own = configuredCredential(ctx);
    // The configured credential cut short: a server that compares only a prefix takes it.
    const cut = own ? Math.max(1, Math.min(8, Math.floor(own.token.length / 3))) : 0;
    let truncated: [string, Record<string, string>] = [
      'a truncated bearer token',
      { ...plain, Authorization: 'Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJoZWxw' },
    ];
    if (own && own.token.length >= 4) {
      const short = own.value.slice(0, own.value.length - cut);
      // Most of a credential is a credential: masked wherever a server echoes it.
      ctx.redactor.add([short, own.token.slice(0, own.token.length - cut)]);
      truncated = [`the configured ${own.name} cut short by ${cut} characters`, { ...plain, [own.name]: short }];
    }
    // The configured token under a scheme nobody knows: a server that ignores the scheme takes it.
    const token = own?.scheme ? own.token : garbage();
    const variants: Array<[string, Record<string, string>]> = [
      ['a garbage bearer token', { ...plain, Authorization: `Bearer ${garbage()}` }],
      truncated,
      [
        own?.scheme ? `the configured token under an unknown scheme (Cmcard-Unknown)` : 'an unknown scheme (Cmcard-Unknown)',
        { ...plain, Authorization: `Cmcard-Unknown ${token}` },
      ],
      ['an empty Authorization header', { ...plain, Authorization: '' }],
    ];
    return verdictOf(ctx, await inParallel(variants, ([who, headers]) => askRefused(ctx, who, { headers })));
  },
};

export const authDuplicate: ConformanceCase = {
  id: 'auth.duplicate',
  title: 'Two Authorization headers (the right one and another) get 400/401/403, never 200',
  level: 'SHOULD',
  async run(ctx) {
    const rights = Object.entries(ctx.config.headers).find(([name]) => name.toLowerCase() === 'authorization');
    if (!rights) return ctx.skip("the config's headers have no Authorization to send twice");
    const other = Object.entries(ctx.config.forbiddenHeaders ?? {}).find(([name]) => name.toLowerCase() === 'authorization')?.[1] ?? `Bearer ${garbage()}`;
    const otherLabel = ctx.config.forbiddenHeaders ? "the forbidden caller's" : 'a garbage one';
    const plain = plainHeaders(ctx);
    // Both orders: a server may take the first, a proxy in front of it the last.
    const orders: Array<[string, string[]]> = [
      [`the configured Authorization, then ${otherLabel}`, [rights[1], other]],
      [`${otherLabel} Authorization, then the configured one`, [other, rights[1]]],
    ];
    return verdictOf(ctx, await inParallel(orders, ([who, values]) => askRefused(ctx, who, { headers: { ...plain, Authorization: values } }, [400, 401, 403])));
  },
};
