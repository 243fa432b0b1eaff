import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../simulator/errors.js';
import { atrProblem, formatSw, parseAtr, parseCommandApdu, swTriesLeft, SW } from '../../simulator/iso7816.js';
import { canonicalGuid, challengeLengthProblem, MAX_CHALLENGE, parseAdminKey, readAdminKey, readAtr, readGuid } from '../../simulator/validate.js';

// Known answers from outside the project:
// - ATRs of real cards as published in pcsc-tools' smartcard_list.txt (Ludovic Rousseau);
// - the GUID of RFC 4122 section 3 (its URN example);
// - the documented MIM diversified-key example, given by Microsoft both as base64 (the
//   diversifiedkey answer) and as hex.
const ATRS_OF_REAL_CARDS: Array<[string, string]> = [
  ['Microsoft Virtual Smart Card (shared through VMware)', '3B 8D 01 80 FB A0 00 00 03 97 42 54 46 59 04 01 CF'],
  ['Yubico YubiKey 5 NFC', '3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 40'],
  ['Yubikey Neo', '3B 8C 80 01 59 75 62 69 6B 65 79 4E 45 4F 72 33 58'],
  ['Schlumberger Multiflex 3k (T=0 only: no TCK)', '3B 02 14 50'],
  ['Gemalto IDPrime .NET (TA1, T=0 only: no TCK)', '3B 16 96 41 73 74 72 69 64'],
];
const RFC4122_GUID = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
const DOC_DIVERSIFIED_B64 = 'mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI';
const DOC_DIVERSIFIED_HEX = '981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('ATRs (ISO 7816-3): structure and TCK', () => {
  it.each(ATRS_OF_REAL_CARDS)('takes the published ATR of %s', (_name, atr) => {
    expect(atrProblem(hex(atr))).toBeNull();
    expect(readAtr(atr)).toEqual({ ok: true, value: atr.replace(/ /g, '').toLowerCase() });
  });

  it("refuses the list's virtual smart card entry printed without its TCK, and a wrong TCK", () => {
    // The T=1 indication in TD1 requires a TCK: 17 bytes, not 16.
    expect(readAtr('3B 8D 01 80 FB A0 00 00 03 97 42 54 46 59 04 01')).toEqual({ ok: false, problem: 'should be 17 bytes by its T0 and TD bytes, got 16' });
    expect(readAtr('3B 8D 01 80 FB A0 00 00 03 97 42 54 46 59 04 01 CE')).toEqual({ ok: false, problem: 'has a wrong TCK byte CE (expected CF)' });
  });

  it('refuses text that is not hex, or not an ATR, saying which', () => {
    expect(readAtr('3b8z')).toMatchObject({ ok: false, problem: 'is not hex: character 4 of 4 is not a hex digit' });
    expect(readAtr('3b8')).toMatchObject({ ok: false, problem: 'has an odd number of hex digits (3)' });
    expect(readAtr('')).toMatchObject({ ok: false, problem: 'is empty' });
    expect(readAtr('3c00')).toMatchObject({ ok: false, problem: 'must start with TS 3B or 3F, got 3C' });
    expect(readAtr(`3b${'00'.repeat(33)}`)).toMatchObject({ ok: false, problem: 'must be 2 to 33 bytes, got 34' });
  });

  it('parseAtr throws an InputError naming the value', () => {
    expect(() => parseAtr('3b8d0180fba000000397425446590401ce', 'card.atr')).toThrow(new InputError('card.atr has a wrong TCK byte CE (expected CF)'));
  });
});

