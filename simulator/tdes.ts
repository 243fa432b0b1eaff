import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { InputError } from './errors.js';

/** A Triple-DES admin key: 24 bytes (3-key) or 16 bytes (2-key, K1 K2 K1). */
export type AdminKey = Buffer;

export const BLOCK = 8;

/** The admin key lengths a card takes: 24 bytes (3-key 3DES) or 16 (2-key). */
export const ADMIN_KEY_LENGTHS: readonly number[] = [24, 16];

/**
 * Why `length` bytes cannot be an admin key, phrased to follow a name, or null. Single
 * DES (8 bytes) is refused, as OpenSSL 3 does.
 */
export function adminKeyLengthProblem(length: number): string | null {
  return ADMIN_KEY_LENGTHS.includes(length) ? null : `must be 24 bytes (3-key 3DES) or 16 bytes (2-key), got ${length} bytes`;
}

/** Checks the length of an admin key: throws InputError naming `what`. */
export function checkAdminKey(key: Uint8Array, what = 'admin key'): AdminKey {
  const problem = adminKeyLengthProblem(key.length);
  if (problem) throw new InputError(`${what} ${problem}`);
  return Buffer.from(key);
}

/** A 16-byte 2-key key written out as the equivalent 24-byte K1 K2 K1 key. */
export function expandKey(key: Uint8Array): Buffer {
  const k = checkAdminKey(key);
  return k.length === 24 ? k : Buffer.concat([k, k.subarray(0, 8)]);
}

function algorithm(key: Uint8Array): 'des-ede3' | 'des-ede' {
  return key.length === 24 ? 'des-ede3' : 'des-ede';
}

function checkBlocks(data: Uint8Array, what: string): void {
  if (data.length === 0 || data.length % BLOCK !== 0) {
    throw new InputError(`${what} must be one or more 8-byte blocks, got ${data.length} bytes`);
  }
}

/**
 * 3DES-EDE in ECB mode, no padding: the admin response to a challenge. ECB answers a
 * multi-block challenge block by block; for one block it equals CBC with a zero IV.
 */
export function tdesEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  checkAdminKey(key);
  checkBlocks(data, 'challenge');
  const c = createCipheriv(algorithm(key), key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * 3DES-ECB encryption with one kept cipher context (for a server answering many
 * challenges under one key). ECB carries no state from block to block, so whole blocks fed
 * to `update()` of a kept context (never `final()`) give exactly what tdesEncrypt gives,
 * without creating an OpenSSL context per call. Throws InputError on a bad key or data.
 */
export function ecbEncryptor(key: Uint8Array): (data: Uint8Array) => Buffer {
  checkAdminKey(key);
  const cipher = createCipheriv(algorithm(key), key, null);
  cipher.setAutoPadding(false);
  return (data) => {
    checkBlocks(data, 'challenge');
    return cipher.update(data);
  };
}

export function tdesDecrypt(key: Uint8Array, data: Uint8Array): Buffer {
  checkAdminKey(key);
  checkBlocks(data, 'data');
  const d = createDecipheriv(algorithm(key), key, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

/** 3DES-CBC, no padding (GIDS mutual authentication cryptograms). */
export function tdesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkAdminKey(key);
  checkBlocks(data, 'data');
  const c = createCipheriv(key.length === 24 ? 'des-ede3-cbc' : 'des-ede-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

export function tdesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkAdminKey(key);
  checkBlocks(data, 'data');
  const d = createDecipheriv(key.length === 24 ? 'des-ede3-cbc' : 'des-ede-cbc', key, iv);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

/** Key check value: the first 3 bytes of the key's encryption of 8 zero bytes. */
export function keyCheckValue(key: Uint8Array): Buffer {
  return tdesEncrypt(key, Buffer.alloc(BLOCK)).subarray(0, 3);
}

/** Constant-time equality; a length difference is not secret (lengths are public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Sets the low bit of each byte so every byte has odd parity, as DES keys should. */
export function withOddParity(key: Uint8Array): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i++) {
    const b = out[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v; v >>= 1) ones += v & 1;
    out[i] = ones % 2 === 0 ? b | 1 : b;
  }
  return out;
}

export function hasOddParity(key: Uint8Array): boolean {
  return withOddParity(key).equals(Buffer.from(key));
}

const WEAK_DES_KEYS = new Set([
  // weak
  '0101010101010101',
  'fefefefefefefefe',
  'e0e0e0e0f1f1f1f1',
  '1f1f1f1f0e0e0e0e',
  // semi-weak
  '011f011f010e010e',
  '1f011f010e010e01',
  '01e001e001f101f1',
  'e001e001f101f101',
  '01fe01fe01fe01fe',
  'fe01fe01fe01fe01',
  '1fe01fe00ef10ef1',
  'e01fe01ff10ef10e',
  '1ffe1ffe0efe0efe',
  'fe1ffe1ffe0efe0e',
  'e0fee0fef1fef1fe',
  'fee0fee0fef1fef1',
]);

/** True when an 8-byte DES key part (parity bits ignored) is weak or semi-weak. */
export function isWeakDesKey(part: Uint8Array): boolean {
  return WEAK_DES_KEYS.has(withOddParity(part).toString('hex'));
}
