import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSeed, startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { parseGuid } from '../../simulator/bytes.js';
import { sp800108Diversifier } from '../../simulator/diversify.js';
import { EX, HELPDESK, JSON_HEADERS, USER, errorBody, raw, responsePath } from './support.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startReferenceServer({ quiet: true });
});
afterAll(() => server.close());

const API = '/CertificateManagement/api/v1.0';
const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
  raw(server.url, API + path, { method: 'POST', headers, body: JSON.stringify(body) });
const put = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
  raw(server.url, API + path, { method: 'PUT', headers, body: JSON.stringify(body) });
const get = (path: string, headers: Record<string, string> = HELPDESK) => raw(server.url, API + path, { headers });
const idOf = (uri: string): string => /([0-9a-f-]{36})$/.exec(JSON.parse(uri) as string)![1]!;

describe('profile templates', () => {
  it('lists the templates to any caller', async () => {
    const r = await get('/profiletemplates', USER);
    expect(r.status).toBe(200);
    const list = JSON.parse(r.body) as { Uuid: string }[];
    expect(list.map((t) => t.Uuid)).toContain(EX.template);
  });

  it('shows the smart card configuration, with the default key, only to the sensitive role', async () => {
    const r = await get(`/profiletemplates/${EX.template}/configuration/smartcards`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ DefaultAdminKeyHex: '00'.repeat(24), DiversifyAdminKey: true });
    expect((await get(`/profiletemplates/${EX.template}/configuration/smartcards`, USER)).status).toBe(403);
    expect((await get('/profiletemplates/00000000-0000-0000-0000-0000000000aa/configuration/smartcards')).status).toBe(404);
  });
});

