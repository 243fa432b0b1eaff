import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { EX, responsePath } from './support.js';

// What Node's HTTP layer would answer by itself (bare 400, 417, 408, or nothing) gets the
// server's JSON error body and a correlation id, on a raw socket as a client would see it.
// Short timeouts so the timeout answers come quickly; the waits below are bounds, not assertions.
let server: RunningServer;
let port: number;
beforeAll(async () => {
  server = await startReferenceServer({ quiet: true, timeouts: { headers: 300, request: 600 } });
  port = Number(new URL(server.url).port);
});
afterAll(() => server.close());

interface RawAnswer {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent (several responses when it sent a 100 first). */
  all: string;
}

/** Writes `text` on a new connection and collects everything until the server closes it (bounded). */
function exchange(text: string, options: { halfClose?: boolean; closeAfterMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const bound = setTimeout(() => socket.destroy(), options.closeAfterMs ?? 10_000);
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(bound);
      // The final response on the connection (after a 100 Continue, if one came).
      const last = out.startsWith('HTTP/1.1 100 ') ? out.slice(out.indexOf('\r\n\r\n') + 4) : out;
      const [head = '', ...rest] = last.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ statusLine, status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n'), all: out });
    });
    socket.write(text, 'latin1');
    if (options.halfClose) socket.end();
  });
}

/** The answer is a whole JSON error: {Message, CorrelationId}, the id also in X-Correlation-Id. */
function expectJsonError(a: RawAnswer, status: number, message: RegExp): void {
  expect(a.status, a.all).toBe(status);
  expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(Number(a.headers['content-length'])).toBe(Buffer.byteLength(a.body));
  const body = JSON.parse(a.body) as Record<string, string>;
  expect(Object.keys(body).sort()).toEqual(['CorrelationId', 'Message']);
  expect(body.Message).toMatch(message);
  expect(body.CorrelationId).toMatch(/^[0-9a-f-]{36}$/);
  expect(a.headers['x-correlation-id']).toBe(body.CorrelationId);
}

const TEMPLATES = '/CertificateManagement/api/v1.0/profiletemplates';
const ANSWER = responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`);

describe('the Host header', () => {
  it('an HTTP/1.1 request without Host: 400 in JSON (Node would send a bare 400)', async () => {
    const a = await exchange(`GET ${TEMPLATES} HTTP/1.1\r\nAuthorization: Bearer demo-user\r\n\r\n`);
    expectJsonError(a, 400, /no Host header/);
    expect(a.headers.connection).toBe('close');
  });

  it('an HTTP/1.0 request without Host is fine (1.0 has none)', async () => {
    const a = await exchange(`GET ${TEMPLATES} HTTP/1.0\r\nAuthorization: Bearer demo-user\r\n\r\n`);
    expect(a.status, a.all).toBe(200);
  });

  it('two Host headers: 400 in JSON', async () => {
    const a = await exchange(`GET ${TEMPLATES} HTTP/1.1\r\nHost: a\r\nhost: b\r\nAuthorization: Bearer demo-user\r\nConnection: close\r\n\r\n`);
    expectJsonError(a, 400, /more than one Host header/);
  });
});

describe('duplicate credentials', () => {
  it('two Authorization headers (help desk, then user): 400, nothing handed out, and the refusal is audited', async () => {
    const before = server.store.auditCounts();
    const a = await exchange(
      `GET ${ANSWER} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\nauthorization: Bearer demo-user\r\nConnection: close\r\n\r\n`,
    );
    expectJsonError(a, 400, /more than one Authorization header/);
    expect(a.all).not.toContain('F0Zudm4wPLY=');
    const row = server.store.listAudit().at(-1)!;
    expect(row).toMatchObject({
      principal: null,
      action: 'authenticationresponse',
      status: 400,
      outcome: 'rejected',
      correlationId: JSON.parse(a.body).CorrelationId,
    });
    expect(server.store.auditCounts().byOutcome.rejected).toBe(before.byOutcome.rejected + 1);
  });

  it('two identical Authorization headers are refused too, and one still works', async () => {
    const twice = await exchange(
      `GET ${ANSWER} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\nAUTHORIZATION: Bearer demo-helpdesk\r\nConnection: close\r\n\r\n`,
    );
    expectJsonError(twice, 400, /more than one Authorization header/);
    const once = await exchange(`GET ${ANSWER} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\nConnection: close\r\n\r\n`);
    expect(once.status).toBe(200);
    expect(once.body).toBe('"F0Zudm4wPLY="');
  });
});

describe('Expect', () => {
  it('Expect: garbage: 417 in JSON (Node would send a bare 417)', async () => {
    const a = await exchange(`GET ${TEMPLATES} HTTP/1.1\r\nHost: x\r\nExpect: garbage\r\nAuthorization: Bearer demo-user\r\n\r\n`);
    expectJsonError(a, 417, /Expect: "garbage" is not supported/);
  });

  it('Expect: 100-continue with a body over the limit: 413 in JSON before the body is sent, no 100', async () => {
    const a = await exchange(
      'POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\n' +
        'Content-Type: application/json\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n',
    );
    expectJsonError(a, 413, /too large/);
    expect(a.all).not.toContain('100 Continue');
  });

  it('Expect: 100-continue with a small body: 100, then the answer', async () => {
    const body = JSON.stringify({ type: 'Enroll', profiletemplateuuid: EX.template });
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const bound = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (d: Buffer) => {
      out += d.toString();
      if (out === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
    });
    socket.write(
      'POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\nConnection: close\r\n' +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await closed;
    clearTimeout(bound);
    expect(out).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
  });
});

describe('requests that do not arrive in time', () => {
  it('headers still incomplete at the headers timeout: 408 in JSON (Node would send a bare one)', async () => {
    const a = await exchange(`GET ${TEMPLATES} HTTP/1.1\r\nHost: x\r\n`);
    expectJsonError(a, 408, /did not arrive in time/);
    expect(a.headers.connection).toBe('close');
  });

  it('a body still incomplete at the request timeout: 408 in JSON', async () => {
    const a = await exchange(
      'POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\n' +
        'Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{"type"',
    );
    expectJsonError(a, 408, /did not arrive in time/);
  });
});

describe('other requests Node refuses by itself', () => {
  it('CONNECT: 405 in JSON (Node would drop the connection without a word)', async () => {
    const a = await exchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expectJsonError(a, 405, /not a proxy/);
    expect(a.headers.allow).toBeDefined();
  });

  it.each([
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['an unknown HTTP version', `GET ${TEMPLATES} HTTP/3.0\r\nHost: x\r\n\r\n`],
    [
      'Content-Length and Transfer-Encoding together',
      'POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
  ])('%s: 400 in JSON', async (_name, text) => {
    expectJsonError(await exchange(text), 400, /not valid HTTP/);
  });

  it('a connection closed halfway through the headers still gets its 400 in JSON', async () => {
    expectJsonError(await exchange(`GET ${TEMPLATES} HTTP/1.1\r\nHost: x\r\n`, { halfClose: true }), 400, /not valid HTTP/);
  });
});
