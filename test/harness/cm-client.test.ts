import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkOrigin } from '../../harness/wire/origin.js';
import { classify, TransportError } from '../../harness/wire/transport-error.js';
import { CmClient, type CmResponse } from '../../harness/wire/cm-client.js';
import { CmFormatError, decodeBase64Body, idFromUri } from '../../harness/wire/decode.js';
import { DOCUMENTED_EXAMPLE, parseConfig } from '../../harness/config.js';
import { VERSION } from '../../harness/version.js';
import type { RecordedExchange } from '../../harness/events.js';
import { InputError } from '../../simulator/errors.js';

// The documented example (docs/protocol.md#the-documented-example).
const REQID = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099';
const SCID = '17cf063d-e337-4aa9-a822-346554ddd3c9';
const CARDID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
const BASE = '/CertificateManagement/api/v1.0';
const ORIGIN = 'http://cm.test';
const AUTH_PATH = `${BASE}/requests/${REQID}/smartcards/${SCID}/authenticationresponse`;

const TLS_DIR = resolve(import.meta.dirname, 'fixtures/tls');
const pem = (name: string): string => readFileSync(resolve(TLS_DIR, name), 'utf8');

/** Intercepts one GET on cm.test and captures the raw path and headers the client sent. */
function captureGet(
  status = 200,
  body: string | (() => string) = '"F0Zudm4wPLY="',
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
  method = 'GET',
) {
  const seen: { path?: string; headers?: Record<string, string | string[] | undefined>; method?: string } = {};
  const scope = nock(ORIGIN)
    .intercept(() => true, method)
    .reply(function (uri) {
      seen.path = uri;
      seen.headers = this.req.headers;
      seen.method = this.req.method;
      return [status, typeof body === 'function' ? body() : body, headers];
    });
  return { seen, scope };
}

async function transportError(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TransportError) return err;
    throw err;
  }
  throw new Error('expected a TransportError, the request succeeded');
}

