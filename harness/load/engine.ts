import { VirtualCard } from '../../simulator/card.js';
import { systemRandom, type RandomSource } from '../../simulator/random.js';
import { constantTimeEqual, ecbEncryptor } from '../../simulator/tdes.js';
import { decodeCryptogram } from '../wire/decode.js';
import { meansNoAnswer, TransportError } from '../wire/transport-error.js';
import { LatencyHistogram } from './histogram.js';
import { type Profile } from './stages.js';
import { Timeline } from './timeline.js';

/**
 * The load loop, free of HTTP. Each connection is a slot holding its own virtual cards; an
 * exchange is: a card issues a challenge -> `send` on the slot's connection -> the card
 * judges the answer. The transport is injected (harness/wire/load-transport.ts in the CLI,
 * a fake in unit tests), so the counting rules live here alone.
 *
 * Two models:
 * - closed (`concurrency`): N workers, each starting its next exchange when the last one
 *   ended; latency is the round trip. A slow server slows the load down, so a stall shows
 *   in few samples (coordinated omission).
 * - open (`rate`): exchanges are due on a schedule whether or not earlier ones ended;
 *   latency runs from the time the exchange was due, so a stall counts for every exchange
 *   it delayed (as wrk2 measures). An exchange due while every connection is busy is
 *   dropped (counted, never silently skipped).
 * Both follow a Profile: a constant, or stages ramping the workers or the rate.
 *
 * Counting rules (one exchange = one challenge sent):
 * - a transport failure (refused, timeout, reset, ...) is an error, with no status code;
 * - a response other than 200 is an error, counted under its status code;
 * - a 200 whose body the card does not accept is a wrong cryptogram, never an error; a
 *   body that is not a JSON string of base64 of the challenge's length is one too, since
 *   the card cannot accept it either (also counted apart as `malformedBodies`).
 */

export interface LoadCardSpec {
  /** The key the card holds: the server must answer with it. */
  adminKey: Uint8Array;
  cardid: string;
}

export type StopRule = { exchanges: number } | { durationMs: number };

/** How the transport reports one exchange: an error (no answer), or a status and a body. */
export type ReplyCallback = (err: unknown, status: number, body: string) => void;

/** Sends the challenge for card `cardIndex` on connection `connection`; calls `done` once. */
export type Sender = (connection: number, cardIndex: number, challenge: Buffer, done: ReplyCallback) => void;

export type LoadModel =
  /** `profile` gives the number of workers over time (each with its own connection). */
  | { kind: 'closed'; profile: Profile }
  /** `profile` gives exchanges due per second over time; `connections` caps those in flight. */
  | { kind: 'open'; profile: Profile; connections: number };

export interface LoadPlan {
  cards: LoadCardSpec[];
  model: LoadModel;
  /** Exchanges (closed: started; open: due, started or dropped) or a length of time. */
  stop: StopRule;
  send: Sender;
  /** Milliseconds, monotonic. Default performance.now. */
  now?: () => number;
  random?: RandomSource;
  /** Aborting stops new exchanges; those in flight finish and are counted. */
  signal?: AbortSignal;
  /** How many wrong cryptograms to keep with their challenge and answer. Default 5. */
  keepWrong?: number;
  /** Width of a timeline point, ms. Default: 1 s, wider for long planned runs. */
  timelineIntervalMs?: number;
}

/** A wrong cryptogram kept for its diagnosis. */
export interface WrongSample {
  cardIndex: number;
  challenge: Buffer;
  /** The decoded cryptogram; null when the body was not a base64 JSON string of the challenge's length. */
  response: Buffer | null;
  /** The 200 body as received. */
  body: string;
  /** ms from the start of the run. */
  atMs: number;
}

export interface StageStats {
  /** ms from the start of the run. */
  startMs: number;
  /** Planned length (Infinity for the one stage of an --exchanges run). */
  durationMs: number;
  /** The profile's value at the start and the end of the stage. */
  from: number;
  to: number;
  /** Exchanges started in the stage (by their due time in the open model). */
  exchanges: number;
  dropped: number;
  verified: number;
  errors: number;
  wrongCryptograms: number;
  latency: LatencyHistogram;
  /** How long the run spent in the stage, ms. */
  elapsedMs: number;
}

