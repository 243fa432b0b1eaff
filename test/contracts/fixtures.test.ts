import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, EXAMPLE_CARD, NON_WEAK, NON_WEAK_CARD, OTHER_CARD } from '../../contracts/fixtures.js';
import { base64Pattern } from '../../contracts/interactions.js';
import { callerOf, normalisePact, type PactDocument } from '../../contracts/pact-file.js';
import { hasOddParity, isWeakDesKey, tdesEncrypt } from '../../simulator/tdes.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('the values the pact pins', () => {
  // The fixtures copy docs/protocol.md#known-answer-vectors; this checks the copies against the cipher.
  it('agree with 3DES for every exact answer', () => {
    expect(tdesEncrypt(hex(EXAMPLE_CARD.adminKey), Buffer.from(EXAMPLE.challenge, 'base64')).toString('base64')).toBe(EXAMPLE.response);
    expect(tdesEncrypt(hex(EXAMPLE_CARD.diversifiedKey!), Buffer.from(EXAMPLE.challenge, 'base64')).toString('base64')).toBe(EXAMPLE.diversifiedResponse);
    expect(hex(EXAMPLE_CARD.diversifiedKey!).toString('base64')).toBe(EXAMPLE.diversifiedKey);
    expect(tdesEncrypt(hex(NON_WEAK_CARD.adminKey), hex(NON_WEAK.challengeHex)).toString('hex')).toBe(NON_WEAK.responseHex);
    expect(hex(NON_WEAK.challengeHex).toString('base64')).toBe(NON_WEAK.challenge);
    expect(hex(NON_WEAK.responseHex).toString('base64')).toBe(NON_WEAK.response);
  });

  it('use true 3-key keys with DES odd parity for the invented cards', () => {
    for (const key of [NON_WEAK_CARD.diversifiedKey!, OTHER_CARD.adminKey]) {
      const bytes = hex(key);
      expect(bytes).toHaveLength(24);
      expect(hasOddParity(bytes)).toBe(true);
      const parts = [bytes.subarray(0, 8), bytes.subarray(8, 16), bytes.subarray(16)];
      expect(new Set(parts.map((p) => p.toString('hex'))).size).toBe(3);
      for (const p of parts) expect(isWeakDesKey(p)).toBe(false);
    }
  });
});

describe('base64Pattern', () => {
  it('accepts standard base64 of exactly n bytes and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.uint8Array({ minLength: 0, maxLength: 41 }), (n, bytes) => {
        const re = new RegExp(base64Pattern(n));
        const b64 = Buffer.from(bytes).toString('base64');
        expect(re.test(b64)).toBe(bytes.length === n);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects URL-safe, unpadded and non-canonical encodings of 8 bytes', () => {
    const re = new RegExp(base64Pattern(8));
    expect(re.test('F0Zudm4wPLY=')).toBe(true);
    expect(re.test('F0Zudm4wPLY')).toBe(false);
    expect(re.test('F0Zudm4w-_Y=')).toBe(false);
    expect(re.test('F0Zudm4wPLZ=')).toBe(false); // trailing bits set: not what an encoder writes
  });
});

describe('pact-file helpers', () => {
  const doc = (descriptions: string[], version = '16.5.0'): PactDocument => ({
    consumer: { name: 'cmcard' },
    provider: { name: 'mim-cm' },
    interactions: descriptions.map((d) => ({ description: d, request: { method: 'GET', path: `/${d}` }, response: { status: 200 } })),
    metadata: { 'pact-js': { version }, pactSpecification: { version: '4.0' } },
  });

  it('normalises away interaction order and library versions, but not content', () => {
    expect(normalisePact(doc(['b', 'a']))).toBe(normalisePact(doc(['a', 'b'], '99.0.0')));
    expect(normalisePact(doc(['a', 'b']))).not.toBe(normalisePact(doc(['a', 'c'])));
  });

  it('tells the caller from the Authorization example', () => {
    const i = (headers?: Record<string, string[]>) => ({
      description: 'x',
      request: { method: 'GET', path: '/', ...(headers ? { headers } : {}) },
      response: { status: 200 },
    });
    expect(callerOf(i({ Authorization: ['Bearer demo-helpdesk'] }))).toBe('helpdesk');
    expect(callerOf(i({ authorization: ['Bearer demo-user'] }))).toBe('noRights');
    expect(callerOf(i())).toBe('anonymous');
  });
});
