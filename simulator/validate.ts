import { abbreviate, base64Problem, formatGuid, hexDigits, hexProblem, isBase64, isGuid, parseBase64, parseGuid } from './bytes.js';
import { InputError } from './errors.js';
import { atrProblem } from './iso7816.js';
import { BLOCK, adminKeyLengthProblem } from './tdes.js';

/**
 * The validation kit: one definition of each rule for the values people and files hand
 * us — GUIDs, admin keys, ATRs, challenge lengths. The config file, the seed file, the
 * card file, the CLI and the server all read them through here, so they agree on what
 * is valid. Each reader returns the value or a problem phrased to follow a key name
 * ("must be ..., got ..."); the caller adds its file and key, as its one-line errors do.
 * The JSON Schemas in schemas/ encode the same rules for editors (a test holds them to it).
 */

/** A value read from text, or why the text is not one. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(problem: string): Checked<T> => ({ ok: false, problem });

/** Throws InputError(`${what} ${problem}`) for a refused value. */
export function orThrow<T>(checked: Checked<T>, what: string): T {
  if (!checked.ok) throw new InputError(`${what} ${checked.problem}`);
  return checked.value;
}

// ---------------------------------------------------------------------------------------
// GUIDs

export const GUID_EXAMPLE = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099';

/**
 * A GUID as people and files write it (any case, braces optional as Windows prints them,
 * surrounding spaces ignored), in its canonical lower-case bare form.
 */
export function readGuid(text: string): Checked<string> {
  // The bare form (what URLs and most files carry) costs one regex test.
  if (isGuid(text)) return ok(text.toLowerCase());
  try {
    return ok(formatGuid(parseGuid(text)));
  } catch (err) {
    if (err instanceof InputError) return bad(guidProblem(text));
    throw err;
  }
}

/** The one wording for a text that is not a GUID (a GUID is no secret: the text is shown, shortened). */
export function guidProblem(text: string): string {
  return `is not a GUID like ${GUID_EXAMPLE}, got ${JSON.stringify(abbreviate(text))}`;
}

/** The canonical form of a GUID text, or null when it is not one. */
export function canonicalGuid(text: string): string | null {
  const checked = readGuid(text);
  return checked.ok ? checked.value : null;
}

// ---------------------------------------------------------------------------------------
// Admin keys

/** How a key text was read. */
export type KeyReading = 'hex' | 'base64';

export interface AdminKeyText {
  readonly key: Buffer;
  readonly reading: KeyReading;
}

export interface ReadAdminKeyOptions {
  /** Only hex is accepted (file fields named `...Hex`). */
  readonly hexOnly?: boolean;
}

const KEY_FORMS = '48 or 32 hex digits (or base64 of 24 or 16 bytes)';
const KEY_FORMS_HEX = '48 or 32 hex digits';

/**
 * A 3DES admin key as text: 48 or 32 hex digits (spaces, colons, dashes allowed between
 * them), or base64 (standard or URL-safe) of 24 or 16 bytes. A text made only of hex
 * digits is read as hex, whatever its length, so a key one digit short is reported as
 * such and never silently read as base64. `hex:` or `b64:` in front forces a reading.
 * Problems say which reading was used and never echo the text (it is a secret).
 */
export function readAdminKey(text: string, options: ReadAdminKeyOptions = {}): Checked<AdminKeyText> {
  const forms = options.hexOnly ? KEY_FORMS_HEX : KEY_FORMS;
  const trimmed = text.trim();
  if (trimmed.length === 0) return bad(`is empty: it must be ${forms}`);
  const prefix = trimmed.slice(0, 4).toLowerCase();
  if (prefix === 'hex:') return readHexKey(trimmed.slice(4), forms);
  if (prefix === 'b64:' && !options.hexOnly) return readBase64Key(trimmed.slice(4), forms);
  if (hexDigits(trimmed) !== null) return readHexKey(trimmed, forms);
  const hexBad = hexProblem(trimmed) ?? 'is not hex';
  if (options.hexOnly) return bad(`${hexBad}; it must be ${forms}`);
  const compact = trimmed.replace(/\s/g, '');
  // Neither reading fits: say where base64 breaks (hex broke at the same place or earlier).
  if (!isBase64(compact)) return bad(`is neither hex nor base64${base64Problem(compact)}; it must be ${forms}`);
  const bytes = parseBase64(compact);
  const lengthBad = adminKeyLengthProblem(bytes.length);
  // Both readings failed: say how each went, as the text may be a mistyped hex key.
  if (lengthBad) return bad(`${hexBad}, and read as base64 it is ${bytes.length} bytes; it must be ${forms}`);
  return ok({ key: bytes, reading: 'base64' });
}

function readHexKey(text: string, forms: string): Checked<AdminKeyText> {
  const digits = hexDigits(text);
  if (digits === null) return bad(`${hexProblem(text) ?? 'is not hex'}; it must be ${forms}`);
  if (digits.length % 2 !== 0 || adminKeyLengthProblem(digits.length / 2)) return bad(`must be ${forms}, got ${digits.length} hex digits`);
  return ok({ key: Buffer.from(digits, 'hex'), reading: 'hex' });
}

function readBase64Key(text: string, forms: string): Checked<AdminKeyText> {
  const compact = text.replace(/\s/g, '');
  if (compact.length === 0) return bad(`is empty after b64:; it must be ${forms}`);
  if (!isBase64(compact)) return bad(`is not base64${base64Problem(compact)}; it must be ${forms}`);
  const bytes = parseBase64(compact);
  if (adminKeyLengthProblem(bytes.length)) return bad(`must be ${forms}, got base64 of ${bytes.length} bytes`);
  return ok({ key: bytes, reading: 'base64' });
}

/** readAdminKey for callers that throw: InputError(`${what} ${problem}`). */
export function parseAdminKey(text: string, what = 'admin key', options: ReadAdminKeyOptions = {}): Buffer {
  return orThrow(readAdminKey(text, options), what).key;
}

// ---------------------------------------------------------------------------------------
// ATRs

/** An ATR as text (hex, separators allowed, any case), checked as a card would (structure and TCK): lower-case hex. */
export function readAtr(text: string): Checked<string> {
  const hexBad = hexProblem(text);
  if (hexBad) return bad(hexBad);
  const bytes = Buffer.from(hexDigits(text)!, 'hex');
  const atrBad = atrProblem(bytes);
  return atrBad ? bad(atrBad) : ok(bytes.toString('hex'));
}

// ---------------------------------------------------------------------------------------
// Challenges

/** Largest challenge a card hands out: the GIDS mutual flow uses 16, PIV at most 16. */
export const MAX_CHALLENGE = 64;
/** The challenge a card hands out unless asked for another length: one 3DES block. */
export const DEFAULT_CHALLENGE = BLOCK;

/** Why `length` bytes cannot be a challenge (a multiple of 8 from 8 to MAX_CHALLENGE), phrased to follow a name, or null. */
export function challengeLengthRule(length: number): string | null {
  if (!Number.isInteger(length) || length < BLOCK || length % BLOCK !== 0 || length > MAX_CHALLENGE) {
    return `must be a multiple of 8 from 8 to ${MAX_CHALLENGE}, got ${length}`;
  }
  return null;
}

/** Why `length` cannot be a challenge length, with `what` in front, or null. */
export function challengeLengthProblem(length: number, what = 'challenge length'): string | null {
  const rule = challengeLengthRule(length);
  return rule === null ? null : `${what} ${rule}`;
}