describe('GUIDs', () => {
  it('reads the RFC 4122 example in every form Windows and people write it, to one canonical form', () => {
    for (const text of [RFC4122_GUID, RFC4122_GUID.toUpperCase(), `{${RFC4122_GUID.toUpperCase()}}`, ` ${RFC4122_GUID} `]) {
      expect(readGuid(text), text).toEqual({ ok: true, value: RFC4122_GUID });
    }
  });

  it('refuses near misses with one wording, the text shown shortened', () => {
    for (const text of [`{${RFC4122_GUID}`, RFC4122_GUID.replace(/-/g, ''), RFC4122_GUID.slice(1), `${RFC4122_GUID.slice(0, -1)}g`, '']) {
      expect(readGuid(text), text).toEqual({ ok: false, problem: `is not a GUID like a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099, got ${JSON.stringify(text)}` });
    }
    expect(canonicalGuid('x'.repeat(100))).toBeNull();
    const long = readGuid('x'.repeat(100));
    expect(!long.ok && long.problem.length).toBeLessThan(110);
  });

  it("agrees with fast-check's UUIDs in any case, with or without braces", () => {
    fc.assert(
      fc.property(fc.uuid(), fc.boolean(), fc.boolean(), (u, upper, braces) => {
        const text = upper ? u.toUpperCase() : u;
        expect(canonicalGuid(braces ? `{${text}}` : text)).toBe(u.toLowerCase());
      }),
      { numRuns: 200 },
    );
  });
});

