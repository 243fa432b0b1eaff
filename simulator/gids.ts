import { SW } from './iso7816.js';
import { adminKeyLengthProblem, tdesCbcDecrypt, tdesCbcEncrypt, constantTimeEqual } from './tdes.js';

/**
 * The GIDS specifics the APDU front end needs (docs/protocol.md#apdu-commands, after OpenSC's
 * card-gids.c and the GIDS applet): the AID, BER-TLV in and out, the data objects
 * pkcs15-tool reads, and the mutual-authentication cryptograms. Pure functions; they
 * never throw on malformed input (they return null instead).
 */

/**
 * A GIDS card's ATR, with a valid TCK byte (T=1; the historical bytes carry the GIDS
 * AID). The virtual card answers it unless given another.
 */
export const GIDS_ATR = '3b8d0180fba000000397425446590301c8';

/** The GIDS application identifier; version bytes may follow it in a SELECT. */
export const GIDS_AID: Buffer = Buffer.from('a00000039742544659', 'hex');

/** Key reference of the admin (card management) key. */
export const ADMIN_KEY_REF = 0x80;
/** Key reference of the user PIN. */
export const USER_PIN_REF = 0x80;
/** The applet's own EF, holding the PIN status objects and the key import object. */
export const APPLET_EFID = 0x3fff;

/** File control information answered to SELECT with P2 00: application template with the AID. */
export function selectFci(): Buffer {
  return encodeTlv(0x61, encodeTlv(0x4f, GIDS_AID));
}

export function isGidsAid(name: Uint8Array): boolean {
  return name.length >= GIDS_AID.length && name.length <= 16 && Buffer.from(name.subarray(0, GIDS_AID.length)).equals(GIDS_AID);
}

// ---------------------------------------------------------------------------------------
// BER-TLV

export interface Tlv {
  readonly tag: number;
  readonly value: Buffer;
}

/** Reads one BER-TLV at `offset`; null when the bytes are not a well-formed TLV. */
export function readTlv(data: Uint8Array, offset = 0): { tlv: Tlv; next: number } | null {
  let i = offset;
  if (i >= data.length) return null;
  let tag = data[i++]!;
  if ((tag & 0x1f) === 0x1f) {
    // Multi-byte tag: following bytes while bit 8 is set (we accept at most 3 bytes in all).
    for (let n = 0; ; n++) {
      if (i >= data.length || n > 1) return null;
      const b = data[i++]!;
      tag = (tag << 8) | b;
      if ((b & 0x80) === 0) break;
    }
  }
  if (i >= data.length) return null;
  let length = data[i++]!;
  if (length === 0x81) {
    if (i + 1 > data.length) return null;
    length = data[i++]!;
  } else if (length === 0x82) {
    if (i + 2 > data.length) return null;
    length = (data[i]! << 8) | data[i + 1]!;
    i += 2;
  } else if (length > 0x7f) {
    return null;
  }
  if (i + length > data.length) return null;
  return { tlv: { tag, value: Buffer.from(data.subarray(i, i + length)) }, next: i + length };
}

/** The whole byte string as a sequence of TLVs; null unless it parses exactly. */
export function readTlvs(data: Uint8Array): Tlv[] | null {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < data.length) {
    const r = readTlv(data, offset);
    if (!r) return null;
    out.push(r.tlv);
    offset = r.next;
  }
  return out;
}

/** Exactly one TLV filling `data`, or null. */
export function readSingleTlv(data: Uint8Array): Tlv | null {
  const all = readTlvs(data);
  return all && all.length === 1 ? all[0]! : null;
}

export function encodeTlv(tag: number, value: Uint8Array): Buffer {
  const tagBytes = tag > 0xffff ? [tag >> 16, (tag >> 8) & 0xff, tag & 0xff] : tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(tagBytes), Buffer.from(len), Buffer.from(value)]);
}

