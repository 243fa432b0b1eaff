import { readFileSync } from 'node:fs';
import { InputError } from '../simulator/errors.js';
import { GIDS_ATR as DEFAULT_ATR } from '../simulator/gids.js';
import { readAdminKey, readAtr, readGuid } from '../simulator/validate.js';
import { CLOSED_STATUSES, REQUEST_STATUS, REQUEST_TYPES, ROLES, SMARTCARD_STATUSES, type RequestTypeName, type Role, type SmartcardStatus } from './model.js';
import { diversifiedKeyOf } from './keys.js';
import type { Store } from './store.js';

/** A profile template: the default admin key cards ship with, and how per-card keys are derived. */
export interface SeedTemplate {
  uuid: string;
  name: string;
  /** 48 hex digits (3-key) or 32 (2-key). */
  defaultAdminKeyHex: string;
  diversifyAdminKey: boolean;
  /** At least 16 bytes of hex; required when diversifyAdminKey is true. */
  diversificationSecretHex?: string;
}

export interface SeedRequest {
  uuid: string;
  type: RequestTypeName;
  /** The documented number, e.g. 3 approved, 8 completed. */
  status: number;
  profileTemplateUuid: string;
  comment?: string;
}

export interface SeedSmartcard {
  uuid: string;
  /** A short name for people and the harness (`describeSeed`), e.g. `example`. */
  name?: string;
  cardid: string;
  atr?: string;
  /** Defaults to the template of the card's first request. */
  profileTemplateUuid?: string;
  /** The requests this card belongs to (at least one). */
  requests: string[];
  status?: SmartcardStatus;
  /** false: a card without a Base CSP admin key (authenticationresponse answers 204). Default true. */
  baseCspAdminKey?: boolean;
  /** An explicitly stored diversified key (48 or 32 hex digits), instead of the derivation. */
  diversifiedKeyHex?: string;
}

export interface SeedPrincipal {
  name: string;
  token: string;
  roles: Role[];
  /** Accepted only while the server listens on loopback (the demo tokens). */
  loopbackOnly?: boolean;
}

export interface SeedData {
  templates: SeedTemplate[];
  requests: SeedRequest[];
  smartcards: SeedSmartcard[];
  principals: SeedPrincipal[];
}

/** What a client needs to test the seeded cards: used by the harness to build its embedded config. */
export interface SeededCard {
  name: string;
  reqid: string;
  scid: string;
  cardid: string;
  atr: string;
  adminKey: string /* hex, the template default key used for diversified=false */;
  diversifiedKey?: string /* hex, used for diversified=true; absent if the template does not diversify */;
}

export const EXAMPLE = {
  templateUuid: 'a039b4d0-5ce8-4eff-8651-181c6576fda3',
  reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
  scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
  cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
  /** base64 `mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI`, the documented diversifiedkey example. */
  diversifiedKeyHex: '981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408',
} as const;

export const DEMO_TOKENS = { helpdesk: 'demo-helpdesk', user: 'demo-user' } as const;

/** The demo principals: tokens equal to their names, valid on loopback only. */
export function demoPrincipals(): SeedPrincipal[] {
  return [
    { name: DEMO_TOKENS.helpdesk, token: DEMO_TOKENS.helpdesk, roles: ['sensitive', 'manage'], loopbackOnly: true },
    { name: DEMO_TOKENS.user, token: DEMO_TOKENS.user, roles: [], loopbackOnly: true },
  ];
}

/**
 * The default seed: the documented example, cards on templates with non-weak default keys
 * (one diversifying with the TPM/YubiKey default key, one with a random-looking true
 * 3-key key and no diversification), a card with no Base CSP admin key, and the demo
 * principals. The secrets here are public demo values: never use them for real cards.
 */
