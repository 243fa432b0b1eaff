/**
 * Judging one server response with a virtual card, and saying why it is wrong in terms a
 * server author can act on: the challenge, the response expected and the one received,
 * and which known key or transform reproduces what the server sent (decryption, the other
 * key, another card's key, 2-key or single DES, CBC, byte order) or, when none does, the
 * key check value of the key the config expects, to compare with the server's template
 * without printing a key.
 */
import type { CardResult, VirtualCard } from '../../simulator/card.js';
import { toBase64, toHex } from '../../simulator/bytes.js';
import { keyCheckValue, tdesCbcEncrypt, tdesDecrypt, tdesEncrypt } from '../../simulator/tdes.js';
import { isPaddedBase64 } from '../wire/decode.js';
import { type CmResponse } from '../wire/cm-client.js';
import { NAME_ONLY, type Redactor } from '../redact.js';
import { quoteBody, visible } from '../show-body.js';

export interface OtherKey {
  /** e.g. "the card's diversified key" */
  label: string;
  key: Buffer;
}

/** What is wrong with an answer: the one-line problem, and its cause in words that do not depend on the challenge (for grouping failures by cause). */
export interface Judgement {
  problem: string;
  cause: string;
}

/**
 * Returns null when the card accepts the response to its pending `challenge`, else what
 * is wrong. The card consumes its challenge either way. Bodies are quoted through
 * `redactor` (masked, then cut). `present` is what the card is asked to do with the
 * response: admin authentication by default, or `(r) => card.unblockPin(r, pin)` for an unblock.
 */
export function judge(
  card: VirtualCard,
  expectedKey: Buffer,
  challenge: Buffer,
  res: CmResponse,
  others: OtherKey[] = [],
  redactor: Redactor = NAME_ONLY,
  present: (response: Buffer) => CardResult = (response) => card.authenticateAdmin(response),
): Judgement | null {
  if (res.status !== 200) return { problem: `answered ${res.status}${bodySnippet(res.body, redactor)}`, cause: `answered ${res.status}` };
  const read = readCryptogram(res.body, redactor);
  if (!read.ok) return read;
  const bytes = read.bytes;
  if (bytes.length !== challenge.length) {
    return {
      problem: `the response has ${bytes.length} bytes for a ${challenge.length}-byte challenge`,
      cause: 'the response has the wrong length for the challenge',
    };
  }
  const verdict = present(bytes);
  if (verdict.ok) return null;
  const cause = diagnose(bytes, expectedKey, challenge, others);
  return {
    problem: `the card refused the response to challenge ${toBase64(challenge)} (hex ${toHex(challenge).toUpperCase()}): expected ${visible(toBase64(tdesEncrypt(expectedKey, challenge)))}, received ${visible(toBase64(bytes))}: ${cause}`,
    cause,
  };
}

/** judge(), as one line or null (the unlock flow and older callers). */
export function judgeResponse(
  card: VirtualCard,
  expectedKey: Buffer,
  challenge: Buffer,
  res: CmResponse,
  others: OtherKey[] = [],
  redactor: Redactor = NAME_ONLY,
): string | null {
  return judge(card, expectedKey, challenge, res, others, redactor)?.problem ?? null;
}

/** The bytes of a 200 body that must be a JSON string of padded base64; otherwise what is wrong, with a cause that names the shape. */
function readCryptogram(body: string, redactor: Redactor): { ok: true; bytes: Buffer } | { ok: false; problem: string; cause: string } {
  const shown = bodySnippet(body, redactor);
  if (body.length === 0) return { ok: false, problem: 'answered 200 with an empty body', cause: 'the 200 body is empty' };
  if (body.charCodeAt(0) === 0xfeff)
    return { ok: false, problem: `the body starts with a byte order mark (U+FEFF)${shown}`, cause: 'the body starts with a byte order mark (U+FEFF)' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    if (isPaddedBase64(body.trim())) {
      return {
        ok: false,
        problem: `body is not JSON${shown}: the JSON string quotes are missing`,
        cause: 'the body is bare base64, without the JSON string quotes',
      };
    }
    return { ok: false, problem: `body is not JSON${shown}`, cause: 'the body is not JSON' };
  }
  if (typeof value !== 'string') {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
    return { ok: false, problem: `body is JSON but not a string (${kind})${shown}`, cause: `the body is JSON ${kind}, not a string` };
  }
  if (value.length === 0) return { ok: false, problem: 'body is an empty JSON string', cause: 'the body is an empty JSON string' };
  if (!isPaddedBase64(value)) {
    if (/^[0-9a-fA-F]+$/.test(value) && value.length % 16 === 0)
      return { ok: false, problem: `body is a JSON string of hex, not base64${shown}`, cause: 'the body holds hex, not base64' };
    return {
      ok: false,
      problem: `body is a JSON string but not standard padded base64${shown}`,
      cause: 'the body is a JSON string but not standard padded base64',
    };
  }
  return { ok: true, bytes: Buffer.from(value, 'base64') };
}

