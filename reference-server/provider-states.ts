import { createHash } from 'node:crypto';
import { formatGuid } from '../simulator/bytes.js';
import { DEFAULT_ATR } from '../simulator/card.js';
import { badRequest } from './http-error.js';
import { REQUEST_STATUS, REQUEST_TYPES } from './model.js';
import { applySeed, demoPrincipals } from './seed.js';
import type { Store } from './store.js';
import { atrParam, bodyFields, guidParam } from './validate.js';

type Params = Record<string, unknown>;

/**
 * Provider states for Pact verification: each puts the store into the state an
 * interaction expects. Setup is an upsert, so running it twice is the same as once.
 * Returns the ids it created or used.
 */
export const PROVIDER_STATES: Record<string, (store: Store, params: Params) => Record<string, string>> = {
  'a smart card with a Base CSP admin key': (store, p) => {
    const reqid = guid(p, 'reqid');
    const scid = guid(p, 'scid');
    const cardid = guid(p, 'cardid');
    const adminKey = keyHex(p, 'adminKey', true)!;
    const diversifiedKey = keyHex(p, 'diversifiedKey', false);
    const atr = p.atr === undefined ? undefined : atrParam(str(p, 'atr'), 'params.atr');
    const templateUuid = derivedGuid(`template ${adminKey} ${diversifiedKey ? 'diversify' : 'plain'}`);
    upsertCard(store, {
      templateUuid,
      defaultKey: adminKey,
      diversify: diversifiedKey !== undefined,
      reqid,
      scid,
      cardid,
      atr,
      baseCspAdminKey: true,
      diversifiedKey,
      requestType: 'Unblock',
      requestStatus: REQUEST_STATUS.Approved,
    });
    return { reqid, scid, cardid, profileTemplateUuid: templateUuid };
  },
  'a smart card without a Base CSP admin key': (store, p) => {
    const reqid = guid(p, 'reqid');
    const scid = guid(p, 'scid');
    const cardid = guid(p, 'cardid');
    const templateUuid = derivedGuid('template without base csp key');
    upsertCard(store, {
      templateUuid,
      defaultKey: '00'.repeat(24),
      diversify: false,
      reqid,
      scid,
      cardid,
      baseCspAdminKey: false,
      requestType: 'Unblock',
      requestStatus: REQUEST_STATUS.Approved,
    });
    return { reqid, scid, cardid, profileTemplateUuid: templateUuid };
  },
  'a profile template': (store, p) => {
    const profileTemplateUuid = guid(p, 'profileTemplateUuid');
    const adminKey = keyHex(p, 'adminKey', true)!;
    const diversify = bool(p, 'diversify');
    applySeed(store, {
      templates: [
        {
          uuid: profileTemplateUuid,
          name: `Pact template ${profileTemplateUuid}`,
          defaultAdminKeyHex: adminKey,
          diversifyAdminKey: diversify,
          diversificationSecretHex: diversify ? secretFor(profileTemplateUuid) : undefined,
        },
      ],
      requests: [],
      smartcards: [],
      principals: demoPrincipals(),
    });
    return { profileTemplateUuid };
  },
  'a smart card': (store, p) => {
    const reqid = guid(p, 'reqid');
    const scid = guid(p, 'scid');
    const cardid = guid(p, 'cardid');
    const templateUuid = derivedGuid('template for enrolled cards');
    // The card was enrolled by request reqid, now completed; an Unblock request names the card.
    upsertCard(store, {
      templateUuid,
      defaultKey: '0102030405060708'.repeat(3),
      diversify: true,
      reqid,
      scid,
      cardid,
      baseCspAdminKey: true,
      requestType: 'Enroll',
      requestStatus: REQUEST_STATUS.Completed,
    });
    return { reqid, scid, cardid, profileTemplateUuid: templateUuid };
  },
  'a request': (store, p) => {
    const reqid = guid(p, 'reqid');
    const statusText = str(p, 'status');
    const status = Number(statusText);
    if (!/^\d+$/.test(statusText) || !(Object.values(REQUEST_STATUS) as number[]).includes(status)) {
      throw badRequest(`params.status must be a request status number (${Object.values(REQUEST_STATUS).join(', ')}), got ${JSON.stringify(statusText)}`);
    }
    const existing = store.getRequest(reqid);
    const templateUuid = existing?.templateUuid ?? derivedGuid('template for requests');
    if (!existing) ensureTemplate(store, templateUuid, '0102030405060708'.repeat(3), true);
    store.transaction(() => {
      store.upsertRequest({
        uuid: reqid,
        type: existing?.type ?? REQUEST_TYPES.Unblock,
        status,
        templateUuid,
        comment: existing?.comment ?? null,
        dataCollection: existing?.dataCollection ?? null,
        priority: existing?.priority ?? 0,
        originator: existing?.originator ?? null,
        submitted: existing?.submitted ?? new Date().toISOString(),
        completed: status === REQUEST_STATUS.Completed ? new Date().toISOString() : null,
        oldSmartcardUuid: existing?.oldSmartcardUuid ?? null,
        newSmartcardUuid: existing?.newSmartcardUuid ?? null,
      });
    });
    ensureDemoPrincipals(store);
    return { reqid };
  },
};

