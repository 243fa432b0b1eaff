/**
 * What the fuzzer puts into a request, as fast-check arbitraries, and how a correct server
 * must read each value. The arbitraries are pure data (seeded, shrinkable): which caller,
 * which challenge bytes in which encoding, which `diversified` spelling, which ATR, and a
 * symbolic choice of ids that commands.ts resolves against the model at run time.
 */
import fc from 'fast-check';
import { challengeLengthProblem, MAX_CHALLENGE } from '../../simulator/card.js';
import { isPaddedBase64 } from '../wire/decode.js';

// ---- callers --------------------------------------------------------------------------

export type CallerKind = 'rights' | 'forbidden' | 'anonymous' | 'garbage';

export interface CallerChoice {
  kind: CallerKind;
  /** Index into GARBAGE_CREDENTIALS (used when kind is `garbage`). */
  garbage: number;
}

/**
 * Made-up credentials no server can accept: an unknown bearer token, Basic for a made-up
 * user, a scheme without a token, a bare NTLM negotiate message, an unsigned JWT. Invented
 * here, so they are printed as they are (the real ones are always ${ENV} placeholders).
 */
export const GARBAGE_CREDENTIALS: readonly string[] = [
  'Bearer not-a-real-token',
  'Basic bm9ib2R5Om5vdGhpbmc=',
  'Bearer',
  'NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJoZWxwZGVzayJ9.',
];

/** Mostly the caller with rights, so lifecycle sequences get somewhere; the others often enough to test every step. */
export function callerArb(): fc.Arbitrary<CallerChoice> {
  return fc.oneof(
    { weight: 16, arbitrary: fc.constant<CallerChoice>({ kind: 'rights', garbage: 0 }) },
    { weight: 2, arbitrary: fc.constant<CallerChoice>({ kind: 'forbidden', garbage: 0 }) },
    { weight: 1, arbitrary: fc.constant<CallerChoice>({ kind: 'anonymous', garbage: 0 }) },
    { weight: 1, arbitrary: fc.nat({ max: GARBAGE_CREDENTIALS.length - 1 }).map<CallerChoice>((garbage) => ({ kind: 'garbage', garbage })) },
  );
}

export function describeCaller(c: CallerChoice): string {
  switch (c.kind) {
    case 'rights':
      return 'the caller with rights';
    case 'forbidden':
      return 'the forbidden caller';
    case 'anonymous':
      return 'an anonymous caller';
    case 'garbage':
      return `a caller with a made-up credential (${GARBAGE_CREDENTIALS[c.garbage] ?? '?'})`;
  }
}

// ---- challenges -----------------------------------------------------------------------

export const CHALLENGE_ENCODINGS = [
  'base64',
  'base64 with lower-case percent escapes',
  'base64url',
  'unpadded base64',
  'hex',
  'spaced hex',
  'not base64',
  'a broken percent escape',
  'empty',
  'missing',
] as const;
export type ChallengeEncoding = (typeof CHALLENGE_ENCODINGS)[number];

export interface ChallengeChoice {
  bytes: Uint8Array;
  encoding: ChallengeEncoding;
}

/** Card-sized challenges (8·k bytes, k = 1..8) most of the time; any length from 0 to 72 bytes otherwise. */
export function challengeArb(): fc.Arbitrary<ChallengeChoice> {
  const cardSized = fc.integer({ min: 1, max: MAX_CHALLENGE / 8 }).chain((k) => fc.uint8Array({ minLength: 8 * k, maxLength: 8 * k }));
  const anyLength = fc.uint8Array({ maxLength: MAX_CHALLENGE + 8 });
  const bytes = fc.oneof({ weight: 6, arbitrary: cardSized }, { weight: 2, arbitrary: anyLength });
  const encoding = fc.oneof(
    { weight: 12, arbitrary: fc.constant<ChallengeEncoding>('base64') },
    { weight: 1, arbitrary: fc.constantFrom<ChallengeEncoding>(...CHALLENGE_ENCODINGS.filter((e) => e !== 'base64')) },
  );
  return fc.record({ bytes, encoding });
}

/** The `challenge` query value as it goes on the wire (percent-encoded); undefined when the parameter is left out. */
export function challengeOnWire(c: ChallengeChoice): string | undefined {
  const b = Buffer.from(c.bytes);
  const b64 = b.toString('base64');
  switch (c.encoding) {
    case 'base64':
      return encodeURIComponent(b64);
    case 'base64 with lower-case percent escapes':
      return encodeURIComponent(b64).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
    case 'base64url':
      return b.toString('base64url');
    case 'unpadded base64':
      return encodeURIComponent(b64.replace(/=+$/, ''));
    case 'hex':
      return b.toString('hex').toUpperCase();
    case 'spaced hex':
      return (
        b
          .toString('hex')
          .toUpperCase()
          .match(/.{1,4}/g) ?? []
      ).join('%20');
    case 'not base64':
      return encodeURIComponent(`not*base64!${b.length}`);
    case 'a broken percent escape':
      return `${encodeURIComponent(b64.slice(0, 4))}%E0%A4%A`;
    case 'empty':
      return '';
    case 'missing':
      return undefined;
  }
}

