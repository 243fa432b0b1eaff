import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Body, decodeCryptogram, readBase64String, readDiversifiedKey } from '../../../harness/wire/decode.js';

/** What the thorough reading says about a cryptogram of `length` bytes. */
function thorough(body: string, length: number): Buffer | null {
  const read = readBase64String(body);
  return read.ok && read.value.length === length ? read.value : null;
}

/** Bodies near the legal shape: quoted base64 with whitespace, escapes, wrong padding or alphabet. */
const nearCryptogram = fc
  .tuple(
    fc.uint8Array({ minLength: 0, maxLength: 24 }),
    fc.constantFrom('', ' ', '\n', '\t', '\ufeff'),
    fc.constantFrom('plain', 'escaped', 'url', 'unpadded', 'unquoted'),
  )
  .map(([bytes, space, style]) => {
    const b64 = Buffer.from(bytes).toString('base64');
    const text =
      style === 'escaped'
        ? `"${[...b64].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
        : style === 'url'
          ? `"${Buffer.from(bytes).toString('base64url')}"`
          : style === 'unpadded'
            ? `"${b64.replace(/=+$/, '')}"`
            : style === 'unquoted'
              ? b64
              : `"${b64}"`;
    return `${space}${text}${space}`;
  });

describe('one decoder per kind of answer', () => {
  it('the fast cryptogram path agrees with the thorough reading on any body (property)', () => {
    fc.assert(
      fc.property(fc.oneof(nearCryptogram, fc.string(), fc.json()), fc.constantFrom(8, 16, 24), (body, length) => {
        const fast = decodeCryptogram(body, length);
        const slow = thorough(body, length);
        expect(fast === null ? null : fast.toString('hex')).toBe(slow === null ? null : slow.toString('hex'));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the documented response (Microsoft example: "F0Zudm4wPLY=")', () => {
    expect(decodeCryptogram('"F0Zudm4wPLY="', 8)?.toString('hex')).toBe('17466e766e303cb6');
    expect(decodeBase64Body({ status: 200, body: '"F0Zudm4wPLY="' }).toString('hex')).toBe('17466e766e303cb6');
    // Valid JSON spellings of the same string are the same answer.
    expect(decodeCryptogram('"\\u0046\\u0030Zudm4wPLY="', 8)?.toString('hex')).toBe('17466e766e303cb6');
    expect(decodeCryptogram(' "F0Zudm4wPLY="\n', 8)?.toString('hex')).toBe('17466e766e303cb6');
  });

  it('names what is wrong with a body that is not a JSON base64 string', () => {
    expect(readBase64String('F0Zudm4wPLY=')).toMatchObject({ ok: false, problem: expect.stringMatching(/not JSON/) });
    expect(readBase64String('"F0Zudm4wPLY"')).toMatchObject({ ok: false, problem: expect.stringMatching(/not standard padded base64/) });
    expect(readBase64String('{"r":"F0Zudm4wPLY="}')).toMatchObject({ ok: false, problem: expect.stringMatching(/not a string \(object\)/) });
  });

  it('never quotes a diversifiedkey body, whatever is wrong with it', () => {
    const key = Buffer.alloc(24, 0x5a).toString('base64');
    for (const res of [
      { status: 201, body: `"${key}"` },
      { status: 200, body: key },
      { status: 200, body: `"${key.slice(4)}"` },
    ]) {
      const read = readDiversifiedKey(res);
      expect(read.key).toBeUndefined();
      expect(read.reason).not.toContain(key.slice(4, 20));
    }
    expect(readDiversifiedKey({ status: 200, body: `"${key}"` }).key?.equals(Buffer.alloc(24, 0x5a))).toBe(true);
  });
});
