import { parseGuid, toHex } from './bytes.js';
import type { CardResult, VirtualCard } from './card.js';
import {
  ADMIN_KEY_REF,
  APPLET_EFID,
  USER_PIN_REF,
  cardCryptogram,
  checkHostCryptogram,
  encodeTlv,
  isGidsAid,
  parseKeyImport,
  readDataObject,
  readSingleTlv,
  readTlvs,
  selectFci,
} from './gids.js';
import { SW, commandDataOffset, encodeResponseApdu, leMeansAll, parseCommandApdu, swTriesLeft, type CommandApdu } from './iso7816.js';
import { systemRandom, type RandomSource } from './random.js';

// Where these lived before iso7816.ts took them: kept so imports from apdu.ts still work.
export { SW, parseCommandApdu, type CommandApdu } from './iso7816.js';

/**
 * The card's APDU front end: ISO 7816-4 command APDUs (with the GIDS command set that
 * OpenSC's driver and the Windows minidriver use) dispatched to a VirtualCard. It never
 * throws: a malformed or unknown command gets a status word. Exact bytes: docs/protocol.md#apdu-commands.
 */

/** One command and its answer, as the transcript keeps it (PINs and keys masked). */
export interface ApduExchange {
  readonly index: number;
  /** e.g. "VERIFY", "GENERAL AUTHENTICATE", "(malformed)" */
  readonly name: string;
  /** Hex with spaces; masked bytes show as `**`. */
  readonly command: string;
  /** Response data and status word, hex with spaces. */
  readonly response: string;
  readonly sw: number;
}

export interface ApduFrontEndOptions {
  /** Where the card's own cryptogram padding (Z2) comes from; inject for replayable sessions. */
  random?: RandomSource;
  /** How many exchanges the transcript keeps (oldest dropped first); 0 keeps none. Default 1000. */
  transcriptLimit?: number;
  /** Called after every exchange with its masked form (the `--trace` output). */
  onExchange?: (exchange: ApduExchange) => void;
  /**
   * Called when a command failed inside the card (say, its file was deleted or the disk
   * is full); the command is still answered 6F00. A host can detach the card then.
   */
  onError?: (error: unknown) => void;
}

const INS_NAMES: Readonly<Record<number, string>> = {
  0xa4: 'SELECT',
  0x84: 'GET CHALLENGE',
  0x82: 'EXTERNAL AUTHENTICATE',
  0x87: 'GENERAL AUTHENTICATE',
  0x22: 'MANAGE SECURITY ENVIRONMENT',
  0x20: 'VERIFY',
  0x2c: 'RESET RETRY COUNTER',
  0x24: 'CHANGE REFERENCE DATA',
  0xcb: 'GET DATA',
  0xdb: 'PUT DATA',
};

/** Instructions whose command data is a PIN or a key: never shown in a transcript. */
const SECRET_DATA_INS = new Set([0x20, 0x24, 0x2c, 0xdb]);

interface Reply {
  data?: Buffer;
  sw: number;
}

export class ApduFrontEnd {
  readonly #card: VirtualCard;
  readonly #random: RandomSource;
  readonly #limit: number;
  readonly #onExchange: ((exchange: ApduExchange) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #transcript: ApduExchange[] = [];
  #count = 0;
  #selected = false;
  /** R1 of a mutual authentication in progress (the host's random), until its second step. */
  #mutualR1: Buffer | null = null;

  constructor(card: VirtualCard, options: ApduFrontEndOptions = {}) {
    this.#card = card;
    this.#random = options.random ?? systemRandom;
    this.#limit = Math.max(0, options.transcriptLimit ?? 1000);
    this.#onExchange = options.onExchange;
    this.#onError = options.onError;
  }

