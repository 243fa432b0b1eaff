import { createHmac } from 'node:crypto';
import { InputError } from './errors.js';
import { isWeakDesKey, withOddParity } from './tdes.js';

/**
 * Derives a card's own admin key from its identity. MIM CM does not publish its
 * derivation, so anything that needs per-card keys (the card, the reference server)
 * goes through this interface and can plug in another one.
 */
export interface KeyDiversifier {
  /** A short name for logs and card files, e.g. `sp800-108-hmac-sha256`. */
  readonly name: string;
  /** The 24-byte 3-key 3DES admin key for the card with this 16-byte cardid. */
  deriveKey(cardId: Uint8Array): Buffer;
}

export const DEFAULT_LABEL = 'cmcard admin key v1';

/**
 * The documented default: NIST SP 800-108 KDF in counter mode with HMAC-SHA256.
 *
 *   block = HMAC-SHA256(secret, [1]_32 || label || 0x00 || cardid(16) || [n]_8 || [192]_32)
 *   key   = odd-parity(block[0..24))
 *
 * n starts at 0 and is raised (up to 255) while the three 8-byte parts of the key are
 * not pairwise distinct or one is a DES weak or semi-weak key, so every derived key is
 * a true 3-key key. The cardid is the GUID's 16 bytes in the order its text shows them.
 */
export function sp800108Diversifier(masterSecret: Uint8Array, label = DEFAULT_LABEL): KeyDiversifier {
  if (masterSecret.length < 16) throw new InputError(`diversification secret must be at least 16 bytes, got ${masterSecret.length}`);
  const secret = Buffer.from(masterSecret);
  const labelBytes = Buffer.from(label, 'utf8');
  return {
    name: 'sp800-108-hmac-sha256',
    deriveKey(cardId: Uint8Array): Buffer {
      if (cardId.length !== 16) throw new InputError(`cardid must be 16 bytes, got ${cardId.length}`);
      for (let n = 0; n < 256; n++) {
        const input = Buffer.concat([u32(1), labelBytes, Buffer.of(0), Buffer.from(cardId), Buffer.of(n), u32(192)]);
        const key = withOddParity(createHmac('sha256', secret).update(input).digest().subarray(0, 24));
        if (isGoodThreeKey(key)) return key;
      }
      // 256 rejections in a row has probability far below 2^-1000: a broken HMAC, not bad luck.
      throw new Error('key diversification produced no usable key');
    },
  };
}

/** True when a 24-byte key has three distinct, non-weak 8-byte parts. */
export function isGoodThreeKey(key: Uint8Array): boolean {
  if (key.length !== 24) return false;
  const parts = [0, 8, 16].map((o) => Buffer.from(key.subarray(o, o + 8)));
  const [a, b, c] = parts as [Buffer, Buffer, Buffer];
  if (a.equals(b) || b.equals(c) || a.equals(c)) return false;
  return !parts.some(isWeakDesKey);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
