/** Small steps most cases share: ask the server for a card's response and judge it. */
import { randomUUID } from 'node:crypto';
import type { CmResponse, RequestOverrides } from '../wire/cm-client.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import { isSelfInverse, judge, type OtherKey } from './cryptogram.js';
import type { CaseContext } from './types.js';

export interface AskOptions {
  diversified?: boolean | string;
  /** Challenge length in bytes (a multiple of 8). */
  length?: number;
  /** Pick challenges until this holds (bounded), e.g. base64 containing '+'. */
  challengeWhere?: (challenge: Buffer) => boolean;
  overrides?: RequestOverrides;
  atr?: string;
  others?: OtherKey[];
}

export interface Asked {
  challenge: Buffer;
  res: CmResponse;
  /** null when the card accepted the response */
  problem: string | null;
}

/**
 * One card-issued challenge to the server and the card's verdict on the answer. A wrong
 * answer is blamed (marked as failing the case, with its cause).
 */
export async function ask(ctx: CaseContext, card: CardConfig, key: Buffer, o: AskOptions = {}): Promise<Asked> {
  const vc = ctx.virtualCard(card, key);
  let challenge = vc.getChallenge(o.length ?? 8);
  if (o.challengeWhere) {
    // Each try has a fair chance (e.g. ~16% for a '+' in 8 bytes of base64); 500 tries never all miss in practice.
    for (let i = 0; i < 500 && !o.challengeWhere(challenge); i++) challenge = vc.getChallenge(o.length ?? 8);
    if (!o.challengeWhere(challenge)) ctx.fail('could not draw a challenge with the wanted shape (500 tries)');
  }
  const res = await ctx.client.authenticationResponse(
    { reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge, diversified: o.diversified ?? false, ...(o.atr !== undefined ? { atr: o.atr } : {}) },
    o.overrides,
  );
  const verdict = judge(vc, key, challenge, res, o.others ?? [], ctx.redactor);
  if (verdict) ctx.blame(res, verdict.cause);
  return { challenge, res, problem: verdict?.problem ?? null };
}

/**
 * The other keys a server might wrongly use for this card, for diagnoses: the card's
 * other key kind, and (given `cards`) every other configured card's keys.
 */
export function otherKeysFor(card: CardConfig, using: 'default' | 'diversified', diversifiedKey?: Buffer, cards: readonly CardConfig[] = []): OtherKey[] {
  const out: OtherKey[] = [];
  if (using === 'diversified') out.push({ label: "the template's default key (diversified=false's key)", key: card.adminKey });
  else if (diversifiedKey) out.push({ label: "the card's diversified key (diversified=true's key)", key: diversifiedKey });
  else if (card.diversifiedKey instanceof Buffer) out.push({ label: "the card's diversified key (diversified=true's key)", key: card.diversifiedKey });
  const own = using === 'diversified' ? diversifiedKey : card.adminKey;
  for (const other of cards) {
    if (other === card || other.name === card.name) continue;
    out.push({ label: `card ${other.name}'s default key`, key: other.adminKey });
    if (other.diversifiedKey instanceof Buffer) out.push({ label: `card ${other.name}'s diversified key`, key: other.diversifiedKey });
  }
  // A key equal to the expected one explains nothing; a key listed twice, once.
  const seen = new Set<string>(own ? [own.toString('hex')] : []);
  return out.filter((o) => {
    const hex = o.key.toString('hex');
    if (seen.has(hex)) return false;
    seen.add(hex);
    return true;
  });
}

/** otherKeysFor with every other configured card. */
export function othersFor(ctx: CaseContext, card: CardConfig, using: 'default' | 'diversified', diversifiedKey?: Buffer): OtherKey[] {
  return otherKeysFor(card, using, diversifiedKey, ctx.config.cards);
}

/**
 * The card a single-card check uses: the first whose admin key is not DES-weak. Under a
 * weak key (the all-zero default) encryption equals decryption, so a server that decrypts
 * would pass; the first card when every key is weak.
 */
export function preferredCard(config: Pick<HarnessConfig, 'cards'>): CardConfig {
  return config.cards.find((c) => !isSelfInverse(c.adminKey)) ?? config.cards[0]!;
}

/** True when every configured admin key is DES-weak (encryption equals decryption). */
export function everyKeyWeak(config: Pick<HarnessConfig, 'cards'>): boolean {
  return config.cards.every((c) => isSelfInverse(c.adminKey));
}

/** Runs `fn` on every item at once; results in the items' order. */
export function inParallel<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  return Promise.all(items.map(fn));
}

/** A GUID no server has seen. */
export function unknownGuid(): string {
  return randomUUID();
}

/** A 2xx status. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** Asks each card once (default key, diversified=false unless told), all at once, and collects the problems. */
export async function askAll(ctx: CaseContext, cards: CardConfig[], o: AskOptions = {}): Promise<{ problems: string[] }> {
  const asked = await inParallel(cards, (card) => ask(ctx, card, card.adminKey, { diversified: false, others: othersFor(ctx, card, 'default'), ...o }));
  return { problems: asked.flatMap((a, i) => (a.problem ? [`card ${cards[i]!.name}: ${a.problem}`] : [])) };
}

export function describeCards(cards: CardConfig[]): string {
  return cards.map((c) => c.name).join(', ');
}
