import { createHash, randomBytes } from 'node:crypto';
import { formatGuid, parseGuid, toHex } from './bytes.js';
import { InputError } from './errors.js';
import { GIDS_ATR } from './gids.js';
import { SW, formatSw, parseAtr, swTriesLeft } from './iso7816.js';
import { systemRandom, type RandomSource } from './random.js';
import { adminKeyLengthProblem, checkAdminKey, constantTimeEqual, tdesEncrypt } from './tdes.js';
import { DEFAULT_CHALLENGE, challengeLengthProblem } from './validate.js';

// Where these lived before iso7816.ts and validate.ts took them: kept so imports from card.ts still work.
export { atrProblem, formatSw, parseAtr } from './iso7816.js';
export { MAX_CHALLENGE, challengeLengthProblem } from './validate.js';

/**
 * The virtual card's security core: keys, PIN, counters and the pending challenge, as one
 * state machine (after the GIDS applet's PIN manager). It knows nothing of APDUs, files
 * or the CLI: `apdu.ts` dispatches commands to it, `card-file.ts` persists it.
 *
 * Durability: every change to a counter is handed to `persist` *before* the secret is
 * compared, as a real card writes its EEPROM first, so a process that dies mid-operation
 * never gains a free attempt.
 */

/** Windows smart card result names (winerror.h / the minidriver spec). */
export type ScardCode =
  'SCARD_S_SUCCESS' | 'SCARD_W_WRONG_CHV' | 'SCARD_W_CHV_BLOCKED' | 'SCARD_W_SECURITY_VIOLATION' | 'SCARD_E_INVALID_PARAMETER' | 'SCARD_E_INVALID_CHV';

export interface CardResult {
  readonly ok: boolean;
  /** The Windows meaning, as a minidriver would report it. */
  readonly scard: ScardCode;
  /** The ISO 7816 status word, e.g. 0x9000, 0x63C2, 0x6983, 0x6985, 0x6982. */
  readonly sw: number;
  /** Attempts left on the counter involved; null when that counter has no limit. */
  readonly attemptsRemaining?: number | null;
  /** One line for people. */
  readonly message: string;
}

/** Everything a card keeps, as plain JSON-able data (see card-file.ts for the file form). */
export interface CardState {
  readonly version: 1;
  cardId: string;
  atr: string;
  serial: string;
  /** hex, 24 bytes (or 16 for 2-key) */
  adminKey: string;
  /** null: no limit (like the open-source GIDS applet) */
  adminTriesLimit: number | null;
  adminTriesLeft: number | null;
  pin: string;
  pinTriesLimit: number;
  pinTriesLeft: number;
  /** hex; the challenge handed out and not yet answered; single-use */
  pendingChallenge: string | null;
}

export interface NewCardOptions {
  adminKey: Uint8Array;
  pin: string;
  cardId?: string;
  atr?: string;
  adminTries?: number | null;
  pinTries?: number;
  random?: RandomSource;
}

export interface CardRuntime {
  random?: RandomSource;
  /** Called synchronously with the new state at every commit point. */
  persist?: (state: Readonly<CardState>) => void;
  /**
   * Called as every operation starts: returns a newer state when the store was changed
   * by someone else (another process using the same card file), else null. The newer
   * state replaces the card's, and authentications drop, as after a card reset.
   */
  refresh?: () => CardState | null;
  /**
   * Runs one whole operation (refresh, change, every persist) as a unit: a store shared
   * with other processes holds its lock for the call, so no other writer lands between
   * this operation's read and its write. Called once per public operation, never nested.
   */
  transaction?: <T>(body: () => T) => T;
}

/** The ATR a new card answers unless given one: a GIDS ATR (see gids.ts). */
export const DEFAULT_ATR = GIDS_ATR;
export const DEFAULT_ADMIN_TRIES = 5;
export const DEFAULT_PIN_TRIES = 3;
export const PIN_MIN = 4;
export const PIN_MAX = 127;
/** Most tries a counter can have: the retry count must fit the x of status word 63Cx. */
export const MAX_TRIES = 15;

/** A challenge the card handed out. */
export interface ChallengeIssued extends CardResult {
  readonly ok: true;
  readonly challenge: Buffer;
}

