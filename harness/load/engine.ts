import { VirtualCard } from '../../simulator/card.js';
import { systemRandom, type RandomSource } from '../../simulator/random.js';
import { decodeCryptogram } from '../wire/decode.js';
import type { Reply } from '../wire/load-transport.js';
import { meansNoAnswer, TransportError } from '../wire/transport-error.js';
import { LatencyHistogram } from './histogram.js';

/**
 * The load loop, free of HTTP: N workers, each with its own virtual cards, repeat
 * card challenge -> `send` -> the card judges the answer. The transport is injected
 * (harness/wire/load-transport.ts in the CLI, a fake in unit tests), so the counting
 * rules live here alone.
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

export interface LoadPlan {
  cards: LoadCardSpec[];
  concurrency: number;
  stop: StopRule;
  /** Sends the challenge for card `cardIndex` (an index into `cards`); throws TransportError. */
  send: (cardIndex: number, challenge: Buffer) => Promise<Reply>;
  /** Milliseconds, monotonic. Default performance.now. */
  now?: () => number;
  random?: RandomSource;
  /** Aborting stops new exchanges; those in flight finish and are counted. */
  signal?: AbortSignal;
}

export interface LoadStats {
  exchanges: number;
  /** Exchanges whose 200 response the card accepted. */
  verified: number;
  wrongCryptograms: number;
  malformedBodies: number;
  /** Transport failures plus non-200 responses. */
  errors: number;
  transportErrors: Record<string, number>;
  statusCodes: Record<string, number>;
  /** HTTP round trip of every exchange that got a response. */
  latency: LatencyHistogram;
  startedAt: number;
  /** Elapsed ms so far (live) or of the whole run (final). */
  elapsedMs: number;
  /** The first transport failure's message, for the one-line report. */
  firstTransportError: string | null;
  /** Set when the run stopped because no request ever got a response. */
  unreachable: boolean;
  /** Set when the signal stopped the run early. */
  interrupted: boolean;
}

/** Bounds that keep a run finite and the machine usable. */
export const MAX_CONCURRENCY = 1024;

export class LoadRun {
  readonly stats: LoadStats;
  readonly #plan: LoadPlan;
  readonly #now: () => number;
  #started = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #limit = Number.POSITIVE_INFINITY;
  #responses = 0;
  #noAnswers = 0;
  #stopped = false;

  constructor(plan: LoadPlan) {
    checkPlan(plan);
    this.#plan = plan;
    this.#now = plan.now ?? (() => performance.now());
    this.stats = {
      exchanges: 0, verified: 0, wrongCryptograms: 0, malformedBodies: 0, errors: 0,
      transportErrors: {}, statusCodes: {}, latency: new LatencyHistogram(),
      startedAt: 0, elapsedMs: 0, firstTransportError: null, unreachable: false, interrupted: false,
    };
  }

  /** Runs to the stop rule; resolves with the final stats. */
  async run(): Promise<LoadStats> {
    const plan = this.#plan;
    const random = plan.random ?? pooledRandom(systemRandom);
    this.stats.startedAt = this.#now();
    if ('durationMs' in plan.stop) this.#deadline = this.stats.startedAt + plan.stop.durationMs;
    else this.#limit = plan.stop.exchanges;
    const onAbort = (): void => {
      this.stats.interrupted = true;
      this.#stopped = true;
    };
    if (plan.signal?.aborted) onAbort();
    plan.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const workers = Math.min(plan.concurrency, this.#limit);
      const jobs: Promise<void>[] = [];
      for (let w = 0; w < workers; w++) jobs.push(this.#worker(cardsOf(w, workers, plan.cards.length), random));
      await Promise.all(jobs);
    } finally {
      plan.signal?.removeEventListener('abort', onAbort);
    }
    this.stats.elapsedMs = this.#now() - this.stats.startedAt;
    return this.stats;
  }

  /** Elapsed ms, for live progress. */
  elapsed(): number {
    return this.#now() - this.stats.startedAt;
  }

  /** Claims the right to start one more exchange. */
  #claim(): boolean {
    if (this.#stopped || this.#started >= this.#limit || this.#now() >= this.#deadline) return false;
    this.#started += 1;
    return true;
  }

  async #worker(cardIndexes: number[], random: RandomSource): Promise<void> {
    // Each worker holds its own card objects: a pending challenge belongs to one worker.
    // No admin-try limit, so one wrong answer does not block the card for the rest of the run.
    const cards = cardIndexes.map((i) => {
      const spec = this.#plan.cards[i]!;
      return VirtualCard.create({ adminKey: spec.adminKey, pin: '1234', cardId: spec.cardid, adminTries: null }, { random });
    });
    const s = this.stats;
    let turn = 0;
    while (this.#claim()) {
      const slot = turn++ % cards.length;
      const card = cards[slot]!;
      const challenge = card.getChallenge();
      const t0 = this.#now();
      let reply: Reply;
      try {
        reply = await this.#plan.send(cardIndexes[slot]!, challenge);
      } catch (err) {
        s.exchanges += 1;
        s.errors += 1;
        const kind = err instanceof TransportError ? err.kind : 'protocol';
        s.transportErrors[kind] = (s.transportErrors[kind] ?? 0) + 1;
        s.firstTransportError ??= err instanceof TransportError ? `${err.kind}: ${err.message}` : err instanceof Error ? err.message : String(err);
        // Nothing answered at all yet: after one no-answer failure per worker, the server is
        // unreachable (meansNoAnswer: a too-large body was an answer).
        if (meansNoAnswer(kind)) this.#noAnswers += 1;
        if (this.#responses === 0 && this.#noAnswers >= Math.min(this.#plan.concurrency, this.#limit)) {
          s.unreachable = true;
          this.#stopped = true;
        }
        continue;
      }
      s.latency.record((this.#now() - t0) * 1000);
      this.#responses += 1;
      s.exchanges += 1;
      const code = String(reply.status);
      s.statusCodes[code] = (s.statusCodes[code] ?? 0) + 1;
      if (reply.status !== 200) {
        s.errors += 1;
        continue;
      }
      const response = decodeCryptogram(reply.body, challenge.length);
      if (response === null) {
        s.malformedBodies += 1;
        s.wrongCryptograms += 1;
        card.reset(); // drop the pending challenge: it was never answered
        continue;
      }
      if (card.authenticateAdmin(response).ok) s.verified += 1;
      else s.wrongCryptograms += 1;
    }
  }
}

/** Runs a plan to its end. */
export function runLoad(plan: LoadPlan): Promise<LoadStats> {
  return new LoadRun(plan).run();
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
    const out = Buffer.from(pool.subarray(at, at + length)); // a copy: the card keeps it
    at += length;
    return out;
  };
}

function checkPlan(plan: LoadPlan): void {
  if (plan.cards.length === 0) throw new RangeError('load needs at least one card');
  if (!Number.isInteger(plan.concurrency) || plan.concurrency < 1 || plan.concurrency > MAX_CONCURRENCY) {
    throw new RangeError(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${plan.concurrency}`);
  }
  if ('exchanges' in plan.stop) {
    if (!Number.isInteger(plan.stop.exchanges) || plan.stop.exchanges < 1) throw new RangeError(`exchanges must be a whole number >= 1, got ${plan.stop.exchanges}`);
  } else if (!(plan.stop.durationMs > 0) || !Number.isFinite(plan.stop.durationMs)) {
    throw new RangeError(`duration must be a positive number, got ${plan.stop.durationMs}`);
  }
}