/** Applies one named state. Unknown names and bad params throw an HttpError(400) that names them. */
export function applyProviderState(store: Store, state: string, params: Record<string, unknown> = {}): Record<string, string> {
  const fn = PROVIDER_STATES[state];
  if (!fn)
    throw badRequest(
      `unknown provider state ${JSON.stringify(state)} (known: ${Object.keys(PROVIDER_STATES)
        .map((s) => JSON.stringify(s))
        .join(', ')})`,
    );
  ensureDemoPrincipals(store);
  return fn(store, params);
}

/** The body of POST /_pact/provider-states: {state, params, action}. Teardown changes nothing. */
export function handleProviderStateRequest(store: Store, body: unknown): Record<string, string> {
  const fields = bodyFields(body, ['state', 'params', 'action', 'consumer', 'provider']);
  const state = fields.get('state');
  if (typeof state !== 'string' || state === '') throw badRequest('field state is required (the provider state name)');
  const action = fields.get('action') ?? 'setup';
  if (action !== 'setup' && action !== 'teardown') throw badRequest(`field action must be "setup" or "teardown", got ${JSON.stringify(action)}`);
  const params = fields.get('params') ?? {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw badRequest('field params must be an object');
  if (action === 'teardown') {
    if (!PROVIDER_STATES[state]) throw badRequest(`unknown provider state ${JSON.stringify(state)}`);
    return {};
  }
  return applyProviderState(store, state, params as Params);
}

interface CardState {
  templateUuid: string;
  defaultKey: string;
  diversify: boolean;
  reqid: string;
  scid: string;
  cardid: string;
  atr?: string | undefined;
  baseCspAdminKey: boolean;
  diversifiedKey?: string | undefined;
  requestType: keyof typeof REQUEST_TYPES;
  requestStatus: number;
}

function upsertCard(store: Store, s: CardState): void {
  const now = new Date().toISOString();
  store.transaction(() => {
    ensureTemplate(store, s.templateUuid, s.defaultKey, s.diversify);
    const existing = store.getRequest(s.reqid);
    store.upsertRequest({
      uuid: s.reqid,
      type: REQUEST_TYPES[s.requestType],
      status: s.requestStatus,
      templateUuid: s.templateUuid,
      comment: null,
      dataCollection: null,
      priority: 0,
      originator: null,
      submitted: existing?.submitted ?? now,
      completed: s.requestStatus === REQUEST_STATUS.Completed ? now : null,
      oldSmartcardUuid: s.requestType === 'Unblock' ? s.scid : null,
      newSmartcardUuid: s.requestType === 'Enroll' ? s.scid : null,
    });
    store.upsertSmartcard({
      uuid: s.scid,
      cardid: s.cardid,
      atr: s.atr ?? DEFAULT_ATR,
      templateUuid: s.templateUuid,
      status: 'InUse',
      baseCspAdminKey: s.baseCspAdminKey,
      diversifiedKey: s.diversifiedKey ? Buffer.from(s.diversifiedKey, 'hex') : null,
      created: now,
    });
    store.linkSmartcard(s.reqid, s.scid);
  });
}

function ensureTemplate(store: Store, uuid: string, keyHex: string, diversify: boolean): void {
  store.upsertTemplate({
    uuid,
    name: `Pact template ${uuid}`,
    defaultAdminKey: Buffer.from(keyHex, 'hex'),
    diversify,
    diversificationSecret: diversify ? Buffer.from(secretFor(uuid), 'hex') : null,
  });
}

function ensureDemoPrincipals(store: Store): void {
  const existing = new Set(store.listPrincipals().map((p) => p.name));
  for (const p of demoPrincipals()) {
    if (!existing.has(p.name)) store.upsertPrincipal({ name: p.name, token: p.token, roles: p.roles, loopbackOnly: p.loopbackOnly === true });
  }
}

function derivedGuid(text: string): string {
  return formatGuid(createHash('sha256').update(`cmcard provider state: ${text}`).digest().subarray(0, 16));
}

/** A deterministic demo secret for a state's template (verification runs must repeat). */
function secretFor(uuid: string): string {
  return createHash('sha256').update(`cmcard provider state secret: ${uuid}`).digest('hex');
}

function str(p: Params, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || v === '') throw badRequest(`params.${name} is required (a string)`);
  return v;
}

function guid(p: Params, name: string): string {
  return guidParam(str(p, name), `params.${name}`);
}

function bool(p: Params, name: string): boolean {
  const v = p[name];
  if (v === true || v === false) return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw badRequest(`params.${name} must be "true" or "false"`);
}

function keyHex(p: Params, name: string, required: boolean): string | undefined {
  if (p[name] === undefined && !required) return undefined;
  const v = str(p, name).replace(/\s/g, '');
  if (!/^[0-9a-fA-F]{48}$/.test(v) && !/^[0-9a-fA-F]{32}$/.test(v)) throw badRequest(`params.${name} must be 48 or 32 hex digits (a 3-key or 2-key 3DES key)`);
  return v.toLowerCase();
}