function client(extra: Partial<ConstructorParameters<typeof CmClient>[0]> = {}): CmClient {
  return new CmClient({ server: ORIGIN, ...extra });
}

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('authenticationResponse query building', () => {
  it('sends the documented example with + / = percent-encoded and diversified=False', async () => {
    const { seen } = captureGet();
    const res = await client().authenticationResponse({
      reqid: REQID,
      scid: SCID,
      cardid: CARDID,
      challenge: Buffer.from('d61143f9ccffd2ca', 'hex'),
      diversified: false,
    });
    expect(seen.path).toBe(`${AUTH_PATH}?cardid=${CARDID}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('"F0Zudm4wPLY="');
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('spells true as True, passes strings through, and uses a lower-case base path override', async () => {
    const { seen } = captureGet();
    await client().authenticationResponse(
      { reqid: REQID, scid: SCID, cardid: CARDID, challenge: '1hFD+cz/0so=', diversified: true, atr: '3b8d0180fba000000397425446590301c8' },
      { basePath: '/certificatemanagement/api/v1.0' },
    );
    expect(seen.path).toBe(
      `/certificatemanagement/api/v1.0/requests/${REQID}/smartcards/${SCID}/authenticationresponse?cardid=${CARDID}&challenge=1hFD%2Bcz%2F0so%3D&diversified=True&atr=3b8d0180fba000000397425446590301c8`,
    );
    const second = captureGet();
    await client().authenticationResponse({ reqid: REQID, scid: SCID, cardid: CARDID, challenge: 'not base64!', diversified: 'false' });
    expect(second.seen.path).toBe(`${AUTH_PATH}?cardid=${CARDID}&challenge=not%20base64!&diversified=false`);
  });

  it('omits undefined parameters and uses rawQuery verbatim', async () => {
    const a = captureGet();
    await client().authenticationResponse({ reqid: REQID, scid: SCID, challenge: Buffer.from('0001020304050607', 'hex') });
    expect(a.seen.path).toBe(`${AUTH_PATH}?challenge=AAECAwQFBgc%3D`);
    const b = captureGet();
    await client().authenticationResponse({ reqid: REQID, scid: SCID, cardid: CARDID, rawQuery: '?challenge=1hFD+cz/0so=&diversified=FALSE' });
    expect(b.seen.path).toBe(`${AUTH_PATH}?challenge=1hFD+cz/0so=&diversified=FALSE`);
  });
});

describe('other endpoints', () => {
  it('builds each lifecycle path and sends JSON bodies with a content type', async () => {
    const calls: Array<{ method: string; path: string; body: string; contentType: string | undefined }> = [];
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      nock(ORIGIN)
        .persist()
        .intercept(() => true, method)
        .reply(function (uri, body) {
          calls.push({
            method: this.req.method,
            path: uri,
            body: typeof body === 'string' ? body : JSON.stringify(body),
            contentType: this.req.headers['content-type'] as string | undefined,
          });
          return [201, '"api/v1.0/requests/0a9e0c7f-0000-4000-8000-000000000001"', { 'Content-Type': 'application/json' }];
        });
    }
    const c = client();
    await c.profileTemplates();
    await c.smartcardConfiguration('a039b4d0-5ce8-4eff-8651-181c6576fda3');
    await c.createRequest({ type: 'Unblock', smartcard: SCID });
    await c.getRequest(REQID);
    await c.updateRequest(REQID, 'Completed');
    await c.createSmartcard({ requestid: REQID, cardid: CARDID });
    await c.getSmartcard(SCID);
    await c.findSmartcards(CARDID);
    await c.diversifiedKey({ reqid: REQID, scid: SCID, cardid: CARDID });
    await c.raw('DELETE', '/x/y?z=%2B');
    c.close();
    expect(calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      `GET ${BASE}/profiletemplates`,
      `GET ${BASE}/profiletemplates/a039b4d0-5ce8-4eff-8651-181c6576fda3/configuration/smartcards`,
      `POST ${BASE}/requests`,
      `GET ${BASE}/requests/${REQID}`,
      `PUT ${BASE}/requests/${REQID}`,
      `POST ${BASE}/smartcards`,
      `GET ${BASE}/smartcards/${SCID}`,
      `GET ${BASE}/smartcards?cardid=${CARDID}`,
      `GET ${BASE}/requests/${REQID}/smartcards/${SCID}/diversifiedkey?cardid=${CARDID}`,
      'DELETE /x/y?z=%2B',
    ]);
    expect(JSON.parse(calls[2]!.body)).toEqual({ type: 'Unblock', smartcard: SCID });
    expect(calls[2]!.contentType).toBe('application/json');
    expect(JSON.parse(calls[4]!.body)).toEqual({ status: 'Completed' });
  });

  it('applies the method override (for method.not-allowed)', async () => {
    const { seen } = captureGet(405, '{"Message":"no"}', { 'Content-Type': 'application/json' }, 'POST');
    const res = await client().authenticationResponse({ reqid: REQID, scid: SCID, cardid: CARDID, challenge: 'AA==', diversified: false }, { method: 'POST' });
    expect(seen.method).toBe('POST');
    expect(res.status).toBe(405);
  });
});

describe('headers and recorded exchanges', () => {
  it('sends configured headers, replaces them on override and sends none when anonymous', async () => {
    const c = client({ headers: { Authorization: 'Bearer demo-helpdesk' } });
    const a = captureGet();
    await c.profileTemplates();
    expect(a.seen.headers?.authorization).toBe('Bearer demo-helpdesk');
    const b = captureGet();
    await c.profileTemplates({ headers: { Authorization: 'Bearer demo-user' } });
    expect(b.seen.headers?.authorization).toBe('Bearer demo-user');
    const d = captureGet();
    await c.profileTemplates({ headers: null });
    expect(d.seen.headers?.authorization).toBeUndefined();
    expect(d.seen.headers?.accept).toBe('application/json');
  });

  it('redacts credentials in the recorded exchange but sends them for real', async () => {
    const exchanges: RecordedExchange[] = [];
    const c = client({
      headers: { Authorization: 'Bearer demo-helpdesk', Cookie: 'session=s3cret', 'X-Api-Key': 'k3y', 'X-Trace': 'visible' },
      onExchange: (e) => exchanges.push(e),
    });
    const { seen } = captureGet(200, '"F0Zudm4wPLY="', { 'Content-Type': 'application/json', 'Set-Cookie': 'session=n3w' });
    await c.authenticationResponse({ reqid: REQID, scid: SCID, cardid: CARDID, challenge: '1hFD+cz/0so=', diversified: false });
    expect(seen.headers?.cookie).toBe('session=s3cret');
    expect(exchanges).toHaveLength(1);
    const [e] = exchanges;
    expect(e!.request.url).toBe(`${ORIGIN}${AUTH_PATH}?cardid=${CARDID}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`);
    // Every configured header value counts as a credential (docs/report.md: masked by value, whatever the name).
    expect(e!.request.headers).toMatchObject({
      Authorization: 'Bearer [redacted]',
      Cookie: '[redacted]',
      'X-Api-Key': '[redacted]',
      'X-Trace': '[redacted]',
      Accept: 'application/json',
    });
    expect(e!.response?.headers['set-cookie']).toBe('[redacted]');
    expect(e!.response?.headers['content-type']).toBe('application/json');
    expect(e!.response?.body).toBe('"F0Zudm4wPLY="');
    const text = JSON.stringify(exchanges);
    for (const secret of ['demo-helpdesk', 's3cret', 'k3y', 'n3w']) expect(text).not.toContain(secret);
  });

  it('keeps the admin key of a diversifiedkey answer out of the recorded exchange', async () => {
    const exchanges: RecordedExchange[] = [];
    captureGet(200, '"mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI"');
    const res = await client({ onExchange: (e) => exchanges.push(e) }).diversifiedKey({ reqid: REQID, scid: SCID, cardid: CARDID });
    expect(res.body).toBe('"mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI"');
    expect(exchanges[0]!.response?.body).toBe('[redacted]');
  });
});

describe('HTTP answers are responses, not errors', () => {
  it('does not follow redirects', async () => {
    const target = nock(ORIGIN).get('/elsewhere').reply(200, '"bad"');
    nock(ORIGIN)
      .get(`${BASE}/profiletemplates`)
      .reply(302, '', { Location: `${ORIGIN}/elsewhere` });
    const res = await client().profileTemplates();
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${ORIGIN}/elsewhere`);
    expect(target.isDone()).toBe(false);
  });

  it('returns a non-JSON body as is; decodeBase64Body names the problem', async () => {
    captureGet(200, '<html>oops</html>', { 'Content-Type': 'text/html' });
    const res = await client().profileTemplates();
    expect(res.body).toBe('<html>oops</html>');
    expect(() => decodeBase64Body(res)).toThrow(CmFormatError);
    expect(() => decodeBase64Body(res)).toThrow(/not JSON/);
  });
});

