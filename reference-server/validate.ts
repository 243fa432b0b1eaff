import { abbreviate, isBase64, parseBase64 } from '../simulator/bytes.js';
import { canonicalGuid, challengeLengthProblem, guidProblem, readAtr } from '../simulator/validate.js';
import { badRequest } from './http-error.js';

/**
 * A GUID in its canonical lower-case form, or null: the validation kit's rule (braces
 * optional, any case), so server, card, config and seed agree on what a GUID is.
 */
export { canonicalGuid };

/** A GUID (braces optional, any case) in its canonical lower-case form, or 400 naming the parameter. */
export function guidParam(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw badRequest(`${name} is required`);
  const guid = canonicalGuid(value);
  if (guid === null) throw badRequest(`${name} ${guidProblem(value)}`);
  return guid;
}

/** `True`, `true`, `False`, `false` (ASP.NET reads booleans case-insensitively, so any case). */
export function booleanParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '') throw badRequest(`${name} is required (true or false)`);
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw badRequest(`${name} must be true or false, got ${quote(value)}`);
}

/** A base64 challenge of one or more 8-byte blocks, at most as long as a card hands out (the card's own rule). */
export function challengeParam(value: string | undefined, name = 'challenge'): Buffer {
  if (value === undefined || value === '') throw badRequest(`${name} is required (base64 of 8*k bytes)`);
  // An unencoded '+' arrives as a space after form decoding; base64 has no spaces, so put it back.
  const text = value.replace(/ /g, '+');
  if (!isBase64(text)) throw badRequest(`${name} is not base64: ${quote(value)}`);
  const bytes = parseBase64(text, name);
  const problem = challengeLengthProblem(bytes.length, `${name} length in bytes`);
  if (problem) throw badRequest(problem);
  return bytes;
}

/** An ATR in hex, checked as the virtual card checks one (structure and TCK); lower case without separators. */
export function atrParam(value: string | undefined, name = 'atr'): string | undefined {
  if (value === undefined) return undefined;
  const atr = readAtr(value);
  if (!atr.ok) throw badRequest(`${name} ${atr.problem}`);
  return atr.value;
}

/**
 * The query string as a map. Refuses parameters we don't know (a misspelt optional
 * parameter would otherwise be silently ignored) and parameters given twice.
 */
export function parseQuery(raw: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === '') return out;
  // URLSearchParams never throws: malformed percent-escapes are kept as they are.
  for (const [rawKey, value] of new URLSearchParams(raw)) {
    const key = rawKey.toLowerCase();
    if (!allowed.includes(key)) {
      throw badRequest(`unknown query parameter ${quote(rawKey)}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    }
    if (out.has(key)) throw badRequest(`query parameter ${key} is given more than once`);
    out.set(key, value);
  }
  return out;
}

/**
 * A JSON body object with case-insensitive field names (ASP.NET binds them so). Unknown
 * fields are refused by name, so a typo does not silently drop data.
 */
export function bodyFields(body: unknown, allowed: readonly string[]): Map<string, unknown> {
  if (body === undefined) throw badRequest('request body is required (a JSON object)');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  const out = new Map<string, unknown>();
  for (const [rawKey, value] of Object.entries(body)) {
    const key = rawKey.toLowerCase();
    if (!allowed.includes(key)) throw badRequest(`unknown field ${quote(rawKey)} in the request body (allowed: ${allowed.join(', ')})`);
    if (out.has(key)) throw badRequest(`field ${key} is given more than once`);
    out.set(key, value);
  }
  return out;
}

export function stringField(fields: Map<string, unknown>, name: string, required: true): string;
export function stringField(fields: Map<string, unknown>, name: string, required?: false): string | undefined;
export function stringField(fields: Map<string, unknown>, name: string, required = false): string | undefined {
  const v = fields.get(name);
  if (v === undefined || v === null) {
    if (required) throw badRequest(`field ${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw badRequest(`field ${name} must be a string`);
  return v;
}

/** A value for an error message: quoted, control characters escaped, long values cut. */
export function quote(value: string): string {
  return JSON.stringify(abbreviate(value, 60));
}