export interface LoadStats {
  model: 'closed' | 'open';
  exchanges: number;
  /** Exchanges whose 200 response the card accepted. */
  verified: number;
  wrongCryptograms: number;
  malformedBodies: number;
  /** Transport failures plus non-200 responses. */
  errors: number;
  /** Open model: exchanges due while every connection was busy, never sent. */
  dropped: number;
  transportErrors: Record<string, number>;
  statusCodes: Record<string, number>;
  /**
   * Every exchange that got a response: closed model, the round trip; open model, from the
   * time the exchange was due (so waiting for the client's own schedule counts too).
   */
  latency: LatencyHistogram;
  stages: StageStats[];
  timeline: Timeline;
  /** The first few wrong cryptograms (see LoadPlan.keepWrong). */
  wrongSamples: WrongSample[];
  startedAt: number;
  /** Elapsed ms so far (live) or of the whole run (final). */
  elapsedMs: number;
  /** The first transport failure's message, for the one-line report. */
  firstTransportError: string | null;
  /** Set when the run stopped because no request ever got a response. */
  unreachable: boolean;
  /** Set when the signal stopped the run early. */
  interrupted: boolean;
  /** Set when stop(reason) ended the run early (e.g. a threshold that can no longer hold). */
  stoppedBy: string | null;
}

/** What may still happen, for deciding early whether a threshold can still hold. */
export interface RunOutlook {
  /** Exchanges in flight plus those still to start; Infinity when the run is bounded by time in the closed model. */
  remaining: number;
  /** Exchanges still due that could yet be dropped (open model). */
  droppable: number;
  /** The shortest the run can still last in all, ms (open model: its last due time); NaN when unknown. */
  minDurationMs: number;
}

/** Bounds that keep a run finite and the machine usable. */
export const MAX_CONCURRENCY = 1024;
export const MAX_CONNECTIONS = 1024;
/** Exchanges per second, open model: beyond this the schedule, not the server, is measured. */
export const MAX_RATE = 1_000_000;
/** Exchanges the open schedule starts (or drops) per event-loop turn at most. */
const TICK_BUDGET = 256;

/** The connections a plan needs: one per worker (closed), or the open model's pool. */
export function connectionsFor(model: LoadModel, stop: StopRule): number {
  if (model.kind === 'open') return model.connections;
  const peak = Math.ceil(model.profile.peak - 1e-9);
  return 'exchanges' in stop ? Math.min(peak, stop.exchanges) : peak;
}

/**
 * One card object's challenges and their expected answers. The card draws its challenge
 * bytes from `random` (its RandomSource), which hands out a batch drawn from the run's
 * source; the check finds the answer to the card's last challenge in the batch's 3DES-ECB
 * under the key the card lends, made in one cipher call per batch. ECB encrypts each 8-byte
 * block on its own, so the batch's encryption holds exactly each challenge's encryption:
 * the same check as one encryption per exchange, without a native cipher call (and a new
 * Buffer) per exchange, which was the loop's largest single cost. Batches start at 8
 * challenges and double up to 4 KiB, so a card object played rarely (many cards, a large
 * open-model pool) holds little. Anything unexpected (another length, a challenge not from
 * the batch, another key) takes the plain path: encrypt that challenge under that key.
 */
