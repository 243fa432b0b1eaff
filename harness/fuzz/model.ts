/**
 * What the fuzzer knows about the server during one sequence: the requests and cards of
 * the config, the ones this sequence created, which card belongs to which request, and the
 * lifecycle state each one was moved to. A change enters the model only when the server
 * acknowledged it (a 2xx); a change whose answer never came or was a 5xx makes the object
 * `uncertain`, and the lifecycle expectations then leave it alone.
 *
 * Every sequence starts from the config alone: objects of earlier sequences are never
 * touched again, so sequences stay independent although the server keeps its state.
 */
import type { HarnessConfig } from '../config.js';

export const CLOSED_STATUSES = ['Completed', 'Canceled', 'Abandoned'] as const;
export type ClosedStatus = (typeof CLOSED_STATUSES)[number];
export type RequestStatus = 'open' | ClosedStatus | 'uncertain';
export type CardStatus = 'active' | 'Retired' | 'uncertain';

export interface ModelRequest {
  reqid: string;
  /** For people: `the request of card tpm-1` (config) or `request #2` (made in this sequence). */
  label: string;
  status: RequestStatus;
  /** Made by this sequence (only those may be closed). */
  created: boolean;
  /** scids of the cards that belong to it, in the order they were linked. */
  cards: string[];
  /** When the sequence last made or changed it (0: never). */
  touched: number;
  /** When the sequence last read it (0: never). */
  read: number;
}

/** A 200 for `diversified=true` on a card whose diversified key is not known yet: judged once it is. */
export interface PendingCryptogram {
  step: number;
  challenge: Buffer;
  response: { status: number; headers: Record<string, string>; body: string; durationMs: number };
}

export interface ModelCard {
  scid: string;
  cardid: string;
  label: string;
  /** The key for `diversified=false`: the template's default key. */
  adminKey: Buffer;
  /** The key for `diversified=true`, when known (configured, or handed out by the diversifiedkey endpoint in this sequence). */
  diversifiedKey?: Buffer;
  atr?: string;
  status: CardStatus;
  /** Made by this sequence (only those may be retired). */
  created: boolean;
  pending: PendingCryptogram[];
  /** When the sequence last made or changed it (0: never). */
  touched: number;
}

export class FuzzModel {
  readonly requests: ModelRequest[] = [];
  readonly cards: ModelCard[] = [];
  /** Counters for the labels of what the sequence creates. */
  private made = { requests: 0, cards: 0 };
  /** Ticks at every change, for `touched`. */
  private clock = 0;

  constructor(
    /** The server has the request and smart card endpoints. */
    readonly lifecycle: boolean,
    /** The config names a caller the server must refuse. */
    readonly hasForbidden: boolean,
  ) {}

  static fromConfig(config: HarnessConfig): FuzzModel {
    const model = new FuzzModel(config.lifecycle, config.forbiddenHeaders !== undefined);
    for (const c of config.cards) {
      const reqid = c.reqid.toLowerCase();
      const scid = c.scid.toLowerCase();
      let request = model.request(reqid);
      if (!request) {
        request = { reqid, label: `the request of card ${c.name}`, status: 'open', created: false, cards: [], touched: 0, read: 0 };
        model.requests.push(request);
      }
      if (!request.cards.includes(scid)) request.cards.push(scid);
      if (model.card(scid)) continue;
      model.cards.push({
        scid,
        cardid: c.cardid.toLowerCase(),
        label: `card ${c.name}`,
        adminKey: c.adminKey,
        ...(c.diversifiedKey instanceof Buffer ? { diversifiedKey: c.diversifiedKey } : {}),
        ...(c.atr ? { atr: c.atr } : {}),
        status: 'active',
        created: false,
        pending: [],
        touched: 0,
      });
    }
    return model;
  }

  request(reqid: string): ModelRequest | undefined {
    const id = reqid.toLowerCase();
    return this.requests.find((r) => r.reqid === id);
  }

  card(scid: string): ModelCard | undefined {
    const id = scid.toLowerCase();
    return this.cards.find((c) => c.scid === id);
  }

