import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adminResponse } from '../../reference-server/keys.js';
import { InputError } from '../../simulator/errors.js';
import { tdesEncrypt } from '../../simulator/tdes.js';

describe('admin responses under kept cipher contexts', () => {
  it('equal a fresh 3DES-ECB encryption, for any keys and challenges in any order', () => {
    const keys = fc.oneof(fc.uint8Array({ minLength: 24, maxLength: 24 }), fc.uint8Array({ minLength: 16, maxLength: 16 })).map((k) => Buffer.from(k));
    const challenge = fc
      .integer({ min: 1, max: 8 })
      .chain((blocks) => fc.uint8Array({ minLength: blocks * 8, maxLength: blocks * 8 }))
      .map((c) => Buffer.from(c));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), challenge), { minLength: 1, maxLength: 12 }),
        fc.array(keys, { minLength: 4, maxLength: 4 }),
        (calls, keyList) => {
          for (const [k, c] of calls) expect(adminResponse(keyList[k]!, c).toString('hex')).toBe(tdesEncrypt(keyList[k]!, c).toString('hex'));
        },
      ),
      { numRuns: 200, seed: 3 },
    );
  });

  it('keep the known answers when one context is used again and again (docs/protocol.md#known-answer-vectors)', () => {
    const zero = Buffer.alloc(24);
    const tpm = Buffer.from('0102030405060708'.repeat(3), 'hex');
    for (let i = 0; i < 3; i++) {
      expect(adminResponse(zero, Buffer.from('d61143f9ccffd2ca', 'hex')).toString('hex')).toBe('17466e766e303cb6');
      expect(adminResponse(tpm, Buffer.from('1603ebdf1c8a2e72', 'hex')).toString('hex')).toBe('f940671512cd0dff');
      expect(adminResponse(zero, Buffer.from('a892d75601617c5d', 'hex')).toString('hex')).toBe('1951ec3ef81bbabb');
    }
  });

  it('refuse partial blocks and bad key lengths with the simulator input errors, not plain ones', () => {
    expect(() => adminResponse(Buffer.alloc(24), Buffer.alloc(7))).toThrow(InputError);
    expect(() => adminResponse(Buffer.alloc(24), Buffer.alloc(7))).toThrow(/8-byte blocks/);
    expect(() => adminResponse(Buffer.alloc(8), Buffer.alloc(8))).toThrow(InputError);
    expect(() => adminResponse(Buffer.alloc(8), Buffer.alloc(8))).toThrow(/24 bytes/);
  });
});