describe('admin keys: hex or base64, and which reading was used', () => {
  it('reads the documented diversified key as base64 and as hex to the same bytes', () => {
    expect(readAdminKey(DOC_DIVERSIFIED_B64)).toEqual({ ok: true, value: { key: hex(DOC_DIVERSIFIED_HEX), reading: 'base64' } });
    expect(readAdminKey(DOC_DIVERSIFIED_HEX)).toEqual({ ok: true, value: { key: hex(DOC_DIVERSIFIED_HEX), reading: 'hex' } });
    expect(readAdminKey(DOC_DIVERSIFIED_HEX.toUpperCase().replace(/(..)(?=.)/g, '$1:'))).toMatchObject({ ok: true, value: { reading: 'hex' } });
    const urlSafe = DOC_DIVERSIFIED_B64.replace(/\+/g, '-').replace(/\//g, '_');
    expect(readAdminKey(urlSafe)).toMatchObject({ ok: true, value: { key: hex(DOC_DIVERSIFIED_HEX), reading: 'base64' } });
  });

  it('takes 32 hex digits and base64 of 16 bytes (2-key 3DES)', () => {
    const twoKey = '0102030405060708'.repeat(2);
    expect(readAdminKey(twoKey)).toMatchObject({ ok: true, value: { reading: 'hex' } });
    expect(readAdminKey(hex(twoKey).toString('base64'))).toMatchObject({ ok: true, value: { key: hex(twoKey), reading: 'base64' } });
    expect(readAdminKey(hex(twoKey).toString('base64').replace(/=+$/, ''))).toMatchObject({ ok: true, value: { reading: 'base64' } });
  });

  it('a key one hex digit short is reported in hex digits, never read as base64', () => {
    expect(readAdminKey(DOC_DIVERSIFIED_HEX.slice(1))).toEqual({
      ok: false,
      problem: 'must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 47 hex digits',
    });
    // 31 digits used to be read as base64 of 23 bytes.
    expect(readAdminKey(DOC_DIVERSIFIED_HEX.slice(17))).toEqual({
      ok: false,
      problem: 'must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 31 hex digits',
    });
    expect(() => parseAdminKey(DOC_DIVERSIFIED_HEX.slice(1), '--admin-key')).toThrow(
      new InputError('--admin-key must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 47 hex digits'),
    );
  });

  it('a text neither reading fits says how each went, and never echoes the key', () => {
    const typo = `${DOC_DIVERSIFIED_HEX.slice(0, 30)}g${DOC_DIVERSIFIED_HEX.slice(31)}`;
    const r = readAdminKey(typo);
    expect(r).toEqual({
      ok: false,
      problem:
        'is not hex: character 31 of 48 is not a hex digit, and read as base64 it is 36 bytes; it must be 48 or 32 hex digits (or base64 of 24 or 16 bytes)',
    });
    const bang = readAdminKey(`${DOC_DIVERSIFIED_HEX.slice(0, 30)}!${DOC_DIVERSIFIED_HEX.slice(31)}`);
    expect(bang).toEqual({
      ok: false,
      problem: 'is neither hex nor base64: character 31 of 48 is not a base64 character; it must be 48 or 32 hex digits (or base64 of 24 or 16 bytes)',
    });
    expect(readAdminKey(`${DOC_DIVERSIFIED_B64}AAAA`)).toMatchObject({ ok: false, problem: expect.stringMatching(/read as base64 it is 27 bytes/) });
    for (const x of [r, bang]) if (!x.ok) for (let at = 0; at + 8 <= 48; at += 4) expect(x.problem).not.toContain(DOC_DIVERSIFIED_HEX.slice(at, at + 8));
  });

  it('hex: and b64: force a reading; hexOnly refuses base64', () => {
    expect(readAdminKey(`b64:${DOC_DIVERSIFIED_B64}`)).toMatchObject({ ok: true, value: { reading: 'base64' } });
    expect(readAdminKey(`HEX:${DOC_DIVERSIFIED_HEX}`)).toMatchObject({ ok: true, value: { reading: 'hex' } });
    expect(readAdminKey(`b64:${'AAAA'}`)).toEqual({ ok: false, problem: 'must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got base64 of 3 bytes' });
    expect(readAdminKey(DOC_DIVERSIFIED_B64, { hexOnly: true })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^is not hex: .*; it must be 48 or 32 hex digits$/),
    });
    expect(readAdminKey('0102', { hexOnly: true })).toEqual({ ok: false, problem: 'must be 48 or 32 hex digits, got 4 hex digits' });
    expect(readAdminKey('   ')).toMatchObject({ ok: false, problem: expect.stringMatching(/^is empty/) });
  });

  it('every 24- or 16-byte key round-trips through hex and base64 (standard and URL-safe)', () => {
    const key = fc.oneof(fc.uint8Array({ minLength: 24, maxLength: 24 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    fc.assert(
      fc.property(key, (k) => {
        const b = Buffer.from(k);
        expect(parseAdminKey(b.toString('hex'))).toEqual(b);
        expect(
          parseAdminKey(
            b
              .toString('hex')
              .toUpperCase()
              .replace(/(..)(?=.)/g, '$1 '),
          ),
        ).toEqual(b);
        expect(parseAdminKey(`b64:${b.toString('base64')}`)).toEqual(b);
        expect(parseAdminKey(`b64:${b.toString('base64url')}`)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
});

describe('challenge lengths: what a card hands out', () => {
  it('multiples of 8 from 8 to MAX_CHALLENGE', () => {
    for (let n = 8; n <= MAX_CHALLENGE; n += 8) expect(challengeLengthProblem(n)).toBeNull();
    for (const n of [0, 7, 9, MAX_CHALLENGE + 8, 8.5, -8])
      expect(challengeLengthProblem(n, '--length')).toBe(`--length must be a multiple of 8 from 8 to ${MAX_CHALLENGE}, got ${n}`);
  });
});

describe('status words and APDUs (ISO 7816-4)', () => {
  it('names the status words by their ISO values', () => {
    expect([SW.OK, SW.SECURITY_STATUS_NOT_SATISFIED, SW.AUTH_METHOD_BLOCKED, SW.CONDITIONS_NOT_SATISFIED, SW.WRONG_LENGTH].map(formatSw)).toEqual([
      '9000',
      '6982',
      '6983',
      '6985',
      '6700',
    ]);
    expect([5, 0, 15, 99].map((n) => formatSw(swTriesLeft(n)))).toEqual(['63C5', '63C0', '63CF', '63CF']);
  });

  it('parses the four command cases', () => {
    expect(parseCommandApdu(hex('00a4040c09a00000039742544659'))).toMatchObject({ ins: 0xa4, le: null, data: hex('a00000039742544659') });
    expect(parseCommandApdu(hex('0084000000'))).toMatchObject({ ins: 0x84, le: 256 });
    expect(parseCommandApdu(hex('008400'))).toBeNull();
  });
});
