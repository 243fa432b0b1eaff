/** `input.*`: challenges a server must refuse. */
import { toBase64 } from '../../simulator/bytes.js';
import { bodySnippet } from './cryptogram.js';
import type { ConformanceCase } from './types.js';

/** Challenges that are not 8 bytes of base64; errors.ts reuses them to collect error bodies. */
export const MALFORMED: Array<[string, string]> = [
  ['a non-base64 challenge', 'not*base64!'],
  ['an empty challenge', ''],
  ['a 7-byte challenge', toBase64(Buffer.from('01020304050607', 'hex'))],
  ['a 9-byte challenge', toBase64(Buffer.from('010203040506070809', 'hex'))],
];

export const inputMalformedChallenge: ConformanceCase = {
  id: 'input.malformed-challenge',
  title: 'Non-base64, empty, 7-byte and 9-byte challenges get 4xx, not 5xx or 200',
  level: 'SHOULD',
  async run(ctx) {
    const card = ctx.config.cards[0]!;
    const problems: string[] = [];
    const seen: string[] = [];
    for (const [label, challenge] of MALFORMED) {
      const res = await ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false });
      seen.push(`${label}: ${res.status}`);
      if (res.status < 400 || res.status > 499) problems.push(`${label} got ${res.status}${bodySnippet(res.body)}, expected 4xx`);
    }
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(seen.join(', '));
  },
};
