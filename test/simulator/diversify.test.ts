import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isGoodThreeKey, sp800108Diversifier } from '../../simulator/diversify.js';
import { hasOddParity } from '../../simulator/tdes.js';

describe('SP 800-108 key diversification', () => {
  it('matches the documented construction, recomputed here from its definition', () => {
    const secret = Buffer.alloc(32, 0x11);
    const cardId = Buffer.from('bc88f13f83ba4037826246eba1291c6e', 'hex');
    const input = Buffer.concat([
      Buffer.from('00000001', 'hex'),
      Buffer.from('cmcard admin key v1'),
      Buffer.of(0),
      cardId,
      Buffer.of(0),
      Buffer.from('000000c0', 'hex'),
    ]);
    const raw = createHmac('sha256', secret).update(input).digest().subarray(0, 24);
    const key = sp800108Diversifier(secret).deriveKey(cardId);
    // Equal but for the parity bit of each byte.
    expect(Buffer.from(key.map((b) => b & 0xfe))).toEqual(Buffer.from(raw.map((b) => b & 0xfe)));
  });

  it('gives every card a distinct, odd-parity, true 3-key key', () => {
    const d = sp800108Diversifier(Buffer.alloc(32, 7));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (a, b) => {
        const ka = d.deriveKey(a);
        expect(ka).toHaveLength(24);
        expect(hasOddParity(ka)).toBe(true);
        expect(isGoodThreeKey(ka)).toBe(true);
        if (!Buffer.from(a).equals(Buffer.from(b))) expect(ka.equals(d.deriveKey(b))).toBe(false);
      }),
    );
  });

  it('depends on the secret', () => {
    const id = Buffer.alloc(16, 3);
    expect(sp800108Diversifier(Buffer.alloc(16, 1)).deriveKey(id)).not.toEqual(sp800108Diversifier(Buffer.alloc(16, 2)).deriveKey(id));
  });

  it('refuses short secrets and wrong cardid lengths', () => {
    expect(() => sp800108Diversifier(Buffer.alloc(8))).toThrow(/at least 16 bytes/);
    expect(() => sp800108Diversifier(Buffer.alloc(16)).deriveKey(Buffer.alloc(15))).toThrow(/16 bytes, got 15/);
  });

  it('rejects keys with equal parts', () => {
    expect(isGoodThreeKey(Buffer.from('0102030405060708'.repeat(3), 'hex'))).toBe(false);
  });
});