// ---------------------------------------------------------------------------------------
// Data objects (GET DATA `00 CB <file id> 04 5C 02 <DO id>`)

/** One entry of the minidriver master file: which (file, data object) holds a file. */
interface MasterFileRecord {
  directory: string;
  filename: string;
  dataObject: number;
  file: number;
}

/** The minidriver file system a freshly initialised GIDS card carries (card-gids.h ids). */
const MASTER_FILE_RECORDS: readonly MasterFileRecord[] = [
  { directory: 'mscp', filename: '', dataObject: 0, file: 0xa000 },
  { directory: '', filename: 'cardid', dataObject: 0xdf20, file: 0xa012 },
  { directory: '', filename: 'cardapps', dataObject: 0xdf21, file: 0xa010 },
  { directory: '', filename: 'cardcf', dataObject: 0xdf22, file: 0xa010 },
  { directory: 'mscp', filename: 'cmapfile', dataObject: 0xdf23, file: 0xa010 },
];

/**
 * The master file: a version byte 01, then 28-byte records as OpenSC's `gids_mf_record_t`
 * lays them out on x86/ARM: char directory[9], char filename[9], 2 bytes of alignment,
 * int32 LE data object id, int32 LE file id.
 */
export function masterFile(): Buffer {
  const out = Buffer.alloc(1 + 28 * MASTER_FILE_RECORDS.length);
  out[0] = 1;
  MASTER_FILE_RECORDS.forEach((r, i) => {
    const at = 1 + 28 * i;
    out.write(r.directory, at, 8, 'latin1');
    out.write(r.filename, at + 9, 8, 'latin1');
    out.writeInt32LE(r.dataObject, at + 20);
    out.writeInt32LE(r.file, at + 24);
  });
  return out;
}

export interface DataObjectSource {
  /** The 16 cardid bytes (the GUID's bytes in text order). */
  cardIdBytes: Buffer;
  pinTriesLeft: number;
  pinTriesLimit: number;
}

export type DataObjectResult = { ok: true; value: Buffer } | { ok: false; sw: number };

/**
 * What GET DATA answers for (file, data object): the value wrapped in its own tag, as
 * OpenSC's gids_get_DO looks the tag up in the response. Unknown objects: 6A88; unknown
 * files: 6A82.
 */
export function readDataObject(file: number, dataObject: number, card: DataObjectSource): DataObjectResult {
  const content = dataObjectContent(file, dataObject, card);
  if (content === undefined) {
    const knownFile = file === APPLET_EFID || MASTER_FILE_RECORDS.some((r) => r.file === file);
    return { ok: false, sw: knownFile ? SW.REFERENCED_DATA_NOT_FOUND : SW.FILE_NOT_FOUND };
  }
  return { ok: true, value: encodeTlv(dataObject, content) };
}

