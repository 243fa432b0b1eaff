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

export function parseHex(input: string, what = 'value'): Buffer {
  const compact = input.replace(/[\s:-]/g, '');
  if (compact.length === 0) throw new InputError(`${what} is empty`);
  if (!/^[0-9a-fA-F]*$/.test(compact)) throw new InputError(`${what} is not hex: ${JSON.stringify(abbreviate(input))}`);
  if (compact.length % 2 !== 0) throw new InputError(`${what} has an odd number of hex digits (${compact.length})`);
  return Buffer.from(compact, 'hex');
}

/** Strict base64: Node's decoder silently skips bad characters, so check the alphabet first. */
export function parseBase64(input: string, what = 'value'): Buffer {
  const compact = input.replace(/\s/g, '');
  if (compact.length === 0) throw new InputError(`${what} is empty`);
  if (!isBase64(compact)) throw new InputError(`${what} is neither hex nor base64: ${JSON.stringify(abbreviate(input))}`);
  return Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
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
  return toHex(bytes).toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
}

/** A GUID string (braces optional) to its 16 bytes, in the order the text shows them. */
export function parseGuid(input: string, what = 'cardid'): Buffer {
  const m = /^\{?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\}?$/.exec(input.trim());
  if (!m) throw new InputError(`${what} is not a GUID: ${JSON.stringify(abbreviate(input))}`);
  return Buffer.from(m.slice(1).join(''), 'hex');
}

export function isGuid(input: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(input);
}

/** 16 bytes to the lower-case GUID text `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
export function formatGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new InputError(`a GUID needs 16 bytes, got ${bytes.length}`);
  const h = toHex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function abbreviate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
