import { adminResponse, diversifiedKeyOf } from '../keys.js';
import { json, NO_CONTENT, type Route } from '../route-types.js';
import { atrParam, booleanParam, challengeParam, guidParam, parseQuery } from '../validate.js';
import { resolveCard } from './card-lookup.js';

/** Audit note for a 204 because the card has no diversified key (never key bytes). */
const NOT_DIVERSIFIED = 'no diversified admin key: the profile template does not diversify';

/**
 * The authenticationresponse endpoint (the admin-key route): the 3DES-ECB response to a card's admin challenge, block by block,
 * under the template's default key (diversified=false) or the card's own key (true).
 * A card with no key of the kind asked for answers 204, as diversifiedkey does for it.
 */
export const authenticationResponse: Route = {
  method: 'GET',
  path: '/requests/:reqid/smartcards/:scid/authenticationresponse',
  role: 'sensitive',
  what: 'obtain admin key responses',
  audit: 'authenticationresponse',
  handle(call) {
    const q = parseQuery(call.rawQuery, ['cardid', 'challenge', 'diversified', 'atr']);
    const reqid = guidParam(call.params.reqid, 'reqid');
    const scid = guidParam(call.params.scid, 'scid');
    const cardid = guidParam(q.get('cardid'), 'cardid');
    call.audit.cardid = cardid;
    const challenge = challengeParam(q.get('challenge'));
    const diversified = booleanParam(q.get('diversified'), 'diversified');
    atrParam(q.get('atr'));
    const card = resolveCard(call.store, reqid, scid, cardid);
    if (!card.baseCspAdminKey) return NO_CONTENT;
    let key = card.defaultAdminKey;
    if (diversified) {
      const d = diversifiedKeyOf(card);
      if (!d) {
        call.audit.detail = NOT_DIVERSIFIED;
        return NO_CONTENT;
      }
      key = d;
    }
    return json(200, adminResponse(key, challenge).toString('base64'));
  },
};

/** The card's diversified admin key, as the documented enrollment walkthrough fetches it. */
export const diversifiedKey: Route = {
  method: 'GET',
  path: '/requests/:reqid/smartcards/:scid/diversifiedkey',
  role: 'sensitive',
  what: 'obtain diversified admin keys',
  audit: 'diversifiedkey',
  handle(call) {
    const q = parseQuery(call.rawQuery, ['cardid']);
    const reqid = guidParam(call.params.reqid, 'reqid');
    const scid = guidParam(call.params.scid, 'scid');
    const cardid = guidParam(q.get('cardid'), 'cardid');
    call.audit.cardid = cardid;
    const card = resolveCard(call.store, reqid, scid, cardid);
    if (!card.baseCspAdminKey) return NO_CONTENT;
    const key = diversifiedKeyOf(card);
    if (!key) {
      call.audit.detail = NOT_DIVERSIFIED;
      return NO_CONTENT;
    }
    return json(200, key.toString('base64'));
  },
};