/** A real loopback server (nock's mock socket cannot model a body cut mid-stream or a silent server). */
async function withServer<T>(handler: http.RequestListener, body: (origin: string) => Promise<T>): Promise<T> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('transport failures', () => {
  it('times out a server that does not answer, and records the failed exchange', async () => {
    const exchanges: RecordedExchange[] = [];
    const err = await withServer(
      () => undefined, // never answers
      (origin) => transportError(new CmClient({ server: origin, timeoutMs: 50, onExchange: (e) => exchanges.push(e) }).profileTemplates()),
    );
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/50 ms/);
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.response).toBeUndefined();
    expect(exchanges[0]!.error).toMatch(/50 ms/);
  });

  it('times out a body that stalls after the headers', async () => {
    const err = await withServer(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
        res.write('"F0Zu');
      },
      (origin) => transportError(new CmClient({ server: origin, timeoutMs: 100 }).profileTemplates()),
    );
    expect(err.kind).toBe('timeout');
  });

  it('reports connection refused on a closed loopback port', async () => {
    const origin = await withServer(
      () => undefined,
      async (o) => o,
    );
    const err = await transportError(new CmClient({ server: origin }).profileTemplates());
    expect(err.kind).toBe('refused');
  });

  it('fails early on a declared Content-Length above the cap', async () => {
    const err = await withServer(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(4096) });
        res.end('x'.repeat(4096));
      },
      (origin) => transportError(new CmClient({ server: origin, maxBodyBytes: 1024 }).profileTemplates()),
    );
    expect(err.kind).toBe('too-large');
    expect(err.message).toMatch(/Content-Length 4096/);
  });

  it('cuts an undeclared (chunked) huge body at the cap', async () => {
    let sent = 0;
    const limit = 64 * 1024 * 1024;
    const err = await withServer(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const chunk = Buffer.alloc(16 * 1024, 0x41);
        // Writes until the client hangs up (bounded, in case it never does).
        const pump = (): void => {
          while (sent < limit && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
      (origin) => transportError(new CmClient({ server: origin, maxBodyBytes: 64 * 1024 }).profileTemplates()),
    );
    expect(err.kind).toBe('too-large');
    expect(err.message).toMatch(/65536 bytes/);
    expect(sent).toBeLessThan(limit);
  });

  it('maps a connection closed before any answer to a reset', async () => {
    const server = http.createServer((req) => req.socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const c = new CmClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const err = await transportError(c.profileTemplates());
    c.close();
    await new Promise((r) => server.close(r));
    expect(err.kind).toBe('reset');
  });

  // DNS and routing failures cannot be provoked on loopback: check the mapping of their error codes.
  it.each([
    ['ENOTFOUND', 'unreachable'],
    ['EAI_AGAIN', 'unreachable'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['ECONNREFUSED', 'refused'],
    ['ETIMEDOUT', 'timeout'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ECONNRESET', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'too-large'],
    ['HPE_INVALID_CONSTANT', 'protocol'],
  ])('maps error code %s to %s', (code, kind) => {
    const err = Object.assign(new Error(`boom ${code}`), { code });
    const mapped = classify(err, 'GET', 'http://cm.test/x');
    expect(mapped.kind).toBe(kind);
    expect(mapped.message).toMatch(/^GET http:\/\/cm\.test\/x: /);
    expect(mapped.cause).toBe(err);
  });
});

describe('TLS (real loopback server with the test PKI in fixtures/tls)', () => {
  let server: https.Server;
  let origin: string;
  const clientCerts: string[] = [];

  beforeAll(async () => {
    server = https.createServer(
      { key: pem('server-key.pem'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        clientCerts.push(peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : '');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('"F0Zudm4wPLY="');
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('rejects a server certificate it cannot verify', async () => {
    const c = new CmClient({ server: origin });
    const err = await transportError(c.profileTemplates());
    c.close();
    expect(err.kind).toBe('tls');
  });

  it('trusts the given CA and presents the given client certificate', async () => {
    const c = new CmClient({ server: origin, tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client-key.pem') } });
    const res: CmResponse = await c.profileTemplates();
    c.close();
    expect(res.status).toBe(200);
    expect(decodeBase64Body(res).toString('hex')).toBe('17466e766e303cb6');
    expect(clientCerts.at(-1)).toBe('cmcard test client');
  });
});

describe('options validation', () => {
  it('rejects a server that is not an http(s) origin, naming it', () => {
    expect(() => new CmClient({ server: 'cm.contoso.com' })).toThrow(InputError);
    expect(() => new CmClient({ server: 'ftp://cm.contoso.com' })).toThrow(/http/);
    expect(() => new CmClient({ server: 'https://cm.contoso.com/CertificateManagement' })).toThrow(/basePath/);
    expect(() => new CmClient({ server: 'http://127.0.0.1:1', timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('decodeBase64Body', () => {
  const res = (body: string, status = 200): CmResponse => ({ status, headers: {}, body, durationMs: 0 });
  it('decodes the documented response', () => {
    expect(decodeBase64Body(res('"F0Zudm4wPLY="')).toString('hex')).toBe('17466e766e303cb6');
  });
  it.each([
    ['a non-200 status', res('"F0Zudm4wPLY="', 204), /status 200, got 204/],
    ['an unquoted body', res('F0Zudm4wPLY='), /not JSON/],
    ['a JSON object', res('{"response":"F0Zudm4wPLY="}'), /not a string \(object\)/],
    ['an empty string', res('""'), /empty/],
    ['URL-safe base64', res('"F0Zudm4w-_Y="'), /standard padded base64/],
    ['missing padding', res('"F0Zudm4wPLY"'), /standard padded base64/],
  ])('rejects %s', (_what, r, message) => {
    expect(() => decodeBase64Body(r)).toThrow(message);
  });
});

describe('idFromUri', () => {
  it('takes the id from a JSON string URI or a bare one', () => {
    expect(idFromUri('"api/v1.0/requests/0a9e0c7f-0000-4000-8000-000000000001"')).toBe('0a9e0c7f-0000-4000-8000-000000000001');
    expect(idFromUri('api/v1.0/smartcards/abc/')).toBe('abc');
    expect(idFromUri('"https://cm.contoso.com/CertificateManagement/api/v1.0/smartcards/s1"')).toBe('s1');
  });
  it('rejects bodies that are not URIs', () => {
    expect(() => idFromUri('{"Uuid":"x"}')).toThrow(CmFormatError);
    expect(() => idFromUri('""')).toThrow(/not a URI/);
    expect(() => idFromUri('"abc')).toThrow(/not a JSON string/);
  });
});

describe('one server URL rule for the config file and the client', () => {
  it.each(['cm.contoso.com', 'ftp://cm', 'https://u:p@cm.contoso.com', 'https://cm.contoso.com/CertificateManagement', 'https://cm.contoso.com/?a=b'])(
    '%s is refused by both with the same words',
    (server) => {
      const { problem } = checkOrigin(server);
      expect(problem).toBeTruthy();
      expect(() => new CmClient({ server })).toThrow(new InputError(`server ${problem}`));
      expect(() => parseConfig({ server, cards: [] }, 'cm.json')).toThrow(new InputError(`cm.json: server ${problem}`));
    },
  );

  it('both keep the origin of a good URL', () => {
    expect(checkOrigin('https://CM.contoso.com:8443/')).toEqual({ origin: 'https://cm.contoso.com:8443' });
    expect(
      parseConfig(
        {
          server: 'https://CM.contoso.com:8443',
          cards: [
            { reqid: DOCUMENTED_EXAMPLE.reqid, scid: DOCUMENTED_EXAMPLE.scid, cardid: DOCUMENTED_EXAMPLE.cardid, adminKey: DOCUMENTED_EXAMPLE.adminKeyHex },
          ],
        },
        'cm.json',
      ).server,
    ).toBe('https://cm.contoso.com:8443');
  });
});

describe('the cmcard version', () => {
  it('is the package version, read once for every command', () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
