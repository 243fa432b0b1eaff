import { createCipheriv, type Cipher } from 'node:crypto';
import { BLOCK, checkAdminKey } from '../simulator/tdes.js';

/**
 * 3DES-ECB encryption with one cipher context per key, kept and reused. ECB carries no
 * state from one block to the next, so feeding whole blocks to `update()` of a kept
 * context (never calling `final()`) gives exactly what a fresh context would; it saves
 * creating an OpenSSL context per request, the largest single cost of the seed endpoint.
 * The result equals `tdesEncrypt` of simulator/tdes.ts (tested against it).
 */
const contexts = new Map<string, Cipher>();
const MAX_CONTEXTS = 1024;

export function ecbEncrypt(key: Buffer, data: Buffer): Buffer {
  if (data.length === 0 || data.length % BLOCK !== 0) throw new Error(`ecbEncrypt needs whole 8-byte blocks, got ${data.length} bytes`);
  const id = key.toString('latin1');
  let context = contexts.get(id);
  if (!context) {
    checkAdminKey(key);
    context = createCipheriv(key.length === 24 ? 'des-ede3' : 'des-ede', key, null);
    context.setAutoPadding(false);
    if (contexts.size >= MAX_CONTEXTS) contexts.clear();
    contexts.set(id, context);
  }
  return context.update(data);
}