export function defaultSeed(): SeedData {
  const tpm = 'aad1f5f7-fa40-4736-81a7-eadfe4bce76f';
  const threeKey = '26c1320c-1a57-4f5a-ac91-e575521b4298';
  return {
    templates: [
      {
        uuid: EXAMPLE.templateUuid,
        name: 'Documented example (all-zero default key)',
        defaultAdminKeyHex: '00'.repeat(24),
        diversifyAdminKey: true,
        diversificationSecretHex: '6b8e95787b3d4654bf80fee877b75f36b2ea6e287b012f967cb3a20179dececd',
      },
      {
        uuid: tpm,
        name: 'Virtual smart card (TPM default key, diversified)',
        defaultAdminKeyHex: '0102030405060708'.repeat(3),
        diversifyAdminKey: true,
        diversificationSecretHex: 'c125b6e329a0fc617f3cd29c47e1c6830707868fe5f7085a48673c1523be6ea8',
      },
      {
        uuid: threeKey,
        name: 'Physical card (3-key default key, not diversified)',
        defaultAdminKeyHex: 'e62f6b64cdf1ce0e1f37851f708c1f89d5c149c8100b07d0',
        diversifyAdminKey: false,
      },
    ],
    requests: [
      { uuid: EXAMPLE.reqid, type: 'Unblock', status: REQUEST_STATUS.Approved, profileTemplateUuid: EXAMPLE.templateUuid },
      { uuid: 'd7592093-ad30-4e82-a49d-70f46f8f0430', type: 'Unblock', status: REQUEST_STATUS.Approved, profileTemplateUuid: tpm },
      { uuid: '24c0dc2d-ddfd-42cf-b04a-c7ac36ad37b0', type: 'Unblock', status: REQUEST_STATUS.Approved, profileTemplateUuid: tpm },
      { uuid: 'ceaca555-b67b-4f97-a4f4-dfaf0c604108', type: 'Unblock', status: REQUEST_STATUS.Approved, profileTemplateUuid: threeKey },
      { uuid: 'efeaa0d5-6bd9-4928-bee7-b80cbf0a72f7', type: 'Unblock', status: REQUEST_STATUS.Approved, profileTemplateUuid: tpm },
    ],
    smartcards: [
      {
        uuid: EXAMPLE.scid,
        name: 'example',
        cardid: EXAMPLE.cardid,
        atr: DEFAULT_ATR,
        requests: [EXAMPLE.reqid],
        status: 'InUse',
        diversifiedKeyHex: EXAMPLE.diversifiedKeyHex,
      },
      {
        uuid: 'ef57dc49-2152-4205-9628-e46d1dd747d9',
        name: 'tpm-1',
        cardid: 'cbca098f-c661-4665-bcaa-24b5d6bd3e48',
        atr: DEFAULT_ATR,
        requests: ['d7592093-ad30-4e82-a49d-70f46f8f0430'],
        status: 'InUse',
      },
      {
        uuid: '62a4bb2e-b6c6-47d3-aa2d-34ac05e54bbd',
        name: 'tpm-2',
        cardid: 'a90f8764-7bed-49e9-a2b0-c48fd2a26fac',
        atr: DEFAULT_ATR,
        requests: ['24c0dc2d-ddfd-42cf-b04a-c7ac36ad37b0'],
        status: 'InUse',
      },
      {
        uuid: 'd38bdd3c-334c-4725-80b3-9c2a1547a726',
        name: 'three-key',
        cardid: '2cc2982d-4f7d-417c-9d92-201fdb9f7f6a',
        atr: DEFAULT_ATR,
        requests: ['ceaca555-b67b-4f97-a4f4-dfaf0c604108'],
        status: 'InUse',
      },
      {
        uuid: '3608f8d4-73a5-4036-bc5f-b64f0b5079da',
        name: 'no-admin-key',
        cardid: 'cc307e4b-b937-4816-b64d-89c57ce2d28f',
        atr: DEFAULT_ATR,
        requests: ['efeaa0d5-6bd9-4928-bee7-b80cbf0a72f7'],
        status: 'InUse',
        baseCspAdminKey: false,
      },
    ],
    principals: demoPrincipals(),
  };
}

/**
 * What a client needs to test the seeded cards: every card with a Base CSP admin key that
 * belongs to an open request, with its keys, and the demo-style tokens.
 */