describe('the enrollment walkthrough and the request lifecycle', () => {
  it('enroll, assign a card, respond, complete, then unblock through a new request', async () => {
    // Enroll on the documented template.
    const created = await post('/requests', { type: 'Enroll', profiletemplateuuid: EX.template, comment: 'new card' });
    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(created.body).toMatch(/^"api\/v1\.0\/requests\/[0-9a-f-]{36}"$/);
    const reqid = idOf(created.body);
    expect(created.headers.location).toBe(`${API}/requests/${reqid}`);

    const read = JSON.parse((await get(`/requests/${reqid}`)).body) as Record<string, unknown>;
    expect(read).toMatchObject({ Uuid: reqid, RequestType: 1, Status: 3, ProfileTemplateUuid: EX.template, Comment: 'new card' });

    // Assign a card to it.
    const cardid = '5d0c7a3e-0f4e-4b8e-9a57-2f0d6c1e9b11';
    const assigned = await post('/smartcards', { requestid: reqid, cardid, atr: '3b8d0180fba000000397425446590301c8' });
    expect(assigned.status).toBe(201);
    expect(assigned.body).toMatch(/^"api\/v1\.0\/smartcards\/[0-9a-f-]{36}"$/);
    const scid = idOf(assigned.body);
    const sc = JSON.parse((await get(`/smartcards/${scid}`)).body) as Record<string, unknown>;
    expect(sc).toMatchObject({
      Uuid: scid,
      SerialNumber: cardid,
      Middleware: 'MSBaseCSP',
      Atr: '3b8d0180fba000000397425446590301c8',
      ProfileTemplateUuid: EX.template,
    });
    const byCardid = JSON.parse((await get(`/smartcards?cardid=${cardid}`)).body) as { Uuid: string }[];
    expect(byCardid.map((s) => s.Uuid)).toEqual([scid]);

    // The card starts on the default key (all zero): the documented answer.
    const q = (div: string) => `cardid=${cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=${div}`;
    expect((await raw(server.url, responsePath(reqid, scid, q('False')), { headers: HELPDESK })).body).toBe('"F0Zudm4wPLY="');
    // Its diversified key is its own (derived), and the diversified answer agrees with it.
    const key = JSON.parse((await get(`/requests/${reqid}/smartcards/${scid}/diversifiedkey?cardid=${cardid}`)).body) as string;
    expect(Buffer.from(key, 'base64')).toHaveLength(24);
    // ...and it is the simulator's SP 800-108 derivation from the template's secret and the cardid.
    const secret = defaultSeed().templates.find((t) => t.uuid === EX.template)!.diversificationSecretHex!;
    expect(Buffer.from(key, 'base64').toString('hex')).toBe(sp800108Diversifier(Buffer.from(secret, 'hex')).deriveKey(parseGuid(cardid)).toString('hex'));
    expect(key).not.toBe('mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI');
    const div = await raw(server.url, responsePath(reqid, scid, q('true')), { headers: HELPDESK });
    expect(div.status).toBe(200);
    expect(div.body).not.toBe('"xdUoVecIEg0="');

    // Complete the request: it hands out nothing more.
    const done = await put(`/requests/${reqid}`, { status: 'Completed' });
    expect(done.status).toBe(200);
    expect(JSON.parse(done.body)).toMatchObject({ Status: 8 });
    const after = await raw(server.url, responsePath(reqid, scid, q('true')), { headers: HELPDESK });
    expect(after.status).toBe(403);
    expect(errorBody(after).Message).toMatch(/Completed/);
    expect((await put(`/requests/${reqid}`, { status: 'Canceled' })).status).toBe(409);
    expect((await put(`/requests/${reqid}`, { status: 'completed' })).status).toBe(200);

    // Later: an Unblock request for the card answers with the same diversified key.
    const unblock = await post('/requests', { type: 'Unblock', smartcard: scid });
    expect(unblock.status).toBe(201);
    const unblockId = idOf(unblock.body);
    expect(JSON.parse((await get(`/requests/${unblockId}`)).body)).toMatchObject({ RequestType: 5, Status: 3, OldSmartcardUuid: scid });
    const again = await raw(server.url, responsePath(unblockId, scid, q('true')), { headers: HELPDESK });
    expect(again.body).toBe(div.body);

    // Cancel it: no more answers there either.
    expect((await put(`/requests/${unblockId}`, { status: 'Canceled' })).status).toBe(200);
    expect((await raw(server.url, responsePath(unblockId, scid, q('true')), { headers: HELPDESK })).status).toBe(403);
  });

  it('retiring a card stops its answers', async () => {
    const reqid = idOf((await post('/requests', { type: 'Enroll', profiletemplateuuid: EX.template })).body);
    const cardid = '7e1f2b4c-8d3a-4c6e-b1f0-0a9b8c7d6e5f';
    const scid = idOf((await post('/smartcards', { requestid: reqid, cardid })).body);
    const path = responsePath(reqid, scid, `cardid=${cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=false`);
    expect((await raw(server.url, path, { headers: HELPDESK })).status).toBe(200);
    const retired = await put(`/requests/${reqid}/smartcards/${scid}`, { status: 'Retired' });
    expect(retired.status).toBe(200);
    expect(JSON.parse(retired.body)).toMatchObject({ Status: 'Retired' });
    expect((await raw(server.url, path, { headers: HELPDESK })).status).toBe(403);
  });

  it('refuses bad bodies with 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ type: 'Enroll', profiletemplateuuid: EX.template, colour: 'red' }, /unknown field "colour"/],
      [{ type: 'Teleport', profiletemplateuuid: EX.template }, /field type/],
      [{ profiletemplateuuid: EX.template }, /field type is required/],
      [{ type: 'Enroll' }, /profiletemplateuuid is required/],
      [{ type: 'Enroll', profiletemplateuuid: 'nope' }, /profiletemplateuuid is not a GUID/],
      [{ type: 'Enroll', profiletemplateuuid: '00000000-0000-0000-0000-0000000000aa' }, /names no profile template/],
      [{ type: 'Unblock' }, /smartcard is required/],
      [{ type: 'Unblock', smartcard: '00000000-0000-0000-0000-0000000000aa' }, /names no smart card/],
      [{ type: 'Enroll', profiletemplateuuid: EX.template, priority: 'high' }, /priority/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of cases) {
      const r = await post('/requests', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorBody(r).Message).toMatch(message);
    }
    const notJson = await raw(server.url, `${API}/requests`, { method: 'POST', headers: JSON_HEADERS, body: '{"type": "Enroll",' });
    expect(notJson.status).toBe(400);
    expect(errorBody(notJson).Message).toMatch(/not valid JSON/);
    const empty = await raw(server.url, `${API}/requests`, { method: 'POST', headers: JSON_HEADERS });
    expect(errorBody(empty).Message).toMatch(/body is required/);
    const wrongType = await raw(server.url, `${API}/requests`, { method: 'POST', headers: { ...HELPDESK, 'Content-Type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);
    const badStatus = await put(`/requests/${EX.reqid}`, { status: 'Approved' });
    expect(badStatus.status).toBe(400);
    expect(errorBody(badStatus).Message).toMatch(/field status/);
    const badCard = await post('/smartcards', { requestid: EX.reqid, cardid: 'x' });
    expect(errorBody(badCard).Message).toMatch(/cardid is not a GUID/);
    const badAtr = await post('/smartcards', {
      requestid: EX.reqid,
      cardid: '9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
      atr: '3b8d0180fba000000397425446590301c9',
    });
    expect(badAtr.status).toBe(400);
    expect(errorBody(badAtr).Message).toMatch(/atr has a wrong TCK/);
  });

  it('413 JSON for an oversized body', async () => {
    const r = await raw(server.url, `${API}/requests`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ type: 'Enroll', comment: 'x'.repeat(100_000) }),
    });
    expect(r.status).toBe(413);
    errorBody(r);
  });

  it('refuses writes to callers without the manage role (403), and anyone anonymous (401)', async () => {
    expect((await post('/requests', { type: 'Enroll', profiletemplateuuid: EX.template }, { ...USER, 'Content-Type': 'application/json' })).status).toBe(403);
    expect((await post('/requests', { type: 'Enroll', profiletemplateuuid: EX.template }, { 'Content-Type': 'application/json' })).status).toBe(401);
    expect((await get(`/requests/${EX.reqid}`, {})).status).toBe(401);
  });

  it('404 for unknown requests and smart cards, 204 for a cardid with no card, 409 for a second card with one cardid', async () => {
    expect((await get('/requests/00000000-0000-0000-0000-0000000000aa')).status).toBe(404);
    expect((await get('/smartcards/00000000-0000-0000-0000-0000000000aa')).status).toBe(404);
    expect((await get('/smartcards?cardid=00000000-0000-0000-0000-0000000000aa')).status).toBe(204);
    expect((await get('/smartcards')).status).toBe(400);
    const dup = await post('/smartcards', { requestid: EX.reqid, cardid: EX.cardid });
    expect(dup.status).toBe(409);
    expect(errorBody(dup).Message).toContain(EX.scid);
  });
});
