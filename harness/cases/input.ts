/** `input.*`: challenges a server must refuse. */
import { toBase64 } from '../../simulator/bytes.js';
import { tdesEncrypt } from '../../simulator/tdes.js';
import { decodeCryptogram } from '../wire/decode.js';
import { bodySnippet } from './cryptogram.js';
import { inParallel, preferredCard } from './helpers.js';
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
    const answers = await inParallel(MALFORMED, ([, challenge]) =>
      ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: false }),
    );
    const problems: string[] = [];
    answers.forEach((res, i) => {
      if (res.status >= 400 && res.status <= 499) return;
      const label = MALFORMED[i]![0];
      problems.push(`${label} got ${res.status}${bodySnippet(res.body, ctx.redactor)}, expected 4xx`);
      ctx.blame(res, `${label} got ${res.status}, expected 4xx`);
    });
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(answers.map((res, i) => `${MALFORMED[i]![0]}: ${res.status}`).join(', '));
  },
};

export const inputHexChallenge: ConformanceCase = {
  id: 'input.hex-challenge',
  title: 'A challenge written in hex (as the enrollment walkthrough shows it) gets 4xx, never an answer computed from the hex',
  level: 'SHOULD',
  async run(ctx) {
    const card = preferredCard(ctx.config);
    // The walkthrough's challenge, and a card challenge as 16 hex digits: both are valid
    // base64 characters too (16 of them decode to 12 bytes, not a whole block).
    const fromCard = ctx.virtualCard(card, card.adminKey).getChallenge();
    const hexes: Array<[string, string]> = [
      ["the walkthrough's challenge CFAA62118BBD25", 'CFAA62118BBD25'],
      [`16 hex digits ${fromCard.toString('hex').toUpperCase()}`, fromCard.toString('hex').toUpperCase()],
    ];
    const answers = await inParallel(hexes, ([, hex]) =>
      ctx.client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge: hex, diversified: false }),
    );
    const problems: string[] = [];
    answers.forEach((res, i) => {
      const [label, hex] = hexes[i]!;
      if (res.status >= 400 && res.status <= 499) return;
      // The bytes the hex spells (zero-padded to a whole block): a server that reads hex answers these.
      const asHex = Buffer.alloc(Math.ceil(hex.length / 16) * 8);
      Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex').copy(asHex);
      const sent = res.status === 200 ? decodeCryptogram(res.body, asHex.length) : null;
      const readAsHex = sent !== null && sent.equals(tdesEncrypt(card.adminKey, asHex));
      const why = readAsHex ? `${label} was answered as if it were hex` : `${label} got ${res.status}, expected 4xx`;
      problems.push(
        `${label} (card ${card.name}) got ${res.status}${bodySnippet(res.body, ctx.redactor)}${readAsHex ? ': the 3DES response to the bytes the hex spells, i.e. read as hex, not base64' : ', expected 4xx'}`,
      );
      ctx.blame(res, why);
    });
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(`card ${card.name}: ${answers.map((res, i) => `${hexes[i]![0]}: ${res.status}`).join(', ')}`);
  },
};