export function describeChallenge(c: ChallengeChoice): string {
  if (c.encoding === 'missing') return 'no challenge';
  if (c.encoding === 'empty') return 'an empty challenge';
  return `a ${c.bytes.length}-byte challenge in ${c.encoding}`;
}

/**
 * How a correct server reads a challenge value: `valid` (standard padded base64 of a
 * length a card issues: the answer must be its cryptogram), `lenient` (base64url,
 * unpadded base64, or spaces where '+' belong, of such a length: unambiguous, so a server
 * may answer it, but then with the right cryptogram), `invalid` (nothing a card issues: the server should refuse
 * it), `missing`.
 */
export type ChallengeReading = { kind: 'valid' | 'lenient'; bytes: Buffer } | { kind: 'invalid'; why: string } | { kind: 'missing' };

export function readChallenge(wire: string | undefined): ChallengeReading {
  if (wire === undefined) return { kind: 'missing' };
  // What a server's query parser hands the application (URLSearchParams: %XX decoded, a bad escape kept as is).
  const given = new URLSearchParams(`c=${wire}`).get('c') ?? '';
  if (given === '') return { kind: 'invalid', why: 'it is empty' };
  // Base64 has no spaces: one can only be a '+' that form decoding turned into a space, and
  // a server may put it back (the reference server does). Then the text means what it says with '+'.
  const text = given.replace(/ /g, '+');
  let kind: 'valid' | 'lenient';
  if (isPaddedBase64(text)) kind = text === given ? 'valid' : 'lenient';
  else if ((/^[A-Za-z0-9+/]+$/.test(text) || /^[A-Za-z0-9_-]+={0,2}$/.test(text)) && text.replace(/=+$/, '').length % 4 !== 1) kind = 'lenient';
  else return { kind: 'invalid', why: 'it is not base64' };
  const bytes = Buffer.from(text, 'base64');
  const problem = challengeLengthProblem(bytes.length, 'its length in bytes');
  return problem ? { kind: 'invalid', why: problem } : { kind, bytes };
}

// ---- diversified, atr -----------------------------------------------------------------

/** Every spelling a server must accept (any case), then what it must refuse, then the parameter left out. */
export const DIVERSIFIED_VALUES: ReadonlyArray<string | undefined> = ['False', 'True', 'false', 'true', 'FALSE', 'tRUE', 'maybe', '0', '1', '', undefined];

export function diversifiedArb(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom<string | undefined>('False', 'True') },
    { weight: 2, arbitrary: fc.constantFrom<string | undefined>('false', 'true', 'FALSE', 'tRUE') },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>('maybe', '0', '1', '', undefined) },
  );
}

export type DiversifiedReading = boolean | 'invalid' | 'missing';

export function readDiversified(value: string | undefined): DiversifiedReading {
  if (value === undefined) return 'missing';
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : 'invalid';
}

/** No `atr` (the usual request), the card's own ATR when the config has one, or one that is not an ATR. */
export type AtrChoice = 'none' | 'card' | 'malformed';
export const MALFORMED_ATR = '3b8d01zz';

export function atrArb(): fc.Arbitrary<AtrChoice> {
  return fc.oneof({ weight: 8, arbitrary: fc.constant<AtrChoice>('none') }, { weight: 1, arbitrary: fc.constantFrom<AtrChoice>('card', 'malformed') });
}

// ---- ids ------------------------------------------------------------------------------

export const ID_KINDS = [
  'valid',
  'valid, upper case',
  'valid, in braces',
  'foreign card',
  'foreign cardid',
  'unknown reqid',
  'unknown scid',
  'unknown cardid',
  'malformed reqid',
  'malformed scid',
  'malformed cardid',
  'missing cardid',
] as const;
export type IdKind = (typeof ID_KINDS)[number];

/**
 * Which reqid/scid/cardid to send, symbolically: `pick` and `other` index the model's
 * objects, the most recently made or changed first (so they shrink towards what the
 * sequence just did, and removing an unrelated step does not move them), `fresh`
 * is a GUID no server knows, `malformed` a value that is no GUID.
 */
export interface IdsChoice {
  kind: IdKind;
  pick: number;
  other: number;
  fresh: string;
  malformed: string;
}

export const MALFORMED_IDS: readonly string[] = [
  'not-a-guid',
  '12345',
  'a9b4b42c-cc50-4c9b-89d1',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  "1' OR '1'='1",
  'null',
  '%00',
];

export function idsArb(): fc.Arbitrary<IdsChoice> {
  const kind = fc.oneof(
    { weight: 16, arbitrary: fc.constant<IdKind>('valid') },
    { weight: 3, arbitrary: fc.constant<IdKind>('foreign card') },
    { weight: 2, arbitrary: fc.constant<IdKind>('foreign cardid') },
    { weight: 1, arbitrary: fc.constantFrom<IdKind>(...ID_KINDS.filter((k) => !['valid', 'foreign card', 'foreign cardid'].includes(k))) },
  );
  return fc.record({ kind, pick: indexArb(), other: indexArb(), fresh: fc.uuid({ version: 4 }), malformed: fc.constantFrom(...MALFORMED_IDS) });
}

/** An index into a most-recently-touched-first list, taken modulo its length; small values are likelier and shrink to 0. */
export function indexArb(): fc.Arbitrary<number> {
  return fc.nat({ max: 31 });
}
