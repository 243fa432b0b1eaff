import { parseHex } from './bytes.js';
import { InputError } from './errors.js';

/**
 * ISO/IEC 7816 matters that are not the card's own business: status words by name, the
 * ATR's structure (7816-3) and the command and response APDU (7816-4). Pure functions on
 * bytes; the card (card.ts), its APDU front end (apdu.ts) and the server all read these,
 * so none of them needs the others to check an ATR or name a status word.
 */

/** Status words the virtual card answers, named as ISO 7816-4 names them. */
export const SW = {
  OK: 0x9000,
  /** 63Cx: verification failed, x tries left (x capped at 15); see `swTriesLeft`. */
  WARNING_COUNTER: 0x63c0,
  WRONG_LENGTH: 0x6700,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SECURE_MESSAGING_NOT_SUPPORTED: 0x6882,
  CHAINING_NOT_SUPPORTED: 0x6884,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  WRONG_DATA: 0x6a80,
  FILE_NOT_FOUND: 0x6a82,
  WRONG_P1P2: 0x6a86,
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_PRECISE_DIAGNOSIS: 0x6f00,
} as const;

/** 63Cx for `left` tries remaining: the counter fits in one hex digit, so more than 15 shows as F. */
export function swTriesLeft(left: number): number {
  return SW.WARNING_COUNTER | Math.min(Math.max(left, 0), 15);
}

/** A status word as the ISO tables print it: `63C4`, `9000`. */
export function formatSw(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

// ---------------------------------------------------------------------------------------
// ATR (ISO 7816-3)

/** Shortest and longest ATR: TS and T0, and at most 32 bytes after TS. */
export const ATR_MIN_BYTES = 2;
export const ATR_MAX_BYTES = 33;

/**
 * Why these bytes are not a well-formed ATR (ISO 7816-3: TS, T0, interface bytes as the
 * Y indicators say, K historical bytes, and TCK when a protocol other than T=0 is
 * indicated, with the XOR of T0..TCK equal to 0), or null when they are.
 */
export function atrProblem(atr: Uint8Array): string | null {
  if (atr.length < ATR_MIN_BYTES || atr.length > ATR_MAX_BYTES) return `must be ${ATR_MIN_BYTES} to ${ATR_MAX_BYTES} bytes, got ${atr.length}`;
  if (atr[0] !== 0x3b && atr[0] !== 0x3f) return `must start with TS 3B or 3F, got ${formatByte(atr[0]!)}`;
  let y = atr[1]! >> 4;
  const historical = atr[1]! & 0x0f;
  let i = 2;
  let tck = false;
  for (;;) {
    i += (y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1);
    if (!(y & 8)) break;
    if (i >= atr.length) return 'is cut short in its interface bytes';
    const td = atr[i++]!;
    if ((td & 0x0f) !== 0) tck = true;
    y = td >> 4;
  }
  const expected = i + historical + (tck ? 1 : 0);
  if (atr.length !== expected) return `should be ${expected} bytes by its T0 and TD bytes, got ${atr.length}`;
  if (tck) {
    let x = 0;
    for (let j = 1; j < atr.length; j++) x ^= atr[j]!;
    if (x !== 0) return `has a wrong TCK byte ${formatByte(atr[atr.length - 1]!)} (expected ${formatByte(atr[atr.length - 1]! ^ x)})`;
  }
  return null;
}

/** An ATR in hex (as card files and the CM API carry it), checked as a card would: throws InputError naming the problem. */
export function parseAtr(text: string, what = 'ATR'): Buffer {
  const bytes = parseHex(text, what);
  const bad = atrProblem(bytes);
  if (bad) throw new InputError(`${what} ${bad}`);
  return bytes;
}

function formatByte(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

// ---------------------------------------------------------------------------------------
// APDUs (ISO 7816-4)

/** A command APDU split into its fields (short or extended length). */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Buffer;
  /** Expected response length; null when absent (cases 1 and 3); 256 or 65536 for "all". */
  readonly le: number | null;
}

/** Splits a command APDU (ISO 7816-4 cases 1-4, short and extended); null when malformed. */
export function parseCommandApdu(bytes: Uint8Array): CommandApdu | null {
  const b = Buffer.from(bytes);
  if (b.length < 4) return null;
  const head = { cla: b[0]!, ins: b[1]!, p1: b[2]!, p2: b[3]! };
  const empty = Buffer.alloc(0);
  if (b.length === 4) return { ...head, data: empty, le: null };
  const p3 = b[4]!;
  if (b.length === 5) return { ...head, data: empty, le: p3 === 0 ? 256 : p3 };
  if (p3 !== 0) {
    // Short Lc: case 3 (no Le) or case 4 (one Le byte).
    if (b.length === 5 + p3) return { ...head, data: b.subarray(5), le: null };
    if (b.length === 6 + p3) {
      const le = b[5 + p3]!;
      return { ...head, data: b.subarray(5, 5 + p3), le: le === 0 ? 256 : le };
    }
    return null;
  }
  // Extended length: a 00 byte, then two-byte Le (case 2E) or Lc (cases 3E, 4E).
  if (b.length === 7) {
    const le = b.readUInt16BE(5);
    return { ...head, data: empty, le: le === 0 ? 65536 : le };
  }
  if (b.length < 8) return null;
  const lc = b.readUInt16BE(5);
  if (lc === 0) return null;
  if (b.length === 7 + lc) return { ...head, data: b.subarray(7), le: null };
  if (b.length === 9 + lc) {
    const le = b.readUInt16BE(7 + lc);
    return { ...head, data: b.subarray(7, 7 + lc), le: le === 0 ? 65536 : le };
  }
  return null;
}

/** True when Le asks for "as much as there is": 00 in a short APDU, 0000 in an extended one. */
export function leMeansAll(le: number | null): boolean {
  return le === 256 || le === 65536;
}

/** Where a command's data starts in its bytes: after Lc, one byte or (extended) three. */
export function commandDataOffset(command: Uint8Array): number {
  return command.length >= 7 && command[4] === 0 ? 7 : 5;
}

/** A response APDU: the data, then the status word's two bytes. */
export function encodeResponseApdu(data: Uint8Array | undefined, sw: number): Buffer {
  return Buffer.concat([data ?? Buffer.alloc(0), Buffer.from([sw >> 8, sw & 0xff])]);
}
