import { createCipheriv } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSeed, describeSeed, startReferenceServer, type RunningServer, type SeededCard } from '../../reference-server/index.js';
import { EX, HELPDESK, USER, errorBody, raw, responsePath } from './support.js';

// Known answers from docs/protocol.md#known-answer-vectors, computed here with Node's OpenSSL, not our code.
function openssl3des(keyHex: string, dataHex: string): string {
  const c = createCipheriv('des-ede3', Buffer.from(keyHex, 'hex'), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(Buffer.from(dataHex, 'hex')), c.final()]).toString('hex');
}

const b64 = (hex: string): string => encodeURIComponent(Buffer.from(hex, 'hex').toString('base64'));

let server: RunningServer;
let cards: SeededCard[];
const card = (name: string): SeededCard => cards.find((c) => c.name === name)!;

beforeAll(async () => {
  server = await startReferenceServer({ quiet: true });
  cards = describeSeed(defaultSeed()).cards;
});
afterAll(() => server.close());

describe('the documented example', () => {
  it('answers the documented request byte for byte', async () => {
    const r = await raw(
      server.url,
      responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`, '/certificatemanagement/api/v1.0'),
      { headers: HELPDESK },
    );
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.body).toBe('"F0Zudm4wPLY="');
  });

  it('answers diversified=true under the documented diversified key', async () => {
    const r = await raw(server.url, responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=true`), {
      headers: HELPDESK,
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe('"xdUoVecIEg0="');
  });

  it('hands out the documented diversified key', async () => {
    const r = await raw(server.url, `/certificatemanagement/api/v1.0/requests/${EX.reqid}/smartcards/${EX.scid}/diversifiedkey?cardid=${EX.cardid}`, {
      headers: HELPDESK,
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe('"mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI"');
  });

  it('routes any spelling of the base path and accepts every boolean spelling', async () => {
    for (const base of ['/CERTIFICATEMANAGEMENT/API/V1.0', '/CertificateManagement/Api/V1.0', '/certificatemanagement/api/v1.0']) {
      for (const [spelling, expected] of [
        ['False', 'F0Zudm4wPLY='],
        ['false', 'F0Zudm4wPLY='],
        ['True', 'xdUoVecIEg0='],
        ['true', 'xdUoVecIEg0='],
      ]) {
        const r = await raw(server.url, responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=${spelling}`, base), {
          headers: HELPDESK,
        });
        expect(r.body, `${base} ${spelling}`).toBe(`"${expected}"`);
      }
    }
  });

  it('answers a multi-block challenge block by block (ECB)', async () => {
    // Both known-answer blocks of the all-zero key in one 16-byte challenge.
    const r = await raw(
      server.url,
      responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=${b64('d61143f9ccffd2caa892d75601617c5d')}&diversified=false`),
      { headers: HELPDESK },
    );
    expect(r.status).toBe(200);
    expect(Buffer.from(JSON.parse(r.body) as string, 'base64').toString('hex')).toBe('17466e766e303cb61951ec3ef81bbabb');
  });

  it('accepts braces and upper case in GUIDs', async () => {
    const r = await raw(
      server.url,
      responsePath(EX.reqid.toUpperCase(), `{${EX.scid}}`, `cardid=${EX.cardid.toUpperCase()}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`),
      { headers: HELPDESK },
    );
    expect(r.body).toBe('"F0Zudm4wPLY="');
  });
});

describe('cards with non-weak keys', () => {
  it('uses the template default key 0102..08 x3 for diversified=false (known answer)', async () => {
    const c = card('tpm-1');
    expect(c.adminKey).toBe('0102030405060708'.repeat(3));
    const r = await raw(server.url, responsePath(c.reqid, c.scid, `cardid=${c.cardid}&challenge=${b64('1603ebdf1c8a2e72')}&diversified=false`), {
      headers: HELPDESK,
    });
    expect(Buffer.from(JSON.parse(r.body) as string, 'base64').toString('hex')).toBe('f940671512cd0dff');
  });

  it('uses each card its own diversified key for diversified=true, the one its diversifiedkey endpoint gives', async () => {
    const seen = new Set<string>();
    for (const name of ['tpm-1', 'tpm-2']) {
      const c = card(name);
      expect(c.diversifiedKey).toMatch(/^[0-9a-f]{48}$/);
      const k = await raw(server.url, `/CertificateManagement/api/v1.0/requests/${c.reqid}/smartcards/${c.scid}/diversifiedkey?cardid=${c.cardid}`, {
        headers: HELPDESK,
      });
      const keyHex = Buffer.from(JSON.parse(k.body) as string, 'base64').toString('hex');
      expect(keyHex).toBe(c.diversifiedKey);
      expect(keyHex).not.toBe(c.adminKey);
      seen.add(keyHex);
      const r = await raw(server.url, responsePath(c.reqid, c.scid, `cardid=${c.cardid}&challenge=${b64('1603ebdf1c8a2e72')}&diversified=true`), {
        headers: HELPDESK,
      });
      expect(Buffer.from(JSON.parse(r.body) as string, 'base64').toString('hex')).toBe(openssl3des(keyHex, '1603ebdf1c8a2e72'));
    }
    expect(seen.size).toBe(2);
  });

  it('uses a true 3-key default key (encrypts, not decrypts)', async () => {
    const c = card('three-key');
    expect(c.diversifiedKey).toBeUndefined();
    const r = await raw(server.url, responsePath(c.reqid, c.scid, `cardid=${c.cardid}&challenge=${b64('a892d75601617c5d')}&diversified=false`), {
      headers: HELPDESK,
    });
    expect(Buffer.from(JSON.parse(r.body) as string, 'base64').toString('hex')).toBe(openssl3des(c.adminKey, 'a892d75601617c5d'));
  });

  it('answers 204 for diversified=true on a card whose template does not diversify, as its diversifiedkey does', async () => {
    const c = card('three-key');
    const d = await raw(server.url, responsePath(c.reqid, c.scid, `cardid=${c.cardid}&challenge=${b64('a892d75601617c5d')}&diversified=true`), {
      headers: HELPDESK,
    });
    const k = await raw(server.url, `/CertificateManagement/api/v1.0/requests/${c.reqid}/smartcards/${c.scid}/diversifiedkey?cardid=${c.cardid}`, {
      headers: HELPDESK,
    });
    expect([d.status, d.body]).toEqual([204, '']);
    expect([k.status, k.body]).toEqual([204, '']);
    const rows = server.store.listAudit().slice(-2);
    expect(rows.map((r) => [r.action, r.status, r.outcome])).toEqual([
      ['authenticationresponse', 204, 'no-key'],
      ['diversifiedkey', 204, 'no-key'],
    ]);
    for (const r of rows) expect(r.detail).toMatch(/template does not diversify/);
  });
});

describe('status codes', () => {
  const good = `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`;
  const path = (q: string): string => responsePath(EX.reqid, EX.scid, q);

  it('204 for a known smart card without a Base CSP admin key, with no body', async () => {
    const r = await raw(
      server.url,
      responsePath(
        'efeaa0d5-6bd9-4928-bee7-b80cbf0a72f7',
        '3608f8d4-73a5-4036-bc5f-b64f0b5079da',
        'cardid=cc307e4b-b937-4816-b64d-89c57ce2d28f&challenge=1hFD%2Bcz%2F0so%3D&diversified=False',
      ),
      { headers: HELPDESK },
    );
    expect(r.status).toBe(204);
    expect(r.body).toBe('');
  });

  it.each([
    ['cardid missing', 'challenge=1hFD%2Bcz%2F0so%3D&diversified=False', /cardid/],
    ['challenge missing', `cardid=${EX.cardid}&diversified=False`, /challenge/],
    ['diversified missing', `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D`, /diversified/],
    ['cardid not a GUID', 'cardid=nope&challenge=1hFD%2Bcz%2F0so%3D&diversified=False', /cardid/],
    ['challenge not base64', `cardid=${EX.cardid}&challenge=%21%21%21%21&diversified=False`, /challenge/],
    ['challenge empty', `cardid=${EX.cardid}&challenge=&diversified=False`, /challenge/],
    [
      '7-byte challenge',
      `cardid=${EX.cardid}&challenge=${b64('01020304050607')}&diversified=False`,
      /challenge length in bytes must be a multiple of 8 from 8 to 64, got 7$/,
    ],
    ['9-byte challenge', `cardid=${EX.cardid}&challenge=${b64('010203040506070809')}&diversified=False`, /challenge length in bytes .* got 9$/],
    ['72-byte challenge', `cardid=${EX.cardid}&challenge=${b64('00'.repeat(72))}&diversified=False`, /challenge length in bytes .* got 72$/],
    ['diversified=yes', `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=yes`, /diversified/],
    ['diversified=1', `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=1`, /diversified/],
    ['unknown parameter', `${good}&pin=1234`, /unknown query parameter "pin"/],
    ['parameter twice', `${good}&cardid=${EX.cardid}`, /cardid.*more than once/],
    ['bad atr', `${good}&atr=xyz`, /atr/],
    ['atr the card would refuse (wrong TCK)', `${good}&atr=3b8d0180fba000000397425446590301c9`, /atr has a wrong TCK/],
  ])('400 naming the parameter: %s', async (_name, query, message) => {
    const r = await raw(server.url, path(query), { headers: HELPDESK });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(errorBody(r).Message).toMatch(message);
  });

  it('400 for a reqid that is not a GUID', async () => {
    const r = await raw(server.url, responsePath('not-a-guid', EX.scid, good), { headers: HELPDESK });
    expect(r.status).toBe(400);
    expect(errorBody(r).Message).toMatch(/reqid/);
  });

  it('accepts a valid atr', async () => {
    const r = await raw(server.url, path(`${good}&atr=3b8d0180fba000000397425446590301c8`), { headers: HELPDESK });
    expect(r.body).toBe('"F0Zudm4wPLY="');
  });

  it('401 with WWW-Authenticate: Bearer without credentials, with a bad token, with another scheme', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: 'Bearer wrong-token' },
      { Authorization: 'Basic ZGVtbzpkZW1v' },
      { Authorization: 'Bearer demo-helpdesk-' },
    ]) {
      const r = await raw(server.url, path(good), { headers });
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(r.body).not.toContain('F0Zudm4wPLY=');
      errorBody(r);
    }
  });

  it('403 for an authenticated caller without the sensitive role, and no response bytes', async () => {
    const r = await raw(server.url, path(good), { headers: USER });
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('F0Zudm4wPLY=');
    expect(errorBody(r).Message).toMatch(/demo-user/);
  });

  it('404 for unknown or mismatched ids', async () => {
    const other = card('tpm-1');
    const cases: [string, string, string, RegExp][] = [
      ['00000000-0000-0000-0000-000000000001', EX.scid, EX.cardid, /request .* not found/],
      [EX.reqid, '00000000-0000-0000-0000-000000000002', EX.cardid, /smart card .* not found/],
      [EX.reqid, other.scid, other.cardid, /does not belong to request/],
      [other.reqid, EX.scid, EX.cardid, /does not belong to request/],
      [EX.reqid, EX.scid, other.cardid, /is not the card id/],
    ];
    for (const [reqid, scid, cardid, message] of cases) {
      const r = await raw(server.url, responsePath(reqid, scid, `cardid=${cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`), { headers: HELPDESK });
      expect(r.status, `${reqid} ${scid} ${cardid}`).toBe(404);
      expect(errorBody(r).Message).toMatch(message);
    }
  });

  it('405 with Allow for other methods', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await raw(server.url, path(good), { method, headers: HELPDESK });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET');
      errorBody(r);
    }
  });

  it('404 JSON for an unknown endpoint', async () => {
    const r = await raw(server.url, '/CertificateManagement/api/v1.0/nothing/here', { headers: HELPDESK });
    expect(r.status).toBe(404);
    errorBody(r);
  });

  it('400 JSON for an oversized URL; 431 JSON when it exceeds the header limit', async () => {
    const long = await raw(server.url, path(`${good}&atr=${'a'.repeat(5000)}`), { headers: HELPDESK });
    expect(long.status).toBe(400);
    expect(errorBody(long).Message).toMatch(/URL is too long/);
    const huge = await raw(server.url, path(`${good}&atr=${'a'.repeat(20_000)}`), { headers: HELPDESK });
    expect(huge.status).toBe(431);
    errorBody(huge);
  });

  it('error bodies carry the correlation id of the X-Correlation-Id header', async () => {
    const r = await raw(server.url, path('cardid=x'), { headers: HELPDESK });
    expect(errorBody(r).CorrelationId).toBe(r.headers['x-correlation-id']);
    expect(r.body).not.toMatch(/\bat \S+ \(|\.ts:|\.js:|node_modules|Error:/);
  });
});