export class CardChallenges {
  readonly #source: RandomSource;
  #pool: Buffer = Buffer.alloc(0);
  #at = 0;
  #size = 64;
  /** Where the last challenge handed out starts in the pool (-1: not from the pool), and its length. */
  #last = -1;
  #lastLength = 0;
  /** The pool's 3DES-ECB under #key, made when first needed. */
  #encrypted: Buffer | null = null;
  #key: Buffer | null = null;
  #encrypt: ((data: Uint8Array) => Buffer) | null = null;
  readonly random: RandomSource = (length) => {
    if (length > MAX_BATCH) {
      this.#last = -1;
      return this.#source(length);
    }
    if (this.#at + length > this.#pool.length) {
      if (this.#pool.length > 0) this.#size = Math.min(MAX_BATCH, this.#size * 2);
      this.#pool = this.#source(Math.max(this.#size, length));
      this.#at = 0;
      this.#encrypted = null;
    }
    const out = Buffer.allocUnsafe(length); // a copy: the card keeps it
    this.#pool.copy(out, 0, this.#at, this.#at + length);
    this.#last = this.#at;
    this.#lastLength = length;
    this.#at += length;
    return out;
  };

  constructor(source: RandomSource) {
    this.#source = source;
  }

  /** True when `response` is the 3DES-ECB of `challenge` under `key`, compared in constant time. */
  verify(key: Buffer, challenge: Buffer, response: Buffer): boolean {
    if (this.#key === null || !this.#key.equals(key)) {
      this.#key = Buffer.from(key);
      this.#encrypt = ecbEncryptor(key);
      this.#encrypted = null;
    }
    const at = this.#last;
    const n = challenge.length;
    if (at < 0 || at % 8 !== 0 || n !== this.#lastLength || n % 8 !== 0 || this.#pool.compare(challenge, 0, n, at, at + n) !== 0)
      return constantTimeEqual(this.#encrypt!(challenge), response);
    if (response.length !== n) return false;
    const expected = (this.#encrypted ??= this.#encrypt!(this.#pool));
    let diff = 0;
    for (let k = 0; k < n; k++) diff |= expected[at + k]! ^ response[k]!; // no early exit
    return diff === 0;
  }
}

/** The largest challenge batch a card object draws at once (512 challenges of 8 bytes). */
const MAX_BATCH = 4096;

/** One connection: its card objects and the exchange in flight on it. */
class Slot {
  readonly index: number;
  /** Closed model: the card identities this worker plays, in turn. */
  readonly mine: number[];
  readonly #cards: (VirtualCard | undefined)[];
  readonly #challenges: (CardChallenges | undefined)[];
  turn = 0;
  parked = false;
  card: VirtualCard | null = null;
  cardIndex = 0;
  challenge: Buffer | null = null;
  t0 = 0;
  stage = 0;
  /** The cryptogram being judged, read by `check`. */
  response: Buffer | null = null;
  /** Bound once: no closure per exchange. */
  readonly onReply: ReplyCallback;
  readonly next: () => void;
  /**
   * The card's check of the answer, run by the card itself (VirtualCard.adminAttempt: it
   * consumes its pending challenge, counts the attempt, and lends its own key): 3DES-ECB of
   * the challenge under that key, compared in constant time, as authenticateAdmin does
   * (CardChallenges: the encryption made for a batch of challenges at once).
   */
  readonly check: (key: Buffer, challenge: Buffer) => boolean;

  constructor(index: number, mine: number[], cardCount: number, run: LoadRun) {
    this.index = index;
    this.mine = mine;
    this.#cards = new Array<VirtualCard | undefined>(cardCount);
    this.#challenges = new Array<CardChallenges | undefined>(cardCount);
    this.onReply = (err, status, body) => run.complete(this, err, status, body);
    this.next = () => run.closedNext(this);
    this.check = (key, challenge) => this.#challenges[this.cardIndex]!.verify(key, challenge, this.response!);
  }

  /** This slot's card object for identity i, made on first use. */
  cardFor(i: number, spec: LoadCardSpec, random: RandomSource): VirtualCard {
    let card = this.#cards[i];
    if (card === undefined) {
      const challenges = new CardChallenges(random);
      // No admin-try limit: one wrong answer does not block the card for the rest of the run.
      card = VirtualCard.create({ adminKey: spec.adminKey, pin: '1234', cardId: spec.cardid, adminTries: null }, { random: challenges.random });
      this.#cards[i] = card;
      this.#challenges[i] = challenges;
    }
    return card;
  }
}

export class LoadRun {
  readonly stats: LoadStats;
  readonly #plan: LoadPlan;
  readonly #profile: Profile;
  readonly #open: boolean;
  readonly #now: () => number;
  readonly #random: RandomSource;
  readonly #slots: Slot[] = [];
  readonly #free: number[] = [];
  readonly #keepWrong: number;
  #started = 0;
  /** Open model: exchanges due so far (started or dropped). */
  #due = 0;
  #nextDueAt = Number.POSITIVE_INFINITY;
  /** Open model: the exchanges due in all, started or dropped. */
  #scheduled = Number.POSITIVE_INFINITY;
  #lastDueMs = Number.NaN;
  #inFlight = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #limit = Number.POSITIVE_INFINITY;
  #responses = 0;
  #noAnswers = 0;
  #stageCursor = 0;
  #ending = false;
  #finished = false;
  #resolve: (() => void) | null = null;
  #timer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #rampTimer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | null = null;

  constructor(plan: LoadPlan) {
    checkPlan(plan);
    this.#plan = plan;
    this.#profile = plan.model.profile;
    this.#open = plan.model.kind === 'open';
    this.#now = plan.now ?? (() => performance.now());
    this.#random = plan.random ?? pooledRandom(systemRandom);
    this.#keepWrong = plan.keepWrong ?? 5;
    const p = this.#profile;
    const plannedMs = 'durationMs' in plan.stop ? Math.min(plan.stop.durationMs, p.durationMs) : p.durationMs;
    const interval = plan.timelineIntervalMs ?? (Number.isFinite(plannedMs) ? Math.max(1000, Math.ceil(plannedMs / 600 / 1000) * 1000) : 1000);
    this.stats = {
      model: plan.model.kind,
      exchanges: 0,
      verified: 0,
      wrongCryptograms: 0,
      malformedBodies: 0,
      errors: 0,
      dropped: 0,
      transportErrors: {},
      statusCodes: {},
      latency: new LatencyHistogram(),
      stages: p.stages.map((s, i) => ({
        startMs: p.stageStartsMs[i]!,
        durationMs: s.durationMs,
        from: i === 0 ? p.start : p.stages[i - 1]!.target,
        to: s.target,
        exchanges: 0,
        dropped: 0,
        verified: 0,
        errors: 0,
        wrongCryptograms: 0,
        latency: new LatencyHistogram(),
        elapsedMs: 0,
      })),
      timeline: new Timeline(interval, (t) => p.valueAt(t)),
      wrongSamples: [],
      startedAt: 0,
      elapsedMs: 0,
      firstTransportError: null,
      unreachable: false,
      interrupted: false,
      stoppedBy: null,
    };
  }

  /** Runs to the stop rule; resolves with the final stats. */
  async run(): Promise<LoadStats> {
    const plan = this.#plan;
    const done = new Promise<void>((resolve) => (this.#resolve = resolve));
    const start = this.#now();
    this.stats.startedAt = start;
    if ('durationMs' in plan.stop) this.#deadline = start + Math.min(plan.stop.durationMs, this.#profile.durationMs);
    else {
      this.#limit = plan.stop.exchanges;
      if (Number.isFinite(this.#profile.durationMs)) this.#deadline = start + this.#profile.durationMs;
    }
    const slots = connectionsFor(plan.model, plan.stop);
    const cards = plan.cards.length;
    for (let k = 0; k < slots; k++) this.#slots.push(new Slot(k, this.#open ? [] : cardsOf(k, slots, cards), cards, this));
    this.#onAbort = () => {
      this.stats.interrupted = true;
      this.#end();
    };
    plan.signal?.addEventListener('abort', this.#onAbort, { once: true });
    // The closed model needs a timer to end parked workers; the open schedule ends itself
    // once every exchange due before the end was started or dropped.
    if (!this.#open && Number.isFinite(this.#deadline)) {
      // Node's timers may fire a little before performance.now() reaches the deadline: re-arm until it has.
      const atDeadline = (): void => {
        const left = this.#deadline - this.#now();
        if (left > 0) this.#deadlineTimer = setTimeout(atDeadline, Math.ceil(left));
        else this.#end();
      };
      this.#deadlineTimer = setTimeout(atDeadline, this.#deadline - start);
    }
    if (plan.signal?.aborted) this.#onAbort();
    else if (this.#open) this.#startOpen(start);
    else this.#startClosed();
    this.#maybeFinish();
    await done;
    return this.stats;
  }

  /** Elapsed ms, for live progress. */
  elapsed(): number {
    return this.#now() - this.stats.startedAt;
  }

  /** The profile's value now (workers or rate), for live progress. */
  target(): number {
    return this.#profile.valueAt(this.elapsed());
  }

  /** Ends the run early: no new exchange starts; those in flight finish and count. */
  stop(reason: string): void {
    if (this.#ending) return;
    this.stats.stoppedBy = reason;
    this.#end();
  }

  outlook(): RunOutlook {
    if (this.#open) {
      const left = this.#scheduled - this.#due;
      return { remaining: this.#inFlight + left, droppable: left, minDurationMs: this.#lastDueMs };
    }
    const left = Number.isFinite(this.#limit) && !this.#ending ? this.#limit - this.#started : this.#ending ? 0 : Number.POSITIVE_INFINITY;
    return { remaining: this.#inFlight + left, droppable: 0, minDurationMs: Number.NaN };
  }

  // ---- closed model ----

  #startClosed(): void {
    for (const slot of this.#slots) this.closedNext(slot);
    if (!this.#profile.constant) {
      // Workers above the profile's value wait; this wakes them as the ramp climbs.
      this.#rampTimer = setInterval(() => this.#wakeParked(), 10);
    }
  }

  /** A worker's next exchange, or its end. Public for the slots only. */
  closedNext(slot: Slot): void {
    if (this.#ending) return this.#maybeFinish();
    const now = this.#now();
    if (this.#started >= this.#limit || now >= this.#deadline) return this.#end();
    const t = now - this.stats.startedAt;
    if (!this.#profile.constant && slot.index >= this.#profile.valueAt(t)) {
      slot.parked = true;
      return;
    }
    const cardIndex = slot.mine[slot.turn++ % slot.mine.length]!;
    this.#issue(slot, cardIndex, now, t);
  }

  #wakeParked(): void {
    if (this.#ending) return;
    const value = this.#profile.valueAt(this.elapsed());
    for (const slot of this.#slots) {
      if (slot.parked && slot.index < value) {
        slot.parked = false;
        this.closedNext(slot);
      }
    }
  }

  // ---- open model ----

  #startOpen(start: number): void {
    const p = this.#profile;
    const plannedEnd = Number.isFinite(this.#deadline) ? this.#deadline - start : Number.POSITIVE_INFINITY;
    this.#scheduled = Math.min(this.#limit, Number.isFinite(plannedEnd) ? p.arrivalsBefore(plannedEnd) : Number.POSITIVE_INFINITY);
    if (Number.isFinite(this.#scheduled)) this.#lastDueMs = this.#scheduled > 0 ? p.arrivalTimeMs(this.#scheduled - 1) : 0;
    for (let k = this.#slots.length - 1; k >= 0; k--) this.#free.push(k); // pop() hands out 0 first
    this.#nextDueAt = this.#scheduled > 0 ? start + p.arrivalTimeMs(0) : Number.POSITIVE_INFINITY;
    this.#tick();
  }

  /** Starts (or drops) every exchange that is due, then sleeps until the next one. */
  #tick = (): void => {
    this.#timer = undefined;
    if (this.#ending) return;
    const start = this.stats.startedAt;
    const cards = this.#plan.cards.length;
    let now = this.#now();
    // A client that cannot keep up still lets answers in: at most this many per turn.
    let budget = TICK_BUDGET;
    while (this.#nextDueAt <= now) {
      if (budget-- === 0) {
        this.#timer = setTimeout(this.#tick, 0);
        return;
      }
      const dueAt = this.#nextDueAt;
      const t = dueAt - start;
      this.#stageCursor = this.#profile.stageAt(t, this.#stageCursor);
      const k = this.#free.pop();
      if (k === undefined) {
        this.stats.dropped += 1;
        this.stats.stages[this.#stageCursor]!.dropped += 1;
        this.stats.timeline.dropped(now - start);
      } else {
        this.#issue(this.#slots[k]!, this.#due % cards, dueAt, t);
        if (this.#ending) return; // the send failed at once and ended the run
      }
      this.#due += 1;
      this.#nextDueAt = this.#due < this.#scheduled ? start + this.#profile.arrivalTimeMs(this.#due, this.#stageCursor) : Number.POSITIVE_INFINITY;
      if (this.#nextDueAt > now) now = this.#now();
    }
    if (this.#due >= this.#scheduled || this.#nextDueAt >= this.#deadline) return this.#end();
    // Whole milliseconds, rounded up: a timer never fires early, so no exchange starts before it is due.
    this.#timer = setTimeout(this.#tick, Math.max(1, Math.ceil(this.#nextDueAt - now)));
  };

  // ---- both ----

  #issue(slot: Slot, cardIndex: number, t0: number, t: number): void {
    const card = slot.cardFor(cardIndex, this.#plan.cards[cardIndex]!, this.#random);
    if (!this.#open) this.#stageCursor = this.#profile.stageAt(t, this.#stageCursor);
    slot.card = card;
    slot.cardIndex = cardIndex;
    slot.challenge = card.getChallenge();
    slot.t0 = t0;
    slot.stage = this.#stageCursor;
    this.#started += 1;
    this.#inFlight += 1;
    this.stats.stages[this.#stageCursor]!.exchanges += 1;
    this.stats.timeline.started(t);
    try {
      this.#plan.send(slot.index, cardIndex, slot.challenge, slot.onReply);
    } catch (err) {
      slot.onReply(err, 0, '');
    }
  }

  /** One exchange ended. Public for the slots only. */
  complete(slot: Slot, err: unknown, status: number, body: string): void {
    const now = this.#now();
    const s = this.stats;
    const stage = s.stages[slot.stage]!;
    const card = slot.card!;
    const challenge = slot.challenge!;
    slot.challenge = null;
    this.#inFlight -= 1;
    s.exchanges += 1;
    let latencyUs = -1;
    let error = false;
    let wrong = false;
    if (err !== null && err !== undefined) {
      error = true;
      const kind = err instanceof TransportError ? err.kind : 'protocol';
      s.transportErrors[kind] = (s.transportErrors[kind] ?? 0) + 1;
      s.firstTransportError ??= err instanceof TransportError ? `${err.kind}: ${err.message}` : err instanceof Error ? err.message : String(err);
      // Nothing answered at all yet: after one no-answer failure per connection, the server
      // is unreachable (meansNoAnswer: a too-large body was an answer).
      if (meansNoAnswer(kind)) this.#noAnswers += 1;
      if (this.#responses === 0 && this.#noAnswers >= Math.min(this.#slots.length, this.#limit)) {
        s.unreachable = true;
        this.#end();
      }
    } else {
      latencyUs = (now - slot.t0) * 1000;
      s.latency.record(latencyUs);
      stage.latency.record(latencyUs);
      this.#responses += 1;
      s.statusCodes[status] = (s.statusCodes[status] ?? 0) + 1;
      if (status !== 200) {
        error = true;
      } else {
        const response = decodeCryptogram(body, challenge.length);
        if (response === null) {
          s.malformedBodies += 1;
          wrong = true;
          card.reset(); // drop the pending challenge: it was never answered
        } else {
          slot.response = response;
          if (card.adminAttempt(slot.check).ok) {
            s.verified += 1;
            stage.verified += 1;
          } else {
            wrong = true;
          }
          slot.response = null;
        }
        if (wrong && s.wrongSamples.length < this.#keepWrong) {
          s.wrongSamples.push({ cardIndex: slot.cardIndex, challenge, response, body, atMs: Math.round(now - s.startedAt) });
        }
      }
    }
    if (error) {
      s.errors += 1;
      stage.errors += 1;
    } else if (wrong) {
      s.wrongCryptograms += 1;
      stage.wrongCryptograms += 1;
    }
    s.timeline.completed(now - s.startedAt, latencyUs, error, wrong);
    if (this.#open) {
      this.#free.push(slot.index);
      if (this.#ending) this.#maybeFinish();
    } else {
      // Next exchange after the transport's callback has returned (no re-entry into it).
      queueMicrotask(slot.next);
    }
  }

  #end(): void {
    if (this.#ending) return;
    this.#ending = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#rampTimer) clearInterval(this.#rampTimer);
    this.#timer = this.#rampTimer = undefined;
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (!this.#ending || this.#inFlight > 0 || this.#finished || this.#resolve === null) return;
    this.#finished = true;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    if (this.#onAbort) this.#plan.signal?.removeEventListener('abort', this.#onAbort);
    const s = this.stats;
    s.elapsedMs = this.#now() - s.startedAt;
    s.timeline.finish(s.elapsedMs);
    for (const st of s.stages) st.elapsedMs = Math.max(0, Math.min(s.elapsedMs, st.startMs + st.durationMs) - st.startMs);
    this.#resolve();
  }
}

/** Runs a plan to its end. */
export function runLoad(plan: LoadPlan): Promise<LoadStats> {
  return new LoadRun(plan).run();
}

/** A Sender over a promise-returning function (tests, and transports without a callback path). */
export function senderOf(send: (cardIndex: number, challenge: Buffer, connection: number) => Promise<{ status: number; body: string }>): Sender {
  return (connection, cardIndex, challenge, done) => {
    send(cardIndex, challenge, connection).then(
      (r) => done(null, r.status, r.body),
      (err: unknown) => done(err ?? new Error('send failed'), 0, ''),
    );
  };
}

/**
 * Which cards worker w of n plays: with more workers than cards, several workers play
 * the same card identity (each with its own card object); with fewer, each worker takes
 * every n-th card in turn.
 */
export function cardsOf(worker: number, workers: number, cards: number): number[] {
  if (workers >= cards) return [worker % cards];
  const mine: number[] = [];
  for (let i = worker; i < cards; i += workers) mine.push(i);
  return mine;
}

/**
 * Challenge bytes from the system CSPRNG, fetched 4 KiB at a time: the card asks for 8
 * bytes per exchange and a syscall each time would be the loop's biggest cost.
 */
export function pooledRandom(source: RandomSource, poolSize = 4096): RandomSource {
  let pool = source(poolSize);
  let at = 0;
  return (length) => {
    if (length > poolSize) return source(length);
    if (at + length > pool.length) {
      pool = source(poolSize);
      at = 0;
    }
    const out = Buffer.allocUnsafe(length); // a copy: the card keeps it
    pool.copy(out, 0, at, at + length);
    at += length;
    return out;
  };
}

function checkPlan(plan: LoadPlan): void {
  if (plan.cards.length === 0) throw new RangeError('load needs at least one card');
  const m = plan.model;
  if (m.kind === 'closed') {
    if (!(m.profile.peak >= 1) || m.profile.peak > MAX_CONCURRENCY || (m.profile.constant && !Number.isInteger(m.profile.peak))) {
      throw new RangeError(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${m.profile.peak}`);
    }
  } else {
    if (!Number.isInteger(m.connections) || m.connections < 1 || m.connections > MAX_CONNECTIONS) {
      throw new RangeError(`connections must be a whole number from 1 to ${MAX_CONNECTIONS}, got ${m.connections}`);
    }
    if (!(m.profile.peak > 0) || m.profile.peak > MAX_RATE)
      throw new RangeError(`rate must be above 0 and at most ${MAX_RATE} per second, got ${m.profile.peak}`);
  }
  if ('exchanges' in plan.stop) {
    if (!Number.isInteger(plan.stop.exchanges) || plan.stop.exchanges < 1)
      throw new RangeError(`exchanges must be a whole number >= 1, got ${plan.stop.exchanges}`);
  } else if (!(plan.stop.durationMs > 0) || !Number.isFinite(plan.stop.durationMs)) {
    throw new RangeError(`duration must be a positive number, got ${plan.stop.durationMs}`);
  }
}
