/** Small steps most cases share: ask the server for a card's response and judge it. */
import { randomUUID } from 'node:crypto';
import type { CmResponse, RequestOverrides } from '../wire/cm-client.js';
import type { CardConfig } from '../config.js';
import { judgeResponse, type OtherKey } from './cryptogram.js';
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

/** One card-issued challenge to the server and the card's verdict on the answer. */
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
  return { challenge, res, problem: judgeResponse(vc, key, challenge, res, o.others ?? []) };
}

/** The other keys of a card a server might wrongly use, for diagnoses. */
export function otherKeysFor(card: CardConfig, using: 'default' | 'diversified', diversifiedKey?: Buffer): OtherKey[] {
  if (using === 'diversified') return [{ label: "the template's default key (diversified=false's key)", key: card.adminKey }];
  if (diversifiedKey) return [{ label: "the card's diversified key (diversified=true's key)", key: diversifiedKey }];
  if (card.diversifiedKey instanceof Buffer) return [{ label: "the card's diversified key (diversified=true's key)", key: card.diversifiedKey }];
  return [];
}

/** A GUID no server has seen. */
export function unknownGuid(): string {
  return randomUUID();
}

/** A 2xx status. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** Asks each card once (default key, diversified=false unless told) and collects the problems. */
export async function askAll(ctx: CaseContext, cards: CardConfig[], o: AskOptions = {}): Promise<{ problems: string[] }> {
  const problems: string[] = [];
  for (const card of cards) {
    const { problem } = await ask(ctx, card, card.adminKey, { diversified: false, others: otherKeysFor(card, 'default'), ...o });
    if (problem) problems.push(`card ${card.name}: ${problem}`);
  }
  return { problems };
}

export function describeCards(cards: CardConfig[]): string {
  return cards.map((c) => c.name).join(', ');
}
