import { HttpError, notFound } from '../http-error.js';
import { CLOSED_STATUSES, requestStatusName } from '../model.js';
import type { CardKeyContext, Store } from '../store.js';

export type ResolvedCard = NonNullable<CardKeyContext['card']>;

/**
 * The smart card behind reqid/scid/cardid, if the three fit together: the card belongs to
 * the request (404 otherwise) and the cardid is the card's (404 otherwise). A closed
 * request or a retired card hands out nothing more (403).
 */
export function resolveCard(store: Store, reqid: string, scid: string, cardid: string): ResolvedCard {
  const ctx = store.cardKeyContext(reqid, scid);
  if (!ctx) throw notFound(`request ${reqid} not found`);
  if (!ctx.card) {
    throw notFound(store.getSmartcard(scid) ? `smart card ${scid} does not belong to request ${reqid}` : `smart card ${scid} not found`);
  }
  if (ctx.card.cardid !== cardid) throw notFound(`cardid ${cardid} is not the card id of smart card ${scid}`);
  if (CLOSED_STATUSES.has(ctx.requestStatus)) {
    throw new HttpError(403, `request ${reqid} is ${requestStatusName(ctx.requestStatus)}: it hands out no more responses or keys`);
  }
  if (ctx.card.status === 'Retired' || ctx.card.status === 'Disabled') {
    throw new HttpError(403, `smart card ${scid} is ${ctx.card.status}: it gets no more responses or keys`);
  }
  return ctx.card;
}
