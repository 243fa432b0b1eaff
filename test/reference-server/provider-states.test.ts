import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyProviderState, ProviderStatesOffLoopbackError, startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { HELPDESK, JSON_HEADERS, errorBody, raw, responsePath } from './support.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startReferenceServer({ quiet: true, providerStates: true });
});
afterAll(() => server.close());

const setup = (state: string, params: Record<string, string>) =>
  raw(server.url, '/_pact/provider-states', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ state, params, action: 'setup' }),
  });

const ids = { reqid: '11111111-2222-4333-8444-555555555555', scid: '66666666-7777-4888-9999-aaaaaaaaaaaa', cardid: 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff' };

describe('provider states', () => {
  it('a smart card with a Base CSP admin key: answers with that key, and the stored diversified key', async () => {
    const params = { ...ids, adminKey: '0102030405060708'.repeat(3), diversifiedKey: '981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408' };
    for (let i = 0; i < 2; i++) expect((await setup('a smart card with a Base CSP admin key', params)).status).toBe(200); // idempotent
    const q = (d: string, c: string) =>
      responsePath(ids.reqid, ids.scid, `cardid=${ids.cardid}&challenge=${encodeURIComponent(Buffer.from(c, 'hex').toString('base64'))}&diversified=${d}`);
    const plain = await raw(server.url, q('false', '1603ebdf1c8a2e72'), { headers: HELPDESK });
    expect(Buffer.from(JSON.parse(plain.body) as string, 'base64').toString('hex')).toBe('f940671512cd0dff');
    expect((await raw(server.url, q('true', 'd61143f9ccffd2ca'), { headers: HELPDESK })).body).toBe('"xdUoVecIEg0="');
  });

  it('a smart card without a Base CSP admin key: 204', async () => {
    const p = { reqid: '21111111-2222-4333-8444-555555555555', scid: '26666666-7777-4888-9999-aaaaaaaaaaaa', cardid: '2bbbbbbb-cccc-4ddd-8eee-ffffffffffff' };
    expect((await setup('a smart card without a Base CSP admin key', p)).status).toBe(200);
    const r = await raw(server.url, responsePath(p.reqid, p.scid, `cardid=${p.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`), { headers: HELPDESK });
    expect(r.status).toBe(204);
  });

  it('a profile template, a smart card and a request support the request endpoints', async () => {
    const t = '31111111-2222-4333-8444-555555555555';
    expect((await setup('a profile template', { profileTemplateUuid: t, adminKey: '00'.repeat(24), diversify: 'true' })).status).toBe(200);
    const enroll = await raw(server.url, '/CertificateManagement/api/v1.0/requests', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ type: 'Enroll', profiletemplateuuid: t }),
    });
    expect(enroll.status).toBe(201);

    const c = { reqid: '41111111-2222-4333-8444-555555555555', scid: '46666666-7777-4888-9999-aaaaaaaaaaaa', cardid: '4bbbbbbb-cccc-4ddd-8eee-ffffffffffff' };
    expect((await setup('a smart card', c)).status).toBe(200);
    const unblock = await raw(server.url, '/CertificateManagement/api/v1.0/requests', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ type: 'Unblock', smartcard: c.scid }),
    });
    expect(unblock.status).toBe(201);

    const r = '51111111-2222-4333-8444-555555555555';
    expect((await setup('a request', { reqid: r, status: '3' })).status).toBe(200);
    const read = await raw(server.url, `/CertificateManagement/api/v1.0/requests/${r}`, { headers: HELPDESK });
    expect(JSON.parse(read.body)).toMatchObject({ Uuid: r, Status: 3 });
    expect((await setup('a request', { reqid: r, status: '8' })).status).toBe(200);
    expect(JSON.parse((await raw(server.url, `/CertificateManagement/api/v1.0/requests/${r}`, { headers: HELPDESK })).body)).toMatchObject({ Status: 8 });
  });

  it('400 naming an unknown state or a bad parameter; teardown is accepted', async () => {
    const unknown = await setup('a unicorn', {});
    expect(unknown.status).toBe(400);
    expect(errorBody(unknown).Message).toContain('"a unicorn"');
    const bad = await setup('a smart card with a Base CSP admin key', { ...ids, adminKey: '1234' });
    expect(bad.status).toBe(400);
    expect(errorBody(bad).Message).toMatch(/params\.adminKey must be 48 or 32 hex digits/);
    const teardown = await raw(server.url, '/_pact/provider-states', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ state: 'a request', params: {}, action: 'teardown' }),
    });
    expect(teardown.status).toBe(200);
    expect(teardown.body).toBe('{}');
  });

  it('are refused off loopback (no token guards them), before anything listens', async () => {
    expect(server.loopback).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      const start = startReferenceServer({ quiet: true, providerStates: true, host, port: 0 });
      await expect(start, host).rejects.toBeInstanceOf(ProviderStatesOffLoopbackError);
      await expect(start, host).rejects.toThrow(`provider states are served only on loopback: ${host} is not a loopback address`);
    }
  });

  it('is the same logic as applyProviderState, and absent unless enabled', async () => {
    const other = await startReferenceServer({ quiet: true });
    try {
      expect(applyProviderState(other.store, 'a request', { reqid: '61111111-2222-4333-8444-555555555555', status: '3' })).toEqual({
        reqid: '61111111-2222-4333-8444-555555555555',
      });
      expect(other.store.getRequest('61111111-2222-4333-8444-555555555555')?.status).toBe(3);
      const r = await raw(other.url, '/_pact/provider-states', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"state":"a request"}',
      });
      expect(r.status).toBe(404);
      expect(() => applyProviderState(other.store, 'nope', {})).toThrow(/unknown provider state "nope"/);
    } finally {
      await other.close();
    }
  });
});