export function describeSeed(seed: SeedData): { cards: SeededCard[]; tokens: { helpdesk: string; user: string } } {
  const templates = new Map(seed.templates.map((t) => [t.uuid.toLowerCase(), t]));
  const requests = new Map(seed.requests.map((r) => [r.uuid.toLowerCase(), r]));
  const cards: SeededCard[] = [];
  for (const sc of seed.smartcards) {
    if (sc.baseCspAdminKey === false) continue;
    if (sc.status === 'Retired' || sc.status === 'Disabled') continue;
    const open = sc.requests.map((id) => requests.get(id.toLowerCase())).find((r) => r && !CLOSED_STATUSES.has(r.status));
    if (!open) continue;
    const template = templates.get((sc.profileTemplateUuid ?? open.profileTemplateUuid).toLowerCase());
    if (!template) continue;
    const diversified = diversifiedKeyOf({
      cardid: sc.cardid.toLowerCase(),
      storedDiversifiedKey: sc.diversifiedKeyHex ? Buffer.from(sc.diversifiedKeyHex, 'hex') : null,
      diversify: template.diversifyAdminKey,
      diversificationSecret: template.diversificationSecretHex ? Buffer.from(template.diversificationSecretHex, 'hex') : null,
    });
    const card: SeededCard = {
      name: sc.name ?? sc.uuid.toLowerCase(),
      reqid: open.uuid.toLowerCase(),
      scid: sc.uuid.toLowerCase(),
      cardid: sc.cardid.toLowerCase(),
      atr: sc.atr ?? DEFAULT_ATR,
      adminKey: template.defaultAdminKeyHex.toLowerCase(),
    };
    if (template.diversifyAdminKey && diversified) card.diversifiedKey = diversified.toString('hex');
    cards.push(card);
  }
  const sensitive = seed.principals.filter((p) => p.roles.includes('sensitive'));
  const plain = seed.principals.filter((p) => !p.roles.includes('sensitive'));
  const pick = (list: SeedPrincipal[], name: string): string => (list.find((p) => p.name === name) ?? list[0])?.token ?? '';
  return { cards, tokens: { helpdesk: pick(sensitive, DEMO_TOKENS.helpdesk), user: pick(plain, DEMO_TOKENS.user) } };
}

/** Writes the seed into the store in one transaction; existing rows with the same ids are replaced. */
export function applySeed(store: Store, seed: SeedData): void {
  const now = new Date().toISOString();
  store.transaction(() => {
    for (const t of seed.templates) {
      store.upsertTemplate({
        uuid: t.uuid.toLowerCase(),
        name: t.name,
        defaultAdminKey: Buffer.from(t.defaultAdminKeyHex, 'hex'),
        diversify: t.diversifyAdminKey,
        diversificationSecret: t.diversificationSecretHex ? Buffer.from(t.diversificationSecretHex, 'hex') : null,
      });
    }
    for (const r of seed.requests) {
      store.upsertRequest({
        uuid: r.uuid.toLowerCase(),
        type: REQUEST_TYPES[r.type],
        status: r.status,
        templateUuid: r.profileTemplateUuid.toLowerCase(),
        comment: r.comment ?? null,
        dataCollection: null,
        priority: 0,
        originator: null,
        submitted: now,
        completed: r.status === REQUEST_STATUS.Completed ? now : null,
        oldSmartcardUuid: null,
        newSmartcardUuid: null,
      });
    }
    const requestTemplate = new Map(seed.requests.map((r) => [r.uuid.toLowerCase(), r.profileTemplateUuid.toLowerCase()]));
    for (const s of seed.smartcards) {
      const scid = s.uuid.toLowerCase();
      const firstRequest = s.requests[0]!.toLowerCase();
      const templateUuid = (s.profileTemplateUuid?.toLowerCase() ?? requestTemplate.get(firstRequest) ?? store.getRequest(firstRequest)?.templateUuid)!;
      store.upsertSmartcard({
        uuid: scid,
        cardid: s.cardid.toLowerCase(),
        atr: s.atr?.toLowerCase() ?? null,
        templateUuid,
        status: s.status ?? 'InUse',
        baseCspAdminKey: s.baseCspAdminKey !== false,
        diversifiedKey: s.diversifiedKeyHex ? Buffer.from(s.diversifiedKeyHex, 'hex') : null,
        created: now,
      });
      for (const reqid of s.requests) {
        store.linkSmartcard(reqid.toLowerCase(), scid);
        const req = store.getRequest(reqid.toLowerCase());
        if (req && req.type === REQUEST_TYPES.Unblock && !req.oldSmartcardUuid) store.upsertRequest({ ...req, oldSmartcardUuid: scid });
      }
    }
    for (const p of seed.principals) store.upsertPrincipal({ name: p.name, token: p.token, roles: p.roles, loopbackOnly: p.loopbackOnly === true });
  });
}

