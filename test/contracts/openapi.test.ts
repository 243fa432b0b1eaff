/**
 * contracts/openapi.json cannot drift from the reference server: real responses to every
 * documented operation (and its error codes) must be documented there, status and body, and
 * every documented operation must answer 2xx at least once.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, EXAMPLE_CARD, KEYLESS_CARD, LOWER_CASE_BASE_PATH, NON_WEAK_CARD } from '../../contracts/fixtures.js';
import { cardWithoutKey } from '../../contracts/states.js';
import { CmClient, type CmResponse } from '../../harness/wire/cm-client.js';
import { idFromUri } from '../../harness/wire/decode.js';
import type { RecordedExchange } from '../../harness/events.js';
import { applyProviderState, BASE_PATH, EXAMPLE as SEED_EXAMPLE, startReferenceServer, type RunningServer } from '../../reference-server/index.js';

type Json = Record<string, unknown>;
const doc = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../contracts/openapi.json'), 'utf8')) as Json;
const paths = doc.paths as Record<string, Record<string, Json>>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Follows a local `#/...` reference. */
function deref<T = Json>(node: unknown): T {
  let n = node as Json;
  while (n && typeof n.$ref === 'string') {
    const ref: string = n.$ref;
    n = ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((acc, key) => (acc as Json)?.[key], doc) as Json;
    if (n === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return n as T;
}

function templateFor(pathname: string): string | undefined {
  const rel = pathname.toLowerCase().startsWith(BASE_PATH.toLowerCase()) ? pathname.slice(BASE_PATH.length) : undefined;
  if (rel === undefined) return undefined;
  return Object.keys(paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`, 'i').test(rel));
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...doc, $id: 'openapi' });

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with resolvable references, unique operation ids and declared path parameters', () => {
    expect(doc.openapi).toBe('3.1.0');
    const refs: string[] = [];
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === 'object') {
        for (const [k, v] of Object.entries(n)) {
          if (k === '$ref') refs.push(v as string);
          else walk(v);
        }
      }
    };
    walk(doc);
    for (const r of refs) expect(() => deref({ $ref: r }), r).not.toThrow();
    const ids: string[] = [];
    for (const [template, item] of Object.entries(paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method]!;
        ids.push(op.operationId as string);
        const declared = ((op.parameters ?? []) as unknown[])
          .map((p) => deref<{ name: string; in: string }>(p))
          .filter((p) => p.in === 'path')
          .map((p) => p.name);
        const inTemplate = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        expect(declared.sort(), `${method} ${template}`).toEqual(inTemplate.sort());
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('real reference-server responses match the document', () => {
  let server: RunningServer;
  // What was sent (from the client's recording) and what came back (unredacted: key bodies must validate too).
  const exchanges: Array<{ method: string; url: string; res: CmResponse }> = [];
  let lastRequest: RecordedExchange['request'] | undefined;
  const t = async (p: Promise<CmResponse>): Promise<CmResponse> => {
    const res = await p;
    exchanges.push({ method: lastRequest!.method, url: lastRequest!.url, res });
    return res;
  };
  let helpdesk: CmClient;
  let user: CmClient;

  beforeAll(async () => {
    server = await startReferenceServer({ port: 0, quiet: true });
    applyProviderState(server.store, cardWithoutKey(KEYLESS_CARD).name, cardWithoutKey(KEYLESS_CARD).params);
    const record = (e: RecordedExchange): void => void (lastRequest = e.request);
    helpdesk = new CmClient({ server: server.url, headers: { Authorization: 'Bearer demo-helpdesk' }, onExchange: record });
    user = new CmClient({ server: server.url, headers: { Authorization: 'Bearer demo-user' }, onExchange: record });

    const ex = { reqid: EXAMPLE_CARD.reqid, scid: EXAMPLE_CARD.scid, cardid: EXAMPLE_CARD.cardid };
    const keyless = { reqid: KEYLESS_CARD.reqid, scid: KEYLESS_CARD.scid, cardid: KEYLESS_CARD.cardid };
    const auth = (p: Partial<Parameters<CmClient['authenticationResponse']>[0]>) => ({ ...ex, challenge: EXAMPLE.challenge, diversified: false, ...p });
    // authenticationresponse: 200 (both base-path spellings, both keys), 204, 400, 401, 403, 404, 405
    await t(helpdesk.authenticationResponse(auth({}), { basePath: LOWER_CASE_BASE_PATH }));
    await t(helpdesk.authenticationResponse(auth({ diversified: true, challenge: Buffer.alloc(16, 7) })));
    await t(helpdesk.authenticationResponse(auth({ ...keyless })));
    await t(helpdesk.authenticationResponse(auth({ challenge: 'not-base64!' })));
    await t(helpdesk.authenticationResponse(auth({}), { headers: null }));
    await t(user.authenticationResponse(auth({})));
    await t(helpdesk.authenticationResponse(auth({ scid: NON_WEAK_CARD.scid })));
    await t(helpdesk.authenticationResponse(auth({}), { method: 'POST' }));
    // diversifiedkey: 200, 204
    await t(helpdesk.diversifiedKey(ex));
    await t(helpdesk.diversifiedKey(keyless));
    // templates: list, configuration, unknown
    await t(helpdesk.profileTemplates());
    await t(helpdesk.smartcardConfiguration(SEED_EXAMPLE.templateUuid));
    await t(helpdesk.smartcardConfiguration(randomUUID()));
    // the request lifecycle
    const unblock = idFromUri((await t(helpdesk.createRequest({ type: 'Unblock', smartcard: EXAMPLE_CARD.scid }))).body);
    await t(helpdesk.getRequest(unblock));
    await t(helpdesk.updateRequest(unblock, 'Completed'));
    await t(helpdesk.updateRequest(unblock, 'Canceled')); // 409: already completed
    await t(helpdesk.getRequest(randomUUID())); // 404
    await t(helpdesk.createRequest({ type: 'Unblock' })); // 400: no smartcard
    await t(
      helpdesk.raw('POST', `${BASE_PATH}/requests`, { body: 'type=Unblock', headers: { Authorization: 'Bearer demo-helpdesk', 'Content-Type': 'text/plain' } }),
    ); // 415
    await t(helpdesk.raw('POST', `${BASE_PATH}/requests`, { body: JSON.stringify({ comment: 'x'.repeat(2_000_000) }) })); // 413
    // smart cards
    const enroll = idFromUri((await t(helpdesk.createRequest({ type: 'Enroll', profiletemplateuuid: SEED_EXAMPLE.templateUuid }))).body);
    const cardid = randomUUID();
    const scid = idFromUri((await t(helpdesk.createSmartcard({ requestid: enroll, cardid, atr: '3b8d0180fba000000397425446590301c8' }))).body);
    await t(helpdesk.getSmartcard(scid));
    await t(helpdesk.findSmartcards(cardid));
    await t(helpdesk.findSmartcards(randomUUID())); // 204
    await t(helpdesk.raw('PUT', `${BASE_PATH}/requests/${enroll}/smartcards/${scid}`, { body: JSON.stringify({ status: 'Retired' }) }));
  });

  afterAll(async () => {
    helpdesk?.close();
    user?.close();
    await server?.close();
  });

  it('documents every status the server answered, with a body that validates', () => {
    expect(exchanges.length).toBeGreaterThan(25);
    const problems: string[] = [];
    for (const { method: m, url: u, res } of exchanges) {
      const url = new URL(u);
      const method = m.toLowerCase();
      const status = String(res.status);
      const label = `${m} ${url.pathname} -> ${status}`;
      const template = templateFor(url.pathname);
      if (!template) {
        problems.push(`${label}: path not in the document`);
        continue;
      }
      const item = paths[template]!;
      // A wrong method has no operation of its own: the path's operations document the 405.
      const opKey = item[method] ? method : status === '405' ? METHODS.find((k) => item[k]) : undefined;
      if (!opKey) {
        problems.push(`${label}: ${method} ${template} is not documented`);
        continue;
      }
      const responses = item[opKey]!.responses as Record<string, Json>;
      if (!responses[status]) {
        problems.push(`${label}: status ${status} is not documented for ${opKey} ${template}`);
        continue;
      }
      const documented = deref<{ content?: Json; headers?: Record<string, { required?: boolean }> }>(responses[status]);
      for (const [name, h] of Object.entries(documented.headers ?? {})) {
        if (h.required && res.headers[name.toLowerCase()] === undefined) problems.push(`${label}: required header ${name} missing`);
      }
      if (!documented.content) {
        if (res.body !== '') problems.push(`${label}: documented without a body, got ${JSON.stringify(res.body.slice(0, 60))}`);
        continue;
      }
      const contentType = res.headers['content-type'] ?? '';
      if (!contentType.startsWith('application/json')) problems.push(`${label}: Content-Type ${contentType}`);
      const ref = responses[status]!.$ref as string | undefined;
      const schemaId = ref
        ? `openapi${ref}/content/application~1json/schema`
        : `openapi#/${pointer('paths', template, opKey, 'responses', status, 'content', 'application/json', 'schema')}`;
      const check = ajv.getSchema(schemaId);
      if (!check) {
        problems.push(`${label}: cannot compile ${schemaId}`);
        continue;
      }
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        problems.push(`${label}: body is not JSON`);
        continue;
      }
      if (!check(body)) problems.push(`${label}: ${ajv.errorsText(check.errors)}`);
    }
    expect(problems).toEqual([]);
  });

  it('has every documented operation answer 2xx at least once', () => {
    const seen = new Set<string>();
    for (const e of exchanges) {
      const template = e.res.status < 300 ? templateFor(new URL(e.url).pathname) : undefined;
      if (template) seen.add(`${e.method.toLowerCase()} ${template}`);
    }
    const documented = Object.entries(paths).flatMap(([t, item]) => METHODS.filter((m) => item[m]).map((m) => `${m} ${t}`));
    expect(documented.filter((d) => !seen.has(d))).toEqual([]);
  });
});
