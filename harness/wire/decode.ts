/**
 * Reading each kind of CM answer, once. The load loop's fast path and the conformance
 * client use the same decoders: `decodeCryptogram` takes a quick look at the common shape
 * and otherwise defers to the thorough `readBase64String`, so the two cannot disagree
 * (a property test holds them to it).
 */
import { isBase64 } from '../../simulator/bytes.js';

/** A body that is not what the API promises (a JSON string holding base64, a resource URI). */
export class CmFormatError extends Error {
  override readonly name = 'CmFormatError';
}

/** What a decoder needs of an answer. */
export interface Answer {
  status: number;
  body: string;
}

export type Read<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Standard base64 with its padding, as the API carries bytes (`F0Zudm4wPLY=`; no URL-safe alphabet, no missing `=`). */
export function isPaddedBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text) && isBase64(text);
}

/**
 * The bytes in a body that must be a JSON string holding standard padded base64, e.g.
 * `"F0Zudm4wPLY="`; otherwise what is wrong, in words a server author can act on.
 */
export function readBase64String(body: string): Read<Buffer> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: `body is not JSON${describeBody(body)}` };
  }
  if (typeof value !== 'string') {
    return {
      ok: false,
      problem: `body is JSON but not a string (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})${describeBody(body)}`,
    };
  }
  if (value.length === 0) return { ok: false, problem: 'body is an empty JSON string' };
  if (!isPaddedBase64(value)) return { ok: false, problem: `body is a JSON string but not standard padded base64: ${JSON.stringify(abbreviate(value))}` };
  return { ok: true, value: Buffer.from(value, 'base64') };
}

/** The bytes of a 200 answer holding a JSON base64 string; throws CmFormatError saying what is wrong. */
export function decodeBase64Body(res: Answer): Buffer {
  if (res.status !== 200) throw new CmFormatError(`expected status 200, got ${res.status}${describeBody(res.body)}`);
  const read = readBase64String(res.body);
  if (!read.ok) throw new CmFormatError(read.problem);
  return read.value;
}

const QUOTE = 34;
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The cryptogram in a 200 body of authenticationresponse: exactly `length` bytes of
 * base64 in a JSON string; null when the body is anything else. Runs once per load
 * exchange, so the usual shape (`"...="`, nothing around it) is checked by hand first.
 */
export function decodeCryptogram(body: string, length: number): Buffer | null {
  const expectedChars = 4 * Math.ceil(length / 3);
  if (body.length === expectedChars + 2 && body.charCodeAt(0) === QUOTE && body.charCodeAt(body.length - 1) === QUOTE) {
    const b64 = body.slice(1, -1);
    if (BASE64_CHARS.test(b64)) {
      const bytes = Buffer.from(b64, 'base64');
      if (bytes.length === length) return bytes;
    }
  }
  // Anything else (whitespace, escapes, wrong length): the thorough reading decides.
  const read = readBase64String(body);
  return read.ok && read.value.length === length ? read.value : null;
}

/** The length the diversifiedkey endpoint must hand out: 24 bytes, a 3-key 3DES key. */
export const DIVERSIFIED_KEY_BYTES = 24;

/**
 * A diversifiedkey answer. The reason never quotes the body: whatever its status, it may
 * be a key.
 */
export function readDiversifiedKey(res: Answer): { key: Buffer; reason?: undefined } | { key?: undefined; reason: string } {
  const hidden = '(body not shown: it may hold a key)';
  if (res.status !== 200) return { reason: `the diversifiedkey endpoint answered ${res.status}, expected 200 ${hidden}` };
  let value: unknown;
  try {
    value = JSON.parse(res.body);
  } catch {
    return { reason: `the diversifiedkey endpoint answered 200 but its body is not JSON ${hidden}` };
  }
  if (typeof value !== 'string' || !isPaddedBase64(value)) {
    return { reason: `the diversifiedkey endpoint answered 200 but not with a JSON string of standard padded base64 ${hidden}` };
  }
  const key = Buffer.from(value, 'base64');
  if (key.length !== DIVERSIFIED_KEY_BYTES) return { reason: `the diversifiedkey endpoint gave a ${key.length}-byte key, expected ${DIVERSIFIED_KEY_BYTES}` };
  return { key };
}

/** The id at the end of a created-resource body such as `"api/v1.0/requests/{id}"` (JSON string or bare). */
export function idFromUri(body: string): string {
  let text = body.trim();
  if (text.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'string') throw new Error('not a string');
      text = parsed;
    } catch {
      throw new CmFormatError(`created-resource body is not a JSON string: ${JSON.stringify(abbreviate(body))}`);
    }
  }
  const path = text.split(/[?#]/)[0] ?? '';
  const id = path
    .split('/')
    .filter((s) => s.length > 0)
    .pop();
  if (!id || !path.includes('/'))
    throw new CmFormatError(`created-resource body is not a URI like "api/v1.0/requests/{id}": ${JSON.stringify(abbreviate(body))}`);
  return decodeURIComponent(id);
}

function describeBody(body: string): string {
  return body.length === 0 ? ' (empty body)' : `: ${JSON.stringify(abbreviate(body))}`;
}

function abbreviate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
