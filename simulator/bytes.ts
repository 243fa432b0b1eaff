import { InputError } from './errors.js';

/**
 * Byte strings as people type them. Accepted: hex (spaces, colons and dashes between
 * digits allowed, any case) or base64 (standard or URL-safe alphabet, padding optional).
 * A string that is valid hex is read as hex; prefix `b64:` or `hex:` to force one.
 */
export function parseBytes(input: string, what = 'value'): Buffer {
  const text = input.trim();
  if (text.length === 0) throw new InputError(`${what} is empty`);
  const lower = text.toLowerCase();
  if (lower.startsWith('hex:')) return parseHex(text.slice(4), what);
  if (lower.startsWith('b64:')) return parseBase64(text.slice(4), what);
  const compact = text.replace(/[\s:-]/g, '');
  if (/^[0-9a-fA-F]+$/.test(compact) && compact.length % 2 === 0) return Buffer.from(compact, 'hex');
  return parseBase64(text, what);
}

/** Separators people put between hex digits: spaces, colons, dashes. */
const HEX_SEPARATORS = /[\s:-]/g;

/** Hex with spaces, colons or dashes between digits, any case; throws InputError naming `what`. */
export function parseHex(input: string, what = 'value'): Buffer {
  const problem = hexProblem(input);
  if (problem) throw new InputError(`${what} ${problem}`);
  return Buffer.from(input.replace(HEX_SEPARATORS, ''), 'hex');
}

/**
 * Why a text is not hex as parseHex reads it, phrased to follow a name ("is not hex: ..."),
 * or null. The value may be a key: it names the first bad character's place, never the value.
 */
export function hexProblem(input: string): string | null {
  const compact = input.replace(HEX_SEPARATORS, '');
  if (compact.length === 0) return 'is empty';
  const bad = compact.search(/[^0-9a-fA-F]/);
  if (bad >= 0) return `is not hex: character ${bad + 1} of ${compact.length} is not a hex digit`;
  if (compact.length % 2 !== 0) return `has an odd number of hex digits (${compact.length})`;
  return null;
}

/** The hex digits of a text once separators are gone, or null when any other character remains. */
export function hexDigits(input: string): string | null {
  const compact = input.replace(HEX_SEPARATORS, '');
  return compact.length > 0 && /^[0-9a-fA-F]+$/.test(compact) ? compact : null;
}

/** Strict base64: Node's decoder silently skips bad characters, so check the alphabet first. */
export function parseBase64(input: string, what = 'value'): Buffer {
  const compact = input.replace(/\s/g, '');
  if (compact.length === 0) throw new InputError(`${what} is empty`);
  if (!isBase64(compact)) throw new InputError(`${what} is neither hex nor base64${base64Problem(compact)}`);
  return Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Where base64 text goes wrong (": ..."), without echoing it (it may be a key). */
export function base64Problem(text: string): string {
  const bad = text.search(/[^A-Za-z0-9+/_=-]/);
  if (bad >= 0) return `: character ${bad + 1} of ${text.length} is not a base64 character`;
  return `: ${text.length} characters is not a whole base64 length, or the = padding is misplaced`;
}

/** True for standard or URL-safe base64 with correct (or omitted) padding. */
export function isBase64(text: string): boolean {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return false;
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) return false;
  if (text.includes('=') && text.length % 4 !== 0) return false;
  return body.length > 0;
}

/** Standard base64 with padding: the form the CM REST API carries. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** As Windows' "Unblock smart card" screen shows a challenge: `1603 EBDF 1C8A 2E72`. */
export function toWindowsDisplay(bytes: Uint8Array): string {
  return toHex(bytes)
    .toUpperCase()
    .replace(/(.{4})(?=.)/g, '$1 ');
}

/** The one GUID pattern: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of any case. */
const GUID = /^([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})$/;

/** A GUID string (braces optional, as Windows prints them) to its 16 bytes, in the order the text shows them. */
export function parseGuid(input: string, what = 'cardid'): Buffer {
  const text = input.trim();
  const m = GUID.exec(text.startsWith('{') && text.endsWith('}') ? text.slice(1, -1) : text);
  if (!m) throw new InputError(`${what} is not a GUID: ${JSON.stringify(abbreviate(input))}`);
  return Buffer.from(m.slice(1).join(''), 'hex');
}

/** True for the bare GUID form (no braces, no spaces): what URLs and card files carry. */
export function isGuid(input: string): boolean {
  return GUID.test(input);
}

/** 16 bytes to the lower-case GUID text `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
export function formatGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new InputError(`a GUID needs 16 bytes, got ${bytes.length}`);
  const h = toHex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Shortens a value for an error message (never use it on a secret: it still shows 37 characters). */
export function abbreviate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
