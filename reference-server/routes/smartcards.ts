import { randomUUID } from 'node:crypto';
import { HttpError, badRequest, notFound } from '../http-error.js';
import { CLOSED_STATUSES, SMARTCARD_STATUSES, requestStatusName, type SmartcardStatus } from '../model.js';
import { BASE_PATH } from '../paths.js';
import { json, NO_CONTENT, type Route } from '../route-types.js';
import { atrParam, bodyFields, guidParam, parseQuery, stringField } from '../validate.js';
import { smartcardUri, smartcardView } from './views.js';

/** Assigns a new card to a request: its keys come from the request's template. */
export const createSmartcard: Route = {
  method: 'POST',
  path: '/smartcards',
  role: 'manage',
  what: 'assign smart cards',
  audit: 'create-smartcard',
  body: true,
  handle(call) {
    parseQuery(call.rawQuery, []);
    const f = bodyFields(call.body, ['requestid', 'cardid', 'atr']);
    const reqid = guidParam(stringField(f, 'requestid', true), 'requestid');
    const cardid = guidParam(stringField(f, 'cardid', true), 'cardid');
    const atr = atrParam(stringField(f, 'atr'));
    call.audit.reqid = reqid;
    call.audit.cardid = cardid;
    const store = call.store;
    const request = store.getRequest(reqid);
    if (!request) throw badRequest(`field requestid names no request: ${reqid}`);
    if (CLOSED_STATUSES.has(request.status))
      throw new HttpError(409, `request ${reqid} is ${requestStatusName(request.status)}: no cards can be assigned to it`);
    const existing = store.smartcardsByCardid(cardid).find((s) => s.status !== 'Retired');
    if (existing) throw new HttpError(409, `a smart card with cardid ${cardid} exists already: ${smartcardUri(existing.uuid)}`);
    const scid = randomUUID();
    call.audit.scid = scid;
    store.transaction(() => {
      store.upsertSmartcard({
        uuid: scid,
        cardid,
        atr: atr ?? null,
        templateUuid: request.templateUuid,
        status: 'Assigned',
        baseCspAdminKey: true,
        diversifiedKey: null,
        created: new Date().toISOString(),
      });
      store.linkSmartcard(reqid, scid);
      store.setRequestNewSmartcard(reqid, scid);
    });
    return json(201, smartcardUri(scid), { Location: `${BASE_PATH}/smartcards/${scid}` });
  },
};

export const getSmartcard: Route = {
  method: 'GET',
  path: '/smartcards/:id',
  role: 'any',
  what: 'read smart cards',
  handle(call) {
    parseQuery(call.rawQuery, []);
    const id = guidParam(call.params.id, 'id');
    const s = call.store.getSmartcard(id);
    if (!s) throw notFound(`smart card ${id} not found`);
    return json(200, smartcardView(s));
  },
};

/** GET /smartcards?cardid=: the cards with that card id (204 when none). */
export const findSmartcards: Route = {
  method: 'GET',
  path: '/smartcards',
  role: 'any',
  what: 'read smart cards',
  handle(call) {
    const q = parseQuery(call.rawQuery, ['cardid']);
    const cardid = guidParam(q.get('cardid'), 'cardid');
    const found = call.store.smartcardsByCardid(cardid);
    return found.length === 0 ? NO_CONTENT : json(200, found.map(smartcardView));
  },
};

/** PUT /requests/{reqid}/smartcards/{scid}: sets the card's status, e.g. {"status": "Retired"}. */
export const updateSmartcard: Route = {
  method: 'PUT',
  path: '/requests/:reqid/smartcards/:scid',
  role: 'manage',
  what: 'change smart cards',
  audit: 'update-smartcard',
  body: true,
  handle(call) {
    parseQuery(call.rawQuery, []);
    const reqid = guidParam(call.params.reqid, 'reqid');
    const scid = guidParam(call.params.scid, 'scid');
    const f = bodyFields(call.body, ['status']);
    const text = stringField(f, 'status', true);
    const status = SMARTCARD_STATUSES.find((s) => s.toLowerCase() === text.toLowerCase());
    if (!status) throw badRequest(`field status must be one of ${SMARTCARD_STATUSES.join(', ')}, got ${JSON.stringify(text)}`);
    const store = call.store;
    if (!store.getRequest(reqid)) throw notFound(`request ${reqid} not found`);
    const card = store.getSmartcard(scid);
    if (!card) throw notFound(`smart card ${scid} not found`);
    if (!card.requestUuids.includes(reqid)) throw notFound(`smart card ${scid} does not belong to request ${reqid}`);
    call.audit.cardid = card.cardid;
    if (card.status === 'Retired' && status !== 'Retired') throw new HttpError(409, `smart card ${scid} is Retired`);
    store.setSmartcardStatus(scid, status as SmartcardStatus);
    return json(200, smartcardView(store.getSmartcard(scid)!));
  },
};