  get card(): VirtualCard {
    return this.#card;
  }
  get atr(): Buffer {
    return Buffer.from(this.#card.atr, 'hex');
  }
  get applicationSelected(): boolean {
    return this.#selected;
  }
  /** The most recent exchanges, oldest first, PINs and keys masked. */
  get transcript(): readonly ApduExchange[] {
    return this.#transcript;
  }

  /** Power on: a fresh session; nothing selected, nothing authenticated. */
  powerOn(): void {
    this.#endSession();
  }
  /** Power off: authentications and the pending challenge are gone. */
  powerOff(): void {
    this.#endSession();
  }
  /** Warm reset: as power off then on. */
  reset(): void {
    this.#endSession();
  }

  /** One command APDU in, one response APDU (data and status word) out. Never throws. */
  transmit(command: Uint8Array): Buffer {
    const parsed = parseCommandApdu(command);
    let reply: Reply;
    let failure: { error: unknown } | null = null;
    try {
      reply = parsed ? this.#dispatch(parsed) : { sw: SW.WRONG_LENGTH };
    } catch (err) {
      // A bug or a lost card file must not take the reader down: answer like a card that
      // hit an internal error, and tell the host.
      reply = { sw: SW.NO_PRECISE_DIAGNOSIS };
      failure = { error: err };
    }
    const response = encodeResponseApdu(reply.data, reply.sw);
    this.#record(command, parsed, response, reply.sw);
    if (failure) this.#onError?.(failure.error);
    return response;
  }

  #endSession(): void {
    this.#selected = false;
    this.#mutualR1 = null;
    this.#card.reset();
  }

  #dispatch(apdu: CommandApdu): Reply {
    const { cla, ins } = apdu;
    if (cla === 0xff || (cla & 0x80) !== 0) return { sw: SW.CLA_NOT_SUPPORTED };
    if ((cla & 0x10) !== 0) return { sw: SW.CHAINING_NOT_SUPPORTED };
    if ((cla & 0x0c) !== 0) return { sw: SW.SECURE_MESSAGING_NOT_SUPPORTED };
    if ((cla & 0x03) !== 0 || (cla & 0x40) !== 0) return { sw: SW.LOGICAL_CHANNEL_NOT_SUPPORTED };
    if (ins === 0xa4) return this.#select(apdu);
    // Until the GIDS application is selected the card has nothing to run other commands:
    // answering 6D00 also keeps OpenSC's other drivers from claiming it during their probes.
    if (!this.#selected) return { sw: SW.INS_NOT_SUPPORTED };
    switch (ins) {
      case 0x84:
        return this.#getChallenge(apdu);
      case 0x82:
        return this.#externalAuthenticate(apdu);
      case 0x87:
        return this.#generalAuthenticate(apdu);
      case 0x22:
        return this.#manageSecurityEnvironment(apdu);
      case 0x20:
        return this.#verify(apdu);
      case 0x2c:
        return this.#resetRetryCounter(apdu);
      case 0x24:
        return this.#changeReferenceData(apdu);
      case 0xcb:
        return this.#getData(apdu);
      case 0xdb:
        return this.#putData(apdu);
      default:
        return { sw: SW.INS_NOT_SUPPORTED };
    }
  }

  // SELECT: by DF name (the GIDS AID, 9-byte prefix match), or the applet EF 3FFF by id.
  #select(apdu: CommandApdu): Reply {
    const { p1, p2, data } = apdu;
    // Any SELECT ends the admin and user sessions: a reader keeps a card powered and
    // selected from one process to the next, and rights must not leak between them.
    this.#mutualR1 = null;
    this.#card.logout();
    if ((p2 & ~0x0c) !== 0) return { sw: SW.WRONG_P1P2 };
    if (p1 === 0x04) {
      if (data.length === 0 || data.length > 16) return { sw: SW.WRONG_LENGTH };
      if (!isGidsAid(data)) return { sw: SW.FILE_NOT_FOUND };
      this.#selected = true;
      return p2 === 0x0c ? { sw: SW.OK } : { data: selectFci(), sw: SW.OK };
    }
    if (p1 === 0x00 || p1 === 0x02 || p1 === 0x08 || p1 === 0x09) {
      if (data.length === 0) return { sw: SW.WRONG_LENGTH };
      if (this.#selected && p1 === 0x00 && data.length === 2 && data.readUInt16BE(0) === APPLET_EFID) return { sw: SW.OK };
      return { sw: SW.FILE_NOT_FOUND };
    }
    return { sw: SW.WRONG_P1P2 };
  }