/** Reads and validates a `--seed FILE`; errors name the file and the key. */
export function loadSeedFile(file: string): SeedData {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read seed file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`seed file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return validateSeed(json, file);
}

/** Checks a seed object field by field; the first problem becomes an InputError naming `source` and the key. */
export function validateSeed(json: unknown, source = 'seed'): SeedData {
  const fail = (key: string, problem: string): never => {
    throw new InputError(`${source}: ${key} ${problem}`);
  };
  const obj = (v: unknown, key: string, allowed: string[], required: string[]): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(key, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${key}.${k}`, `is not a known key (known: ${allowed.join(', ')})`);
    for (const k of required) if (o[k] === undefined) fail(`${key}.${k}`, 'is required');
    return o;
  };
  const arr = (v: unknown, key: string): unknown[] => (Array.isArray(v) ? v : fail(key, 'must be an array'));
  const str = (v: unknown, key: string): string => (typeof v === 'string' && v.length > 0 ? v : fail(key, 'must be a non-empty string'));
  // GUIDs, keys and ATRs follow the validation kit, as the config file, the card file and
  // the server do: the server never holds a value the card or the harness would refuse.
  const guid = (v: unknown, key: string): string => {
    const r = readGuid(str(v, key));
    return r.ok ? r.value : fail(key, r.problem);
  };
  // Fields named ...Hex take hex only; the problem never echoes the key.
  const keyHex = (v: unknown, key: string): string => {
    const r = readAdminKey(str(v, key), { hexOnly: true });
    return r.ok ? r.value.key.toString('hex') : fail(key, r.problem);
  };
  const atr = (v: unknown, key: string): string => {
    const r = readAtr(str(v, key));
    return r.ok ? r.value : fail(key, r.problem);
  };
  const bool = (v: unknown, key: string): boolean => (typeof v === 'boolean' ? v : fail(key, 'must be true or false'));

  // `$schema` points an editor at schemas/seed.schema.json: a string, otherwise ignored.
  const root = obj(json, 'seed', ['$schema', 'templates', 'requests', 'smartcards', 'principals'], ['templates', 'requests', 'smartcards', 'principals']);
  if (root.$schema !== undefined && typeof root.$schema !== 'string') fail('$schema', "must be a string (the schema's path or URL)");
  const seen = new Set<string>();
  const unique = (id: string, key: string): void => {
    if (seen.has(id)) fail(key, `repeats the id ${id}`);
    seen.add(id);
  };

  const templates = arr(root.templates, 'templates').map((v, i): SeedTemplate => {
    const k = `templates[${i}]`;
    const o = obj(
      v,
      k,
      ['uuid', 'name', 'defaultAdminKeyHex', 'diversifyAdminKey', 'diversificationSecretHex'],
      ['uuid', 'name', 'defaultAdminKeyHex', 'diversifyAdminKey'],
    );
    const t: SeedTemplate = {
      uuid: guid(o.uuid, `${k}.uuid`),
      name: str(o.name, `${k}.name`),
      defaultAdminKeyHex: keyHex(o.defaultAdminKeyHex, `${k}.defaultAdminKeyHex`),
      diversifyAdminKey: bool(o.diversifyAdminKey, `${k}.diversifyAdminKey`),
    };
    unique(t.uuid, `${k}.uuid`);
    if (o.diversificationSecretHex !== undefined) {
      const s = str(o.diversificationSecretHex, `${k}.diversificationSecretHex`).replace(/\s/g, '');
      if (!/^([0-9a-fA-F]{2})+$/.test(s) || s.length < 32) fail(`${k}.diversificationSecretHex`, 'must be at least 16 bytes of hex');
      t.diversificationSecretHex = s.toLowerCase();
    }
    return t;
  });
  const templateIds = new Set(templates.map((t) => t.uuid));

  const types = Object.keys(REQUEST_TYPES);
  const statuses = Object.values(REQUEST_STATUS) as number[];
  const requests = arr(root.requests, 'requests').map((v, i): SeedRequest => {
    const k = `requests[${i}]`;
    const o = obj(v, k, ['uuid', 'type', 'status', 'profileTemplateUuid', 'comment'], ['uuid', 'type', 'status', 'profileTemplateUuid']);
    const type = str(o.type, `${k}.type`);
    if (!types.includes(type)) fail(`${k}.type`, `must be one of ${types.join(', ')}`);
    if (typeof o.status !== 'number' || !statuses.includes(o.status)) fail(`${k}.status`, `must be a request status number (${statuses.join(', ')})`);
    const r: SeedRequest = {
      uuid: guid(o.uuid, `${k}.uuid`),
      type: type as RequestTypeName,
      status: o.status as number,
      profileTemplateUuid: guid(o.profileTemplateUuid, `${k}.profileTemplateUuid`),
    };
    if (!templateIds.has(r.profileTemplateUuid)) fail(`${k}.profileTemplateUuid`, `names no template of this seed: ${r.profileTemplateUuid}`);
    if (o.comment !== undefined) r.comment = str(o.comment, `${k}.comment`);
    unique(r.uuid, `${k}.uuid`);
    return r;
  });
  const requestIds = new Set(requests.map((r) => r.uuid));

  const smartcards = arr(root.smartcards, 'smartcards').map((v, i): SeedSmartcard => {
    const k = `smartcards[${i}]`;
    const o = obj(
      v,
      k,
      ['uuid', 'name', 'cardid', 'atr', 'profileTemplateUuid', 'requests', 'status', 'baseCspAdminKey', 'diversifiedKeyHex'],
      ['uuid', 'cardid', 'requests'],
    );
    const s: SeedSmartcard = {
      uuid: guid(o.uuid, `${k}.uuid`),
      cardid: guid(o.cardid, `${k}.cardid`),
      requests: arr(o.requests, `${k}.requests`).map((r, j) => guid(r, `${k}.requests[${j}]`)),
    };
    unique(s.uuid, `${k}.uuid`);
    if (s.requests.length === 0) fail(`${k}.requests`, 'must name at least one request');
    s.requests.forEach((r, j) => requestIds.has(r) || fail(`${k}.requests[${j}]`, `names no request of this seed: ${r}`));
    if (o.name !== undefined) s.name = str(o.name, `${k}.name`);
    if (o.atr !== undefined) s.atr = atr(o.atr, `${k}.atr`);
    if (o.profileTemplateUuid !== undefined) {
      s.profileTemplateUuid = guid(o.profileTemplateUuid, `${k}.profileTemplateUuid`);
      if (!templateIds.has(s.profileTemplateUuid)) fail(`${k}.profileTemplateUuid`, `names no template of this seed: ${s.profileTemplateUuid}`);
    }
    if (o.status !== undefined) {
      const st = str(o.status, `${k}.status`);
      if (!(SMARTCARD_STATUSES as readonly string[]).includes(st)) fail(`${k}.status`, `must be one of ${SMARTCARD_STATUSES.join(', ')}`);
      s.status = st as SmartcardStatus;
    }
    if (o.baseCspAdminKey !== undefined) s.baseCspAdminKey = bool(o.baseCspAdminKey, `${k}.baseCspAdminKey`);
    if (o.diversifiedKeyHex !== undefined) s.diversifiedKeyHex = keyHex(o.diversifiedKeyHex, `${k}.diversifiedKeyHex`);
    return s;
  });
  for (const [i, t] of templates.entries()) {
    if (t.diversifyAdminKey && !t.diversificationSecretHex) {
      const cards = smartcards.filter((s) => (s.profileTemplateUuid ?? requests.find((r) => r.uuid === s.requests[0])?.profileTemplateUuid) === t.uuid);
      if (cards.some((s) => !s.diversifiedKeyHex))
        fail(`templates[${i}].diversificationSecretHex`, 'is required when diversifyAdminKey is true (or give every card of the template a diversifiedKeyHex)');
    }
  }

  const names = new Set<string>();
  const principals = arr(root.principals, 'principals').map((v, i): SeedPrincipal => {
    const k = `principals[${i}]`;
    const o = obj(v, k, ['name', 'token', 'roles', 'loopbackOnly'], ['name', 'token', 'roles']);
    const p: SeedPrincipal = {
      name: str(o.name, `${k}.name`),
      token: str(o.token, `${k}.token`),
      roles: arr(o.roles, `${k}.roles`).map((r, j) => {
        const role = str(r, `${k}.roles[${j}]`);
        return (ROLES as readonly string[]).includes(role) ? (role as Role) : fail(`${k}.roles[${j}]`, `must be one of ${ROLES.join(', ')}`);
      }),
    };
    if (o.loopbackOnly !== undefined) p.loopbackOnly = bool(o.loopbackOnly, `${k}.loopbackOnly`);
    if (names.has(p.name)) fail(`${k}.name`, `repeats the principal ${p.name}`);
    names.add(p.name);
    // A guessable token would be a hole once the server listens beyond loopback.
    if (!p.loopbackOnly && p.token.length < 16) fail(`${k}.token`, 'must be at least 16 characters (or set loopbackOnly: true)');
    if (/\s/.test(p.token)) fail(`${k}.token`, 'must not contain whitespace');
    return p;
  });

  return { templates, requests, smartcards, principals };
}
