/**
 * The provider-state vocabulary the pact uses (the reference server implements it in
 * reference-server/provider-states.ts; an external server implements it behind its own
 * state-change URL). Params are strings: the Pact state-change convention carries them as JSON.
 */
import type { CardFixture } from './fixtures.js';

export const STATE = {
  cardWithKey: 'a smart card with a Base CSP admin key',
  cardWithoutKey: 'a smart card without a Base CSP admin key',
  profileTemplate: 'a profile template',
  smartCard: 'a smart card',
  request: 'a request',
} as const;
export type StateName = (typeof STATE)[keyof typeof STATE];

export interface ProviderState {
  name: StateName;
  params: Record<string, string>;
}

export function cardWithKey(card: CardFixture): ProviderState {
  const params: Record<string, string> = { reqid: card.reqid, scid: card.scid, cardid: card.cardid, adminKey: card.adminKey };
  if (card.diversifiedKey !== undefined) params.diversifiedKey = card.diversifiedKey;
  if (card.atr !== undefined) params.atr = card.atr;
  return { name: STATE.cardWithKey, params };
}

export function cardWithoutKey(card: { reqid: string; scid: string; cardid: string }): ProviderState {
  return { name: STATE.cardWithoutKey, params: { reqid: card.reqid, scid: card.scid, cardid: card.cardid } };
}

export function smartCard(card: { reqid: string; scid: string; cardid: string }): ProviderState {
  return { name: STATE.smartCard, params: { scid: card.scid, cardid: card.cardid, reqid: card.reqid } };
}

export function request(r: { reqid: string; status: number }): ProviderState {
  return { name: STATE.request, params: { reqid: r.reqid, status: String(r.status) } };
}