/** A transform a server might have applied instead of 3DES-ECB under the expected key. */
interface Candidate {
  says: string;
  make: () => Buffer | null;
}

/** Why a cryptogram of the right length is wrong: the known key or transform that reproduces it, else the expected key's KCV. */
export function diagnose(bytes: Buffer, expectedKey: Buffer, challenge: Buffer, others: OtherKey[] = []): string {
  const reversed = (b: Buffer): Buffer => Buffer.from(b).reverse();
  const k1 = expectedKey.subarray(0, 8);
  const k2 = expectedKey.subarray(8, 16);
  const k3 = expectedKey.length === 24 ? expectedKey.subarray(16, 24) : k1;
  const candidates: Candidate[] = [
    { says: 'it is the 3DES *decryption* of the challenge under the expected key, not the encryption', make: () => tdesDecrypt(expectedKey, challenge) },
    ...others.flatMap((o): Candidate[] => [
      { says: `it was computed with ${o.label}`, make: () => tdesEncrypt(o.key, challenge) },
      { says: `it is the 3DES decryption of the challenge under ${o.label}`, make: () => tdesDecrypt(o.key, challenge) },
    ]),
    {
      says: 'it was computed with the expected key read as 2-key 3DES (its first 16 bytes, K3 = K1)',
      make: () => (expectedKey.length === 24 ? tdesEncrypt(Buffer.concat([k1, k2]), challenge) : null),
    },
    { says: "it is single DES under the expected key's first 8 bytes (K1 = K2 = K3)", make: () => tdesEncrypt(Buffer.concat([k1, k1, k1]), challenge) },
    {
      says: "it was computed with the expected key's 8-byte parts in reverse order (K3 K2 K1)",
      make: () => tdesEncrypt(Buffer.concat([k3, k2, k1]), challenge),
    },
    { says: "it was computed with the expected key's bytes in reverse order", make: () => tdesEncrypt(reversed(expectedKey), challenge) },
    { says: 'it is the right response with its bytes in reverse order', make: () => reversed(tdesEncrypt(expectedKey, challenge)) },
    { says: "it is the response to the challenge's bytes in reverse order", make: () => tdesEncrypt(expectedKey, reversed(challenge)) },
    {
      says: 'it is 3DES-CBC (zero IV) of the challenge: CBC chaining instead of ECB',
      make: () => (challenge.length > 8 ? tdesCbcEncrypt(expectedKey, Buffer.alloc(8), challenge) : null),
    },
    { says: 'it echoes the challenge', make: () => challenge },
  ];
  for (const c of candidates) {
    const made = c.make();
    if (made && made.equals(bytes)) return c.says;
  }
  if (challenge.length > 8 && bytes.subarray(0, 8).equals(tdesEncrypt(expectedKey, challenge.subarray(0, 8)))) {
    return 'the first block is right but a later one is not (CBC chaining instead of ECB?)';
  }
  return (
    `no known key or transform reproduces it: the key the config expects has KCV ${toHex(keyCheckValue(expectedKey)).toUpperCase()} ` +
    "(the first 3 bytes of 3DES of 8 zero bytes): compare it with the KCV of the server's key"
  );
}

/** True when encryption and decryption coincide under the key (e.g. the all-zero weak key). */
export function isSelfInverse(key: Buffer): boolean {
  const probe = Buffer.from('a892d75601617c5d', 'hex');
  return tdesEncrypt(key, probe).equals(tdesDecrypt(key, probe));
}

/** `: "the body"` (visible, masked, short) or ` with an empty body`, to append to a status. */
export function bodySnippet(body: string, redactor: Redactor = NAME_ONLY): string {
  if (body.length === 0) return ' with an empty body';
  return `: ${quoteBody(body, redactor)}`;
}