/** A refusal by the card, as getChallenge throws it for callers that expect a challenge. */
export class CardRefusedError extends Error {
  override readonly name = 'CardRefusedError';
  constructor(readonly result: CardResult) {
    super(describeResult(result));
  }
}

export class VirtualCard {
  #state: CardState;
  readonly #random: RandomSource;
  readonly #persist: (state: Readonly<CardState>) => void;
  readonly #refresh: (() => CardState | null) | undefined;
  readonly #transaction: <T>(body: () => T) => T;
  #inOperation = false;
  #adminAuthenticated = false;
  #userAuthenticated = false;

  private constructor(state: CardState, runtime: CardRuntime) {
    this.#state = state;
    this.#random = runtime.random ?? systemRandom;
    this.#persist = runtime.persist ?? (() => {});
    this.#refresh = runtime.refresh;
    this.#transaction = runtime.transaction ?? ((body) => body());
  }

  /**
   * One operation as a unit: inside the store's transaction, first pick up what others
   * wrote, then run. Operations built from others (unblock, change PIN) stay one unit.
   */
  #atomic<T>(body: () => T): T {
    if (this.#inOperation) return body();
    this.#inOperation = true;
    try {
      return this.#transaction(() => {
        this.#sync();
        return body();
      });
    } finally {
      this.#inOperation = false;
    }
  }

  /** Picks up a state another holder of the store wrote since our last look. */
  #sync(): void {
    const fresh = this.#refresh?.();
    if (fresh) {
      this.#state = structuredClone(fresh);
      this.#adminAuthenticated = false;
      this.#userAuthenticated = false;
    }
  }

  /** A new card. Throws InputError on a bad key, PIN, cardid or limit. */
  static create(options: NewCardOptions, runtime: CardRuntime = {}): VirtualCard {
    const adminKey = checkAdminKey(options.adminKey);
    checkPin(options.pin, 'PIN');
    const adminTries = options.adminTries === undefined ? DEFAULT_ADMIN_TRIES : options.adminTries;
    if (adminTries !== null) checkLimit(adminTries, 'admin tries');
    const pinTries = options.pinTries ?? DEFAULT_PIN_TRIES;
    checkLimit(pinTries, 'PIN tries');
    const random = runtime.random ?? options.random ?? systemRandom;
    const idBytes = options.cardId ? parseGuid(options.cardId) : uuidV4(random);
    const atr = toHex(parseAtr(options.atr ?? DEFAULT_ATR));
    const state: CardState = {
      version: 1,
      cardId: formatGuid(idBytes),
      atr,
      serial: toHex(idBytes).toUpperCase(),
      adminKey: toHex(adminKey),
      adminTriesLimit: adminTries,
      adminTriesLeft: adminTries,
      pin: options.pin,
      pinTriesLimit: pinTries,
      pinTriesLeft: pinTries,
      pendingChallenge: null,
    };
    return new VirtualCard(state, { ...runtime, random });
  }

  /** A card from saved state (a power-on: no authentication survives). */
  static fromState(state: CardState, runtime: CardRuntime = {}): VirtualCard {
    return new VirtualCard(structuredClone(state), runtime);
  }

  /** A copy of the state, keys and PIN included: keep it away from logs. */
  snapshot(): CardState {
    this.#sync();
    return structuredClone(this.#state);
  }

  get cardId(): string {
    this.#sync();
    return this.#state.cardId;
  }
  get atr(): string {
    this.#sync();
    return this.#state.atr;
  }
  get adminAuthenticated(): boolean {
    this.#sync();
    return this.#adminAuthenticated;
  }
  get userAuthenticated(): boolean {
    this.#sync();
    return this.#userAuthenticated;
  }
  get adminTriesLeft(): number | null {
    this.#sync();
    return this.#state.adminTriesLeft;
  }
  get pinTriesLeft(): number {
    this.#sync();
    return this.#state.pinTriesLeft;
  }
  get pinBlocked(): boolean {
    this.#sync();
    return this.#state.pinTriesLeft === 0;
  }
  get adminBlocked(): boolean {
    this.#sync();
    return this.#state.adminTriesLeft === 0;
  }
  get hasPendingChallenge(): boolean {
    this.#sync();
    return this.#state.pendingChallenge !== null;
  }

  /**
   * GET CHALLENGE: a fresh challenge of `length` bytes (8 by default) that replaces any
   * pending one. A blocked admin key gets none (6983): no answer could be accepted, and
   * the blocking attempt already consumed the last one. A length the card does not hand
   * out is refused (6700). The one place this rule lives: APDUs and the CLI ask here.
   */
  issueChallenge(length = DEFAULT_CHALLENGE): ChallengeIssued | CardResult {
    const answer = this.#challenge(length);
    return Buffer.isBuffer(answer) ? { ...success('challenge issued', this.#state.adminTriesLeft), ok: true, challenge: answer } : answer;
  }

  /**
   * issueChallenge for callers that expect a challenge: throws InputError for a length the
   * card does not hand out, CardRefusedError when the card refuses (admin key blocked).
   */
  getChallenge(length = DEFAULT_CHALLENGE): Buffer {
    const answer = this.#challenge(length);
    if (Buffer.isBuffer(answer)) return answer;
    if (answer.sw === SW.WRONG_LENGTH) throw new InputError(answer.message);
    throw new CardRefusedError(answer);
  }

  /** The challenge, or the card's refusal (no result object on the hot path: the load engine calls this per request). */
  #challenge(length: number): Buffer | CardResult {
    const badLength = challengeLengthProblem(length);
    if (badLength) return { ok: false, scard: 'SCARD_E_INVALID_PARAMETER', sw: SW.WRONG_LENGTH, message: badLength };
    return this.#atomic(() => {
      if (this.#state.adminTriesLeft === 0) return { ...blockedAdmin(), message: 'admin key is blocked: no challenge issued' };
      const challenge = this.#random(length);
      this.#state.pendingChallenge = toHex(challenge);
      this.#persist(this.#state);
      return challenge;
    });
  }

  /**
   * Admin authentication with the response to the pending challenge. The challenge is
   * consumed and the counter decremented (and persisted) before the comparison.
   */
  authenticateAdmin(response: Uint8Array): CardResult {
    return this.#attemptAdmin(
      (key, challenge) => constantTimeEqual(tdesEncrypt(key, challenge), response),
      (left) => ({
        ok: false,
        scard: 'SCARD_W_WRONG_CHV',
        sw: left === null ? SW.SECURITY_STATUS_NOT_SATISFIED : swTriesLeft(left),
        attemptsRemaining: left,
        message: `wrong admin response${left === null ? '' : `, ${left} admin attempt(s) left`}`,
      }),
      'wrong admin response; admin key is blocked',
    );
  }

  /** Unblock: admin response plus new PIN; resets the PIN counter. Admin rights drop after. */
  unblockPin(response: Uint8Array, newPin: string): CardResult {
    const bad = pinProblem(newPin, 'new PIN');
    if (bad) return invalidParameter(bad);
    return this.#atomic(() => {
      const auth = this.authenticateAdmin(response);
      if (!auth.ok) return auth;
      const result = this.resetPin(newPin);
      this.#adminAuthenticated = false;
      return result.ok ? success('PIN unblocked and set', this.#state.pinTriesLeft) : result;
    });
  }

  /** RESET RETRY COUNTER after admin authentication: new PIN, counter back to its limit. */
  resetPin(newPin: string): CardResult {
    return this.#atomic(() => {
      if (!this.#adminAuthenticated) return notAuthenticated('admin');
      const bad = pinProblem(newPin, 'new PIN');
      if (bad) return invalidParameter(bad);
      this.#state.pin = newPin;
      this.#state.pinTriesLeft = this.#state.pinTriesLimit;
      this.#persist(this.#state);
      this.#userAuthenticated = false;
      return success('PIN set, retry counter reset', this.#state.pinTriesLeft);
    });
  }

  /** VERIFY of the user PIN: decrement first, compare, restore on success. */
  verifyPin(pin: string): CardResult {
    return this.#atomic(() => {
      this.#userAuthenticated = false;
      if (this.#state.pinTriesLeft === 0) return blockedPin();
      this.#state.pinTriesLeft -= 1;
      this.#persist(this.#state);
      if (!pinEquals(this.#state.pin, pin)) {
        const left = this.#state.pinTriesLeft;
        if (left === 0) return { ...blockedPin(), message: 'wrong PIN; PIN is blocked' };
        return { ok: false, scard: 'SCARD_W_WRONG_CHV', sw: swTriesLeft(left), attemptsRemaining: left, message: `wrong PIN, ${left} attempt(s) left` };
      }
      this.#state.pinTriesLeft = this.#state.pinTriesLimit;
      this.#persist(this.#state);
      this.#userAuthenticated = true;
      return success('PIN verified', this.#state.pinTriesLeft);
    });
  }

  /**
   * CHANGE REFERENCE DATA for the user PIN: the old PIN must verify. The attempt is
   * counted before the new PIN is looked at, so a malformed new PIN tells nothing for free.
   */
  changePin(oldPin: string, newPin: string): CardResult {
    return this.#atomic(() => {
      const verified = this.verifyPin(oldPin);
      if (!verified.ok) return verified;
      const bad = pinProblem(newPin, 'new PIN');
      if (bad) return invalidParameter(bad);
      this.#state.pin = newPin;
      this.#persist(this.#state);
      return success('PIN changed', this.#state.pinTriesLeft);
    });
  }

  /**
   * CHANGE REFERENCE DATA as GIDS carries it: old and new PIN joined with no separator.
   * The card splits at its own PIN's length (kept inside the card); any non-empty data
   * costs an attempt, so the answer never reveals that length.
   */
  changePinJoined(data: Uint8Array): CardResult {
    return this.#atomic(() => {
      const bytes = Buffer.from(data);
      const stored = Buffer.byteLength(this.#state.pin, 'utf8');
      return this.changePin(bytes.subarray(0, stored).toString('utf8'), bytes.subarray(stored).toString('utf8'));
    });
  }

  /** Uses up the PIN's tries, as a user typing wrong PINs would (for tests and demos). */
  blockPin(): CardResult {
    return this.#atomic(() => {
      this.#userAuthenticated = false;
      this.#state.pinTriesLeft = 0;
      this.#persist(this.#state);
      return blockedPin();
    });
  }

  /** Replaces the admin key; only after admin authentication (the enrollment flow). */
  changeAdminKey(newKey: Uint8Array): CardResult {
    return this.#atomic(() => {
      if (!this.#adminAuthenticated) return notAuthenticated('admin');
      const badKey = adminKeyLengthProblem(newKey.length);
      if (badKey) return invalidParameter(`new admin key ${badKey}`);
      this.#state.adminKey = toHex(newKey);
      this.#persist(this.#state);
      return success('admin key changed', this.#state.adminTriesLeft);
    });
  }

  /** Lends the admin key to a protocol layer that builds cryptograms (GIDS mutual auth's C2). */
  withAdminKey<T>(use: (key: Buffer) => T): T {
    return this.#atomic(() => use(this.#adminKey()));
  }

  /**
   * Counts one admin attempt for a flow whose check happens outside this class (GIDS
   * mutual authentication): consumes the pending challenge and decrements first; `check`
   * runs after the persist, and its result settles the counter.
   */
  adminAttempt(check: (key: Buffer, challenge: Buffer) => boolean): CardResult {
    return this.#attemptAdmin(
      check,
      (left) => ({
        ok: false,
        scard: 'SCARD_W_WRONG_CHV',
        sw: SW.SECURITY_STATUS_NOT_SATISFIED,
        attemptsRemaining: left,
        message: 'admin authentication failed',
      }),
      'admin authentication failed; admin key is blocked',
    );
  }

  /**
   * The one admin counter: consume the challenge and decrement, persist, then check;
   * success restores the counter. `wrong` shapes the failure for the flow at hand.
   */
  #attemptAdmin(check: (key: Buffer, challenge: Buffer) => boolean, wrong: (left: number | null) => CardResult, blockedMessage: string): CardResult {
    return this.#atomic(() => this.#attemptAdminNow(check, wrong, blockedMessage));
  }

  #attemptAdminNow(check: (key: Buffer, challenge: Buffer) => boolean, wrong: (left: number | null) => CardResult, blockedMessage: string): CardResult {
    this.#adminAuthenticated = false;
    if (this.#state.adminTriesLeft === 0) return blockedAdmin();
    const pending = this.#state.pendingChallenge;
    if (pending === null) {
      return {
        ok: false,
        scard: 'SCARD_W_SECURITY_VIOLATION',
        sw: SW.CONDITIONS_NOT_SATISFIED,
        attemptsRemaining: this.#state.adminTriesLeft,
        message: 'no challenge is pending: ask the card for a challenge first',
      };
    }
    this.#state.pendingChallenge = null;
    if (this.#state.adminTriesLeft !== null) this.#state.adminTriesLeft -= 1;
    this.#persist(this.#state);
    if (!check(this.#adminKey(), Buffer.from(pending, 'hex'))) {
      const left = this.#state.adminTriesLeft;
      return left === 0 ? { ...blockedAdmin(), message: blockedMessage } : wrong(left);
    }
    this.#state.adminTriesLeft = this.#state.adminTriesLimit;
    this.#persist(this.#state);
    this.#adminAuthenticated = true;
    return success('admin authenticated', this.#state.adminTriesLeft);
  }

  /** Drops every authentication (VERIFY P2 82, SELECT). */
  logout(): void {
    this.#adminAuthenticated = false;
    this.#userAuthenticated = false;
  }

  /** Power off or reset: authentications and the pending challenge are gone. */
  reset(): void {
    this.logout();
    // Read first, lock only to write: a reader powers cards on and off often.
    this.#sync();
    if (this.#state.pendingChallenge === null) return;
    this.#atomic(() => {
      this.logout();
      if (this.#state.pendingChallenge !== null) {
        this.#state.pendingChallenge = null;
        this.#persist(this.#state);
      }
    });
  }

  #adminKey(): Buffer {
    return Buffer.from(this.#state.adminKey, 'hex');
  }
}

/** The card's one line for people, with both codes: `wrong PIN, 2 attempt(s) left (SCARD_W_WRONG_CHV, SW 63C2)`. */
export function describeResult(result: CardResult): string {
  return `${result.message} (${result.scard}, SW ${formatSw(result.sw)})`;
}

function success(message: string, attemptsRemaining: number | null): CardResult {
  return { ok: true, scard: 'SCARD_S_SUCCESS', sw: SW.OK, attemptsRemaining, message };
}
function blockedAdmin(): CardResult {
  return { ok: false, scard: 'SCARD_W_CHV_BLOCKED', sw: SW.AUTH_METHOD_BLOCKED, attemptsRemaining: 0, message: 'admin key is blocked' };
}
function blockedPin(): CardResult {
  return { ok: false, scard: 'SCARD_W_CHV_BLOCKED', sw: SW.AUTH_METHOD_BLOCKED, attemptsRemaining: 0, message: 'PIN is blocked' };
}
function notAuthenticated(role: string): CardResult {
  return { ok: false, scard: 'SCARD_W_SECURITY_VIOLATION', sw: SW.SECURITY_STATUS_NOT_SATISFIED, message: `${role} authentication required` };
}
function invalidParameter(message: string): CardResult {
  return { ok: false, scard: 'SCARD_E_INVALID_CHV', sw: SW.WRONG_DATA, message };
}

/** Why a PIN cannot be set on this card (length in UTF-8 bytes), or null when it can. */
export function pinProblem(pin: string, what = 'PIN'): string | null {
  const bytes = Buffer.byteLength(pin, 'utf8');
  if (bytes < PIN_MIN || bytes > PIN_MAX) return `${what} must be ${PIN_MIN} to ${PIN_MAX} bytes, got ${bytes}`;
  return null;
}
function checkPin(pin: string, what: string): void {
  const problem = pinProblem(pin, what);
  if (problem) throw new InputError(problem);
}
function checkLimit(n: number, what: string): void {
  const problem = triesProblem(n, what);
  if (problem) throw new InputError(problem);
}

/** Why `n` cannot be a retry limit (a whole number from 1 to MAX_TRIES), or null when it can. */
export function triesProblem(n: number, what = 'tries'): string | null {
  if (!Number.isInteger(n) || n < 1 || n > MAX_TRIES) return `${what} must be a whole number from 1 to ${MAX_TRIES}, got ${n}`;
  return null;
}

/** Constant time whatever the lengths: compare digests, not the PINs. */
function pinEquals(a: string, b: string): boolean {
  const salt = randomBytes(16);
  const h = (s: string) => createHash('sha256').update(salt).update(s, 'utf8').digest();
  return constantTimeEqual(h(a), h(b));
}

function uuidV4(random: RandomSource): Buffer {
  const b = random(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}