  /** The configured cards (what Unblock requests are made for). */
  configCards(): ModelCard[] {
    return this.cards.filter((c) => !c.created);
  }

  /** The most recently made or changed first, then the newest. */
  recentRequests(filter: (r: ModelRequest) => boolean = () => true): ModelRequest[] {
    return byRecency(this.requests.filter(filter), (r) => r.touched);
  }

  /** The most recently made or changed first, then the newest. */
  recentCards(filter: (c: ModelCard) => boolean = () => true): ModelCard[] {
    return byRecency(this.cards.filter(filter), (c) => c.touched);
  }

  /**
   * Every (request, card) that belong together: first those whose request was closed or
   * card retired (where lifecycle defects live), then those whose request was read (where
   * caches live), then the rest; within each, the most recent first. So a question shrinks
   * towards what the sequence just did to an object, and dropping a step that made
   * something else does not move it.
   */
  links(): Array<{ request: ModelRequest; card: ModelCard }> {
    const out: Array<{ request: ModelRequest; card: ModelCard }> = [];
    for (const request of this.requests) {
      for (const scid of request.cards) {
        const card = this.card(scid);
        if (card) out.push({ request, card });
      }
    }
    const changed = (l: { request: ModelRequest; card: ModelCard }): boolean => l.request.status !== 'open' || l.card.status !== 'active';
    const rank = (l: { request: ModelRequest; card: ModelCard }): number =>
      changed(l) ? 2e6 + Math.max(l.request.touched, l.card.touched) : l.request.read > 0 ? 1e6 + l.request.read : Math.max(l.request.touched, l.card.touched);
    return byRecency(out, rank);
  }

  /** Marks a request or card as just changed: picks find it first. */
  touch(o: { touched: number }): void {
    this.clock += 1;
    o.touched = this.clock;
  }

  /** Marks a request as just read. */
  markRead(r: ModelRequest): void {
    this.clock += 1;
    r.read = this.clock;
  }

  belongs(reqid: string, scid: string): boolean {
    return this.request(reqid)?.cards.includes(scid.toLowerCase()) ?? false;
  }

  addRequest(reqid: string, scids: string[]): ModelRequest {
    this.made.requests += 1;
    const request: ModelRequest = {
      reqid: reqid.toLowerCase(),
      label: `request #${this.made.requests}`,
      status: 'open',
      created: true,
      cards: scids.map((s) => s.toLowerCase()),
      touched: 0,
      read: 0,
    };
    this.requests.push(request);
    this.touch(request);
    return request;
  }

  /** A card made for a request of this sequence: its default key is the template's, i.e. that of the card the request was made for. */
  addCard(request: ModelRequest, scid: string, cardid: string, adminKey: Buffer): ModelCard {
    this.made.cards += 1;
    const card: ModelCard = {
      scid: scid.toLowerCase(),
      cardid: cardid.toLowerCase(),
      label: `card #${this.made.cards}`,
      adminKey,
      status: 'active',
      created: true,
      pending: [],
      touched: 0,
    };
    this.cards.push(card);
    request.cards.push(card.scid);
    this.touch(card);
    return card;
  }

  /** The default key of a request's template, from a configured card that belongs to it. */
  templateKeyOf(request: ModelRequest): Buffer | undefined {
    for (const scid of request.cards) {
      const card = this.card(scid);
      if (card) return card.adminKey;
    }
    return undefined;
  }
}

/** Highest `touched` first; among equals, the later in `list` first (the newer). A stable order, so picks replay. */
function byRecency<T>(list: T[], touched: (x: T) => number): T[] {
  return list
    .map((x, i) => ({ x, i, t: touched(x) }))
    .sort((a, b) => b.t - a.t || b.i - a.i)
    .map((e) => e.x);
}

/** `list[index mod length]`, or undefined for an empty list. */
export function pickFrom<T>(list: readonly T[], index: number): T | undefined {
  return list.length === 0 ? undefined : list[index % list.length];
}