  #getChallenge(apdu: CommandApdu): Reply {
    if (apdu.p1 !== 0 || apdu.p2 !== 0) return { sw: SW.WRONG_P1P2 };
    if (apdu.data.length !== 0 || apdu.le === null) return { sw: SW.WRONG_LENGTH };
    // Le 00 (256) asks for "the card's size": one 3DES block.
    const length = leMeansAll(apdu.le) ? 8 : apdu.le;
    // The card says which lengths it hands out (6700) and that a blocked admin key gets none (6983).
    const reply = this.#challengeReply(length, (challenge) => challenge);
    // A length the card refuses changes nothing, not even a mutual authentication under way.
    if (reply.sw !== SW.WRONG_LENGTH) this.#mutualR1 = null;
    return reply;
  }

  /** The card's answer to a challenge request: the wrapped challenge, or the card's status word. */
  #challengeReply(length: number, wrap: (challenge: Buffer) => Buffer): Reply {
    const answer = this.#card.issueChallenge(length);
    return 'challenge' in answer ? { data: wrap(answer.challenge), sw: SW.OK } : { sw: answer.sw };
  }

  // EXTERNAL AUTHENTICATE: the response to the pending challenge (ISO status words, 63Cx).
  #externalAuthenticate(apdu: CommandApdu): Reply {
    if (apdu.p1 !== 0 || (apdu.p2 !== 0 && apdu.p2 !== ADMIN_KEY_REF)) return { sw: SW.WRONG_P1P2 };
    if (apdu.data.length === 0) return { sw: SW.WRONG_LENGTH };
    this.#mutualR1 = null;
    return { sw: this.#card.authenticateAdmin(apdu.data).sw };
  }

  // MSE SET for the admin key: P1 81 (external) or C1 (mutual), CRT A4, key reference 80.
  #manageSecurityEnvironment(apdu: CommandApdu): Reply {
    const { p1, p2, data } = apdu;
    if (p1 === 0x81 || p1 === 0xc1) {
      if (p2 !== 0xa4) return { sw: SW.WRONG_P1P2 };
      const tlvs = readTlvs(data);
      if (!tlvs || data.length === 0) return { sw: SW.WRONG_DATA };
      const keyRef = tlvs.find((t) => t.tag === 0x83);
      if (!keyRef || keyRef.value.length !== 1) return { sw: SW.WRONG_DATA };
      return { sw: keyRef.value[0] === ADMIN_KEY_REF ? SW.OK : SW.REFERENCED_DATA_NOT_FOUND };
    }
    // P1 41 (decipher/sign keys): this card holds no private keys.
    if (p1 === 0x41) return { sw: SW.REFERENCED_DATA_NOT_FOUND };
    return { sw: SW.WRONG_P1P2 };
  }

  // GENERAL AUTHENTICATE with the admin key: dynamic authentication template 7C holding
  // 81 (challenge / witness) or 82 (response / cryptogram).
  #generalAuthenticate(apdu: CommandApdu): Reply {
    const { p1, p2, data } = apdu;
    if ((p1 !== 0x00 && p1 !== 0x02 && p1 !== 0x03) || (p2 !== 0x00 && p2 !== ADMIN_KEY_REF)) return { sw: SW.WRONG_P1P2 };
    if (data.length === 0) return { sw: SW.WRONG_LENGTH };
    const template = readSingleTlv(data);
    if (!template || template.tag !== 0x7c) return { sw: SW.WRONG_DATA };
    const inner = readSingleTlv(template.value);
    if (!inner) return { sw: SW.WRONG_DATA };

    // Step 1 of either flow asks the card for a challenge: a blocked admin key gets none
    // (6983, the card's answer), so the host learns at once and nothing is left pending.
    const wrapWitness = (challenge: Buffer) => encodeTlv(0x7c, encodeTlv(0x81, challenge));
    if (inner.tag === 0x81 && inner.value.length === 0) {
      // External flow, step 1: the card's 8-byte challenge.
      this.#mutualR1 = null;
      return this.#challengeReply(8, wrapWitness);
    }
    if (inner.tag === 0x81 && inner.value.length === 16) {
      // Mutual flow, step 1: keep the host's R1, answer the card's R2 (the pending challenge).
      const reply = this.#challengeReply(16, wrapWitness);
      this.#mutualR1 = reply.sw === SW.OK ? Buffer.from(inner.value) : null;
      return reply;
    }
    if (inner.tag === 0x82 && inner.value.length === 40) {
      // Mutual flow, step 2: check C1, answer C2. Counted on the admin counter first.
      const r1 = this.#mutualR1;
      this.#mutualR1 = null;
      const seen: { r2?: Buffer } = {};
      const result = this.#card.adminAttempt((key, challenge) => {
        if (r1 === null || challenge.length !== 16) return false;
        seen.r2 = challenge;
        return checkHostCryptogram(key, inner.value, r1, challenge);
      });
      const r2 = seen.r2;
      if (!result.ok || r1 === null || r2 === undefined) return { sw: authFailureSw(result) };
      const c2 = this.#card.withAdminKey((key) => cardCryptogram(key, r1, r2, this.#random(7)));
      return { data: encodeTlv(0x7c, encodeTlv(0x82, c2)), sw: SW.OK };
    }
    if (inner.tag === 0x82 && inner.value.length > 0) {
      // External flow, step 2: 3DES-ECB of the challenge (what a CM server's response serves).
      this.#mutualR1 = null;
      return { sw: authFailureSw(this.#card.authenticateAdmin(inner.value)) };
    }
    return { sw: SW.WRONG_DATA };
  }

  // VERIFY: P2 80 the user PIN (no data: ask its status), P2 82 logout of everything.
  #verify(apdu: CommandApdu): Reply {
    const { p1, p2, data } = apdu;
    if (p1 !== 0x00 && !(p1 === 0xff && p2 === 0x80)) return { sw: SW.WRONG_P1P2 };
    if (p2 === 0x82) {
      this.#mutualR1 = null;
      this.#card.logout();
      return { sw: SW.OK };
    }
    if (p2 !== USER_PIN_REF) return { sw: SW.REFERENCED_DATA_NOT_FOUND };
    if (p1 === 0xff) {
      // ISO 7816-4:2013 P1 FF: reset the verification status of the PIN.
      this.#card.logout();
      return { sw: SW.OK };
    }
    if (data.length === 0) {
      if (this.#card.pinBlocked) return { sw: SW.AUTH_METHOD_BLOCKED };
      if (this.#card.userAuthenticated) return { sw: SW.OK };
      return { sw: swTriesLeft(this.#card.pinTriesLeft) };
    }
    return { sw: this.#card.verifyPin(data.toString('utf8')).sw };
  }

  // RESET RETRY COUNTER P1 02 P2 80: a new user PIN, only after admin authentication.
  #resetRetryCounter(apdu: CommandApdu): Reply {
    const { p1, p2, data } = apdu;
    if (p1 !== 0x02) return { sw: SW.WRONG_P1P2 };
    if (p2 !== USER_PIN_REF) return { sw: SW.REFERENCED_DATA_NOT_FOUND };
    if (data.length === 0) return { sw: SW.WRONG_LENGTH };
    const result = this.#card.resetPin(data.toString('utf8'));
    // Admin rights are for one unblock: they drop after it, as on the GIDS applet.
    if (result.ok) this.#card.logout();
    return { sw: result.sw };
  }

  // CHANGE REFERENCE DATA P1 00 P2 80: old PIN then new PIN, no separator.
  #changeReferenceData(apdu: CommandApdu): Reply {
    const { p1, p2, data } = apdu;
    if (p1 !== 0x00) return { sw: SW.WRONG_P1P2 };
    if (p2 !== USER_PIN_REF) return { sw: SW.REFERENCED_DATA_NOT_FOUND };
    if (data.length === 0) return { sw: SW.WRONG_LENGTH };
    // GIDS PINs are not padded, so the card splits at its own PIN's length. Every
    // non-empty command is counted as an attempt, whatever its length: refusing short
    // data for free would tell the caller how long the PIN is.
    return { sw: this.#card.changePinJoined(data).sw };
  }

  // GET DATA: P1 P2 the file, data 5C <DO id>.
  #getData(apdu: CommandApdu): Reply {
    const file = (apdu.p1 << 8) | apdu.p2;
    const tag = readSingleTlv(apdu.data);
    if (!tag || tag.tag !== 0x5c) return { sw: apdu.data.length === 0 ? SW.WRONG_LENGTH : SW.WRONG_DATA };
    if (tag.value.length < 1 || tag.value.length > 3) return { sw: SW.WRONG_DATA };
    const dataObject = tag.value.reduce((n, b) => (n << 8) | b, 0);
    const state = this.#card.snapshot();
    const answer = readDataObject(file, dataObject, {
      cardIdBytes: parseGuid(state.cardId),
      pinTriesLeft: state.pinTriesLeft,
      pinTriesLimit: state.pinTriesLimit,
    });
    return answer.ok ? { data: answer.value, sw: SW.OK } : { sw: answer.sw };
  }

  // PUT DATA 3FFF: import of the admin key (key reference 80), only after admin authentication.
  #putData(apdu: CommandApdu): Reply {
    const file = (apdu.p1 << 8) | apdu.p2;
    if (apdu.data.length === 0) return { sw: SW.WRONG_LENGTH };
    if (file !== APPLET_EFID) {
      // The minidriver files (A0xx) are read-only on this card: it holds no certificates.
      return { sw: this.#card.adminAuthenticated || this.#card.userAuthenticated ? SW.CONDITIONS_NOT_SATISFIED : SW.SECURITY_STATUS_NOT_SATISFIED };
    }
    const parsed = parseKeyImport(apdu.data);
    if (!parsed.ok) return { sw: parsed.sw };
    if (parsed.keyRef !== ADMIN_KEY_REF) return { sw: SW.REFERENCED_DATA_NOT_FOUND };
    return { sw: this.#card.changeAdminKey(parsed.key).sw };
  }

  #record(command: Uint8Array, parsed: CommandApdu | null, response: Buffer, sw: number): void {
    this.#count += 1;
    if (this.#limit === 0 && !this.#onExchange) return;
    const exchange: ApduExchange = {
      index: this.#count,
      name: parsed ? (INS_NAMES[parsed.ins] ?? `INS ${hexByte(parsed.ins)}`) : '(malformed)',
      command: maskedCommand(command, parsed),
      response: spacedHex(response),
      sw,
    };
    if (this.#limit > 0) {
      this.#transcript.push(exchange);
      if (this.#transcript.length > this.#limit) this.#transcript.splice(0, this.#transcript.length - this.#limit);
    }
    this.#onExchange?.(exchange);
  }
}

/** GENERAL AUTHENTICATE reports a wrong response as 6982 (docs/protocol.md#apdu-commands), not 63Cx. */
function authFailureSw(result: CardResult): number {
  if (result.ok) return SW.OK;
  if (result.sw === SW.AUTH_METHOD_BLOCKED || result.sw === SW.CONDITIONS_NOT_SATISFIED) return result.sw;
  return SW.SECURITY_STATUS_NOT_SATISFIED;
}

/** The command as hex, with the data of PIN and key commands replaced by `**`. */
function maskedCommand(command: Uint8Array, parsed: CommandApdu | null): string {
  const hex = spacedHex(command);
  if (!parsed) {
    // Unparseable: its bytes could still hold a PIN; show the header only.
    return command.length > 4 ? `${spacedHex(command.subarray(0, 4))} ** (${command.length - 4} bytes)` : hex;
  }
  if (!SECRET_DATA_INS.has(parsed.ins) || parsed.data.length === 0) return hex;
  const bytes = Buffer.from(command);
  const start = commandDataOffset(bytes);
  const parts = spacedHex(bytes).split(' ');
  for (let i = start; i < start + parsed.data.length && i < parts.length; i++) parts[i] = '**';
  return parts.join(' ');
}

function spacedHex(bytes: Uint8Array): string {
  return toHex(bytes).replace(/(..)(?=.)/g, '$1 ');
}

function hexByte(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}
