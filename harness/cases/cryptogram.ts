/**
 * Judging one server response with a virtual card, and saying why it is wrong in terms a
 * server author can act on (decrypted instead of encrypted, wrong key, hex not base64...).
 */
import type { CardResult, VirtualCard } from '../../simulator/card.js';
import { tdesDecrypt, tdesEncrypt } from '../../simulator/tdes.js';
import { CmFormatError, decodeBase64Body } from '../wire/decode.js';
import { type CmResponse } from '../wire/cm-client.js';
import { oneLine } from '../one-line.js';

export interface OtherKey {
  /** e.g. "the card's diversified key" */
  label: string;
  key: Buffer;
}

/**
 * Returns null when the card accepts the response to its pending `challenge`, else one
 * line saying what is wrong. The card consumes its challenge either way. `present` is
 * what the card is asked to do with the response: admin authentication by default, or
 * e.g. `(r) => card.unblockPin(r, pin)` for an unblock.
 */
export function judgeResponse(
  card: VirtualCard, expectedKey: Buffer, challenge: Buffer, res: CmResponse, others: OtherKey[] = [],
  present: (response: Buffer) => CardResult = (response) => card.authenticateAdmin(response),
): string | null {
  if (res.status !== 200) return `answered ${res.status}${bodySnippet(res.body)}`;
  let bytes: Buffer;
  try {
    bytes = decodeBase64Body(res);
  } catch (err) {
    if (err instanceof CmFormatError) return err.message;
    throw err;
  }
  if (bytes.length !== challenge.length) return `the response has ${bytes.length} bytes for a ${challenge.length}-byte challenge`;
  const verdict = present(bytes);
  if (verdict.ok) return null;
  return `the card refused the response: ${diagnose(bytes, expectedKey, challenge, others)}`;
}

/** Why a cryptogram of the right length is wrong, when a known mistake explains it. */
export function diagnose(bytes: Buffer, expectedKey: Buffer, challenge: Buffer, others: OtherKey[] = []): string {
  if (bytes.equals(tdesDecrypt(expectedKey, challenge))) return 'it is the 3DES *decryption* of the challenge, not the encryption';
  for (const o of others) {
    if (bytes.equals(tdesEncrypt(o.key, challenge))) return `it was computed with ${o.label}`;
  }
  if (challenge.length > 8) {
    const first = tdesEncrypt(expectedKey, challenge.subarray(0, 8));
    if (bytes.subarray(0, 8).equals(first)) return 'the first block is right but a later one is not (CBC chaining instead of ECB?)';
  }
  if (bytes.equals(challenge)) return 'it echoes the challenge';
  return 'wrong cryptogram (not 3DES-ECB of the challenge under the expected key)';
}

/** True when encryption and decryption coincide under the key (e.g. the all-zero weak key). */
export function isSelfInverse(key: Buffer): boolean {
  const probe = Buffer.from('a892d75601617c5d', 'hex');
  return tdesEncrypt(key, probe).equals(tdesDecrypt(key, probe));
}

/** `: "the body"` (one line, quoted, short) or ` with an empty body`, to append to a status. */
export function bodySnippet(body: string): string {
  if (body.length === 0) return ' with an empty body';
  return `: ${JSON.stringify(oneLine(body, 80))}`;
}
