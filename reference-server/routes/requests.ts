import { randomUUID } from 'node:crypto';
import { BASE_PATH } from '../paths.js';
import { HttpError, badRequest, notFound } from '../http-error.js';
import { CLOSED_STATUSES, REQUEST_STATUS, REQUEST_TYPES, SETTABLE_REQUEST_STATUSES, requestStatusName, type RequestTypeName } from '../model.js';
import { json, type Route } from '../route-types.js';
import { bodyFields, guidParam, parseQuery, stringField } from '../validate.js';
import { requestUri, requestView } from './views.js';

/** Request types that act on an existing card and so name it in `smartcard`. */
const CARD_TYPES: ReadonlySet<RequestTypeName> = new Set([
  'Unblock',
  'OfflineUnblock',
  'Retire',
  'Revoke',
  'Reinstate',
  'Suspend',
  'Renew',
  'Duplicate',
  'Recover',
]);

export const createRequest: Route = {
  method: 'POST',
  path: '/requests',
  role: 'manage',
  what: 'create requests',
  audit: 'create-request',
  body: true,
  handle(call) {
    parseQuery(call.rawQuery, []);
    const f = bodyFields(call.body, ['type', 'profiletemplateuuid', 'smartcard', 'datacollection', 'comment', 'priority']);
    const type = requestType(f.get('type'));
    const comment = stringField(f, 'comment') ?? null;
    const priority = f.get('priority') ?? 0;
    if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 1000) {
      throw badRequest('field priority must be an integer from 0 to 1000');
    }
    const dataCollection = f.get('datacollection');
    if (dataCollection !== undefined && dataCollection !== null && typeof dataCollection !== 'object') {
      throw badRequest('field datacollection must be a JSON array or object');
    }
    const store = call.store;
    let templateUuid: string;
    let scid: string | null = null;
    const templateField = stringField(f, 'profiletemplateuuid');
    const cardField = stringField(f, 'smartcard');
    if (CARD_TYPES.has(type)) {
      if (cardField === undefined) throw badRequest(`field smartcard is required for a ${type} request (the smart card's uuid)`);
      scid = guidParam(cardField, 'smartcard');
      call.audit.scid = scid;
      const card = store.getSmartcard(scid);
      if (!card) throw badRequest(`field smartcard names no smart card: ${scid}`);
      call.audit.cardid = card.cardid;
      templateUuid = card.templateUuid;
      if (templateField !== undefined && guidParam(templateField, 'profiletemplateuuid') !== templateUuid) {
        throw badRequest(`field profiletemplateuuid does not match the template of smart card ${scid}`);
      }
    } else {
      if (cardField !== undefined) throw badRequest(`field smartcard does not apply to a ${type} request`);
      if (templateField === undefined) throw badRequest(`field profiletemplateuuid is required for a ${type} request`);
      templateUuid = guidParam(templateField, 'profiletemplateuuid');
      if (!store.getTemplate(templateUuid)) throw badRequest(`field profiletemplateuuid names no profile template: ${templateUuid}`);
    }
    const uuid = randomUUID();
    call.audit.reqid = uuid;
    store.transaction(() => {
      store.upsertRequest({
        uuid,
        type: REQUEST_TYPES[type],
        status: REQUEST_STATUS.Approved,
        templateUuid,
        comment,
        dataCollection: dataCollection === undefined || dataCollection === null ? null : JSON.stringify(dataCollection),
        priority,
        originator: call.principal.name,
        submitted: new Date().toISOString(),
        completed: null,
        oldSmartcardUuid: scid,
        newSmartcardUuid: null,
      });
      if (scid) store.linkSmartcard(uuid, scid);
    });
    return json(201, requestUri(uuid), { Location: `${BASE_PATH}/requests/${uuid}` });
  },
};

export const getRequest: Route = {
  method: 'GET',
  path: '/requests/:id',
  role: 'any',
  what: 'read requests',
  handle(call) {
    parseQuery(call.rawQuery, []);
    const id = guidParam(call.params.id, 'id');
    const r = call.store.getRequest(id);
    if (!r) throw notFound(`request ${id} not found`);
    return json(200, requestView(r));
  },
};

export const updateRequest: Route = {
  method: 'PUT',
  path: '/requests/:id',
  role: 'manage',
  what: 'change requests',
  audit: 'update-request',
  body: true,
  handle(call) {
    parseQuery(call.rawQuery, []);
    const id = guidParam(call.params.id, 'id');
    call.audit.reqid = id;
    const f = bodyFields(call.body, ['status']);
    const statusText = stringField(f, 'status', true);
    const name = SETTABLE_REQUEST_STATUSES.find((s) => s.toLowerCase() === statusText.toLowerCase());
    if (!name) throw badRequest(`field status must be one of ${SETTABLE_REQUEST_STATUSES.join(', ')}, got ${JSON.stringify(statusText)}`);
    const store = call.store;
    const r = store.getRequest(id);
    if (!r) throw notFound(`request ${id} not found`);
    if (CLOSED_STATUSES.has(r.status)) {
      if (r.status === REQUEST_STATUS[name]) return json(200, requestView(r)); // idempotent repeat
      throw new HttpError(409, `request ${id} is already ${requestStatusName(r.status)}`);
    }
    store.setRequestStatus(id, REQUEST_STATUS[name], new Date().toISOString());
    return json(200, requestView(store.getRequest(id)!));
  },
};

function requestType(value: unknown): RequestTypeName {
  const names = Object.keys(REQUEST_TYPES) as RequestTypeName[];
  if (value === undefined || value === null) throw badRequest(`field type is required (${names.join(', ')})`);
  if (typeof value === 'number') {
    const n = names.find((k) => REQUEST_TYPES[k] === value);
    if (n) return n;
  }
  if (typeof value === 'string') {
    const n = names.find((k) => k.toLowerCase() === value.toLowerCase() || String(REQUEST_TYPES[k]) === value);
    if (n) return n;
  }
  throw badRequest(`field type must be one of ${names.join(', ')}, got ${JSON.stringify(value)}`);
}