function dataObjectContent(file: number, dataObject: number, card: DataObjectSource): Buffer | undefined {
  const key = `${file.toString(16)}/${dataObject.toString(16)}`;
  switch (key) {
    case 'a000/df1f':
      return masterFile();
    case 'a012/df20':
      return Buffer.from(card.cardIdBytes);
    case 'a010/df21':
      return Buffer.from('mscp\0\0\0\0', 'latin1');
    // cardcf: version, PIN freshness, container and file freshness (all 0: nothing changed).
    case 'a010/df22':
      return Buffer.alloc(6);
    // cmapfile: no key containers on this card (it only does admin challenge/response).
    case 'a010/df23':
      return Buffer.alloc(0);
    case '3fff/7f71':
      return Buffer.concat([encodeTlv(0x97, Buffer.from([card.pinTriesLeft])), encodeTlv(0x93, Buffer.from([card.pinTriesLimit]))]);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Mutual authentication (GENERAL AUTHENTICATE, 16-byte randoms, 40-byte cryptograms)

const ZERO_IV = Buffer.alloc(8);

/**
 * Checks the host cryptogram C1 = 3DES-CBC(K, IV 0, R2 | R1 | Z1), where R2 is the card's
 * random, R1 the host's, and Z1 seven bytes ending in the padding byte 80.
 */
export function checkHostCryptogram(key: Uint8Array, c1: Uint8Array, r1: Uint8Array, r2: Uint8Array): boolean {
  if (c1.length !== 40 || r1.length !== 16 || r2.length !== 16) return false;
  const plain = tdesCbcDecrypt(key, ZERO_IV, c1);
  // Both halves are compared in constant time and combined without early exit.
  const r2ok = constantTimeEqual(plain.subarray(0, 16), r2);
  const r1ok = constantTimeEqual(plain.subarray(16, 32), r1);
  const padOk = plain[39] === 0x80;
  return r2ok && r1ok && padOk;
}

/** The card's answer C2 = 3DES-CBC(K, IV 0, R1 | R2 | Z2), Z2 = 7 random bytes and 80. */
export function cardCryptogram(key: Uint8Array, r1: Uint8Array, r2: Uint8Array, z2Random: Uint8Array): Buffer {
  const z2 = Buffer.concat([Buffer.from(z2Random.subarray(0, 7)), Buffer.from([0x80])]);
  return tdesCbcEncrypt(key, ZERO_IV, Buffer.concat([Buffer.from(r1), Buffer.from(r2), z2]));
}

/** The host side of the same exchange (what OpenSC's gids_authenticate_admin computes). */
export function hostCryptogram(key: Uint8Array, r1: Uint8Array, r2: Uint8Array, z1Random: Uint8Array): Buffer {
  const z1 = Buffer.concat([Buffer.from(z1Random.subarray(0, 7)), Buffer.from([0x80])]);
  return tdesCbcEncrypt(key, ZERO_IV, Buffer.concat([Buffer.from(r2), Buffer.from(r1), z1]));
}

/** True when C2 decrypts to R1 | R2 | ... under the key (the host's check of the card). */
export function checkCardCryptogram(key: Uint8Array, c2: Uint8Array, r1: Uint8Array, r2: Uint8Array): boolean {
  if (c2.length !== 40) return false;
  const plain = tdesCbcDecrypt(key, ZERO_IV, c2);
  return plain.subarray(0, 16).equals(Buffer.from(r1)) && plain.subarray(16, 32).equals(Buffer.from(r2));
}

// ---------------------------------------------------------------------------------------
// Admin key import (PUT DATA 3FFF: 70 { 84 01 80, A5 { 87 <key>, 88 <kcv> } })

export type KeyImport = { ok: true; keyRef: number; key: Buffer } | { ok: false; sw: number };

export function parseKeyImport(data: Uint8Array): KeyImport {
  const outer = readSingleTlv(data);
  if (!outer || outer.tag !== 0x70) return { ok: false, sw: SW.WRONG_DATA };
  const inner = readTlvs(outer.value);
  if (!inner) return { ok: false, sw: SW.WRONG_DATA };
  const ref = inner.find((t) => t.tag === 0x84);
  const template = inner.find((t) => t.tag === 0xa5);
  if (!ref || ref.value.length !== 1 || !template) return { ok: false, sw: SW.WRONG_DATA };
  const parts = readTlvs(template.value);
  const keyTlv = parts?.find((t) => t.tag === 0x87);
  if (!keyTlv) return { ok: false, sw: SW.WRONG_DATA };
  if (adminKeyLengthProblem(keyTlv.value.length)) return { ok: false, sw: SW.WRONG_DATA };
  // The 88 (KCV) object is not checked on purpose: OpenSC's gids-tool always sends the
  // fixed `88 03 B0 73 DC` (the KCV of 0102..08 x 3, docs/protocol.md#apdu-commands) whatever the new
  // key, and real GIDS cards accept it; refusing a mismatch would break `gids-tool -C`.
  return { ok: true, keyRef: ref.value[0]!, key: keyTlv.value };
}
