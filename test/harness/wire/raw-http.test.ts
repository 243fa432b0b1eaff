import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawHttpConnection, RawHttpEndpoint, type RawHttpOptions } from '../../../harness/wire/raw-http.js';
import { TransportError } from '../../../harness/wire/transport-error.js';
import { InputError } from '../../../simulator/errors.js';

// The raw HTTP/1.1 client of load mode against real loopback servers: node:http ones, and
// raw node:net ones that write exactly the bytes a test wants, in the pieces it wants.

interface Outcome {
  err: TransportError | null;
  status: number;
  body: string;
  calls: number;
}

/** One exchange; resolves after the callback, and `graceMs` more to catch a second call. */
function exchange(conn: RawHttpConnection, endpoint: RawHttpEndpoint, path = '/p?x=', varying = '1', graceMs = 30): Promise<Outcome> {
  const t = endpoint.template(path, '');
  return new Promise((resolve) => {
    const out: Outcome = { err: null, status: 0, body: '', calls: 0 };
    conn.send(t.before + varying + t.after, (err, status, body) => {
      out.calls += 1;
      if (out.calls === 1) {
        Object.assign(out, { err, status, body });
        setTimeout(() => resolve(out), graceMs);
      }
    });
  });
}

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function endpointFor(url: string, o: Partial<RawHttpOptions> = {}): { endpoint: RawHttpEndpoint; conn: RawHttpConnection } {
  const endpoint = new RawHttpEndpoint({ server: url, timeoutMs: 2000, ...o });
  const conn = new RawHttpConnection(endpoint);
  closers.push(() => conn.close());
  return { endpoint, conn };
}

interface RawServer {
  url: string;
  port: number;
  /** Requests seen, in order, with the connection (1-based) each came on. */
  requests: Array<{ head: string; connection: number }>;
  connections: () => number;
}

/**
 * A node:net server; `answer` is called once per request head (GETs: no body) with the
 * socket, the head, the request's number (1-based, over all connections) and its number
 * on its connection.
 */
async function rawServer(answer: (socket: net.Socket, head: string, n: number, onConnection: number) => void): Promise<RawServer> {
  const requests: RawServer['requests'] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let onConnection = 0;
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      let at: number;
      while ((at = buffered.indexOf('\r\n\r\n')) >= 0) {
        const head = buffered.slice(0, at + 4);
        buffered = buffered.slice(at + 4);
        requests.push({ head, connection });
        answer(socket, head, requests.length, ++onConnection);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, port, requests, connections: () => connections };
}

/** Listens on a free loopback port, closed (its connections too) after the test; resolves to its origin. */
async function listenOnLoopback(server: http.Server | https.Server, scheme: 'http' | 'https'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function httpServer(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  return { url: await listenOnLoopback(server, 'http'), server };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes `bytes` in pieces cut at `cuts`, a little apart, so the client reads them one by one. */
async function writePieces(socket: net.Socket, bytes: Buffer, cuts: number[]): Promise<void> {
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= from) continue;
    if (socket.destroyed) return;
    socket.write(bytes.subarray(from, cut));
    from = cut;
    if (cut < bytes.length) await sleep(2);
  }
}

const CL_ANSWER = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 14\r\n\r\n"1hFD+cz/0so="', 'latin1');
const CHUNKED_ANSWER = Buffer.from(
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n' +
    '5;name=value;flag\r\n"1hFD\r\n' +
    '9 ; x="q"\r\n+cz/0so="\r\n' +
    '0;last\r\nX-Trailer: yes\r\nServer-Timing: db;dur=1\r\n\r\n',
  'latin1',
);

describe('raw HTTP/1.1 connection: framing', () => {
  it('reads a Content-Length answer and sends the head as built: GET, Host, the fixed headers, nothing else', async () => {
    const server = await rawServer((s) => s.write(CL_ANSWER));
    const { endpoint, conn } = endpointFor(server.url, { headers: { Authorization: 'Bearer t', accept: 'application/json' } });
    const out = await exchange(conn, endpoint, '/CertificateManagement/api/v1.0/x?challenge=', '1hFD%2Bcz%2F0so%3D');
    expect(out).toEqual({ err: null, status: 200, body: '"1hFD+cz/0so="', calls: 1 });
    expect(server.requests[0]!.head).toBe(
      `GET /CertificateManagement/api/v1.0/x?challenge=1hFD%2Bcz%2F0so%3D HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer t\r\naccept: application/json\r\n\r\n`,
    );
  });

  it('reads a chunked answer with chunk extensions and trailers, and keeps the connection', async () => {
    const server = await rawServer((s) => s.write(CHUNKED_ANSWER));
    const { endpoint, conn } = endpointFor(server.url);
    for (let i = 0; i < 3; i++) expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"1hFD+cz/0so="', calls: 1 });
    expect(server.connections()).toBe(1);
    expect(conn.connects).toBe(1);
  });

  it('reads the answer split in two at every byte offset, Content-Length and chunked, on one kept connection', async () => {
    for (const answer of [CL_ANSWER, CHUNKED_ANSWER]) {
      const server = await rawServer((s, head) => {
        const at = Number(/at=(\d+)/.exec(head)![1]);
        void writePieces(s, answer, [at]);
      });
      const { endpoint, conn } = endpointFor(server.url);
      for (let at = 1; at < answer.length; at++) {
        const out = await exchange(conn, endpoint, '/split?at=', String(at), 0);
        expect(out, `split at ${at}`).toEqual({ err: null, status: 200, body: '"1hFD+cz/0so="', calls: 1 });
      }
      expect(conn.connects).toBe(1);
    }
  });

  it('reads the answer one byte at a time', async () => {
    for (const answer of [CL_ANSWER, CHUNKED_ANSWER]) {
      const server = await rawServer((s) => void writePieces(s, answer, [...answer.keys()].slice(1)));
      const { endpoint, conn } = endpointFor(server.url);
      expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"1hFD+cz/0so="', calls: 1 });
    }
  });

  it('skips 1xx interim answers (100, 103 with headers) before the final one, even split', async () => {
    const answer = Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n'), CL_ANSWER]);
    const server = await rawServer((s, _h, n) => void writePieces(s, answer, n === 1 ? [] : [20, 30, 70, 90]));
    const { endpoint, conn } = endpointFor(server.url);
    for (let i = 0; i < 2; i++) expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"1hFD+cz/0so="', calls: 1 });
  });

  it('reads a body that runs to the close (neither length nor chunked), then connects again', async () => {
    const server = await rawServer((s) => s.end('HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nit broke'));
    const { endpoint, conn } = endpointFor(server.url);
    expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 500, body: 'it broke', calls: 1 });
    expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 500, body: 'it broke', calls: 1 });
    expect(conn.connects).toBe(2);
  });

  it('reads header names in any case, and a 204 or a Content-Length of 0 as an empty body', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\ncONTENT-lENGTH: 3\r\n\r\nabc',
      'HTTP/1.1 200 OK\r\ntransfer-ENCODING: gzip, CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok', // no reason phrase
    ];
    const server = await rawServer((s, _h, n) => s.write(answers[n - 1]!));
    const { endpoint, conn } = endpointFor(server.url);
    const got = [];
    for (let i = 0; i < answers.length; i++) got.push(await exchange(conn, endpoint));
    expect(got.map((o) => [o.err, o.status, o.body])).toEqual([
      [null, 200, 'abc'],
      [null, 200, 'abc'],
      [null, 204, ''],
      [null, 404, ''],
      [null, 200, 'ok'],
    ]);
    expect(conn.connects).toBe(1);
  });

  // Only one request is in flight, so bytes after a complete answer answer nothing that was
  // asked. Reading them as the next answer would hand exchange 2 the server's stale bytes
  // (a wrong cryptogram that is the client's fault); failing exchange 1 would throw away a
  // good answer. So the answer stands and the connection, out of step, is dropped.
  it('two answers in one packet: the first is the answer, the rest never becomes the next one', async () => {
    const stale = 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"stale"';
    const server = await rawServer((s, _h, n) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"${n}"${n === 1 ? stale : ''}`));
    const { endpoint, conn } = endpointFor(server.url);
    expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"1"', calls: 1 });
    expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"2"', calls: 1 });
    expect(conn.connects).toBe(2);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });
});

describe('raw HTTP/1.1 connection: keep-alive and closes', () => {
  it('Connection: close on every answer: each exchange connects again, none is resent', async () => {
    const { url } = await httpServer((_req, res) => {
      res.setHeader('Connection', 'close');
      res.end('"x"');
    });
    const { endpoint, conn } = endpointFor(url);
    for (let i = 0; i < 5; i++) expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"x"', calls: 1 });
    expect(conn.connects).toBe(5);
    expect(conn.resends).toBe(0);
  });

  it('an HTTP/1.0 answer without keep-alive closes the connection; with keep-alive it stays', async () => {
    const answers = ['HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na', 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nb'];
    const server = await rawServer((s, _h, n) => s.write(answers[(n - 1) % 2]!));
    const { endpoint, conn } = endpointFor(server.url);
    expect((await exchange(conn, endpoint)).body).toBe('a');
    expect((await exchange(conn, endpoint)).body).toBe('b');
    expect((await exchange(conn, endpoint)).body).toBe('a');
    expect(conn.connects).toBe(2);
  });

  it('a server that closes idle keep-alive connections: the next exchange connects again, nothing resent', async () => {
    // As IIS and node:http do after their keep-alive timeout (here 50 ms).
    const server = await rawServer((s, _h, n) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"${n}"`);
      setTimeout(() => s.end(), 50);
    });
    const { endpoint, conn } = endpointFor(server.url);
    expect((await exchange(conn, endpoint)).body).toBe('"1"');
    await sleep(150); // the server closed it meanwhile
    expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"2"', calls: 1 });
    expect(conn.connects).toBe(2);
    expect(conn.resends).toBe(0);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('a reused connection closed as the request went out: sent once more on a fresh one, answered and counted once', async () => {
    // The race: the server's idle close crosses our write. Here the server closes every
    // connection on its second request without a byte of answer.
    for (const close of ['end', 'destroy'] as const) {
      const server = await rawServer((s, _h, n, onConnection) => {
        if (onConnection === 2) {
          if (close === 'end') s.end();
          else s.resetAndDestroy();
        } else s.write(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"${n}"`);
      });
      const { endpoint, conn } = endpointFor(server.url);
      expect((await exchange(conn, endpoint)).body).toBe('"1"');
      const second = await exchange(conn, endpoint);
      expect(second, close).toEqual({ err: null, status: 200, body: '"3"', calls: 1 });
      expect(conn.resends).toBe(1);
      expect(conn.connects).toBe(2);
      expect(server.requests.map((r) => r.connection)).toEqual([1, 1, 2]);
    }
  });

  it('resends once only: a fresh connection closed unanswered fails the exchange (reset)', async () => {
    const server = await rawServer((s, _h, n) => (n === 1 ? s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx') : s.end()));
    const { endpoint, conn } = endpointFor(server.url);
    expect((await exchange(conn, endpoint)).status).toBe(200);
    const out = await exchange(conn, endpoint);
    expect(out.calls).toBe(1);
    expect(out.err?.kind).toBe('reset');
    expect(out.err?.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/p\?x=1: connection closed before a complete answer/);
    expect(conn.resends).toBe(1);
    expect(server.requests).toHaveLength(3);
  });

  it('never resends once a byte of the answer arrived', async () => {
    const server = await rawServer((s, _h, n) =>
      n === 1 ? s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx') : s.end('HTTP/1.1 200 OK\r\nContent-Len'),
    );
    const { endpoint, conn } = endpointFor(server.url);
    expect((await exchange(conn, endpoint)).status).toBe(200);
    const out = await exchange(conn, endpoint);
    expect(out.err?.kind).toBe('reset');
    expect(conn.resends).toBe(0);
    expect(server.requests).toHaveLength(2);
  });

  it('a body cut short by the close is a reset, not a short answer', async () => {
    const server = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const { endpoint, conn } = endpointFor(server.url);
    const out = await exchange(conn, endpoint);
    expect(out.err?.kind).toBe('reset');
    expect(out.err?.message).toMatch(/mid-answer/);
  });
});

describe('raw HTTP/1.1 connection: failures in the one taxonomy', () => {
  it('a body over 64 KiB is too-large: by Content-Length, chunked, or up to the close', async () => {
    const big = 'x'.repeat(64 * 1024 + 1);
    const answers = [
      `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`,
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8000\r\n${big.slice(0, 0x8000)}\r\n8000\r\n${big.slice(0, 0x8000)}\r\n1\r\nx\r\n0\r\n\r\n`,
      `HTTP/1.1 200 OK\r\n\r\n${big}`,
    ];
    const server = await rawServer((s, _h, n) => s.end(answers[n - 1]!));
    const { endpoint, conn } = endpointFor(server.url);
    for (let i = 0; i < answers.length; i++) {
      const out = await exchange(conn, endpoint);
      expect(out.err?.kind, `answer ${i}`).toBe('too-large');
      expect(out.err?.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/p\?x=1: the body is over the 65536-byte cap/);
    }
    // Exactly at the cap is fine.
    const exact = await rawServer((s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${64 * 1024}\r\n\r\n${'y'.repeat(64 * 1024)}`));
    const ok = endpointFor(exact.url);
    expect((await exchange(ok.conn, ok.endpoint)).body).toHaveLength(64 * 1024);
  });

  it('no answer within the timeout is a timeout, within a bounded time', async () => {
    const server = await rawServer(() => {});
    const { endpoint, conn } = endpointFor(server.url, { timeoutMs: 150 });
    const t0 = performance.now();
    const out = await exchange(conn, endpoint);
    const took = performance.now() - t0 - 30;
    expect(out.err?.kind).toBe('timeout');
    expect(out.err?.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/p\?x=1: no response within 150 ms$/);
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1500);
  });

  it('a head that starts but never ends times out too (the time covers head and body)', async () => {
    const server = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'));
    const { endpoint, conn } = endpointFor(server.url, { timeoutMs: 150 });
    expect((await exchange(conn, endpoint)).err?.kind).toBe('timeout');
  });

  it('a connect that never completes (TLS to a server that never speaks) is a timeout', async () => {
    const silent = await rawServer(() => {});
    const { endpoint, conn } = endpointFor(`https://127.0.0.1:${silent.port}`, { timeoutMs: 150 });
    const out = await exchange(conn, endpoint);
    expect(out.err?.kind).toBe('timeout');
    expect(out.err?.message).toMatch(/no response within 150 ms$/);
  });

  it('a refused port is refused, named with the method and URL', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { endpoint, conn } = endpointFor(`http://127.0.0.1:${port}`);
    const out = await exchange(conn, endpoint);
    expect(out.err).toBeInstanceOf(TransportError);
    expect(out.err?.kind).toBe('refused');
    expect(out.err?.message).toBe(`GET http://127.0.0.1:${port}/p?x=1: connection refused (ECONNREFUSED)`);
  });

  it('a garbage status line is a protocol error at once; the socket is dropped and the next exchange connects again', async () => {
    const answers = ['HELLO\r\n', 'HTTP/1.1 2OO OK\r\nContent-Length: 1\r\n\r\nx', 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n', 'HTTP/2 200\r\n\r\n'];
    const server = await rawServer((s, _h, n) => s.write(answers[n - 1] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const { endpoint, conn } = endpointFor(server.url, { timeoutMs: 1500 });
    for (let i = 0; i < answers.length; i++) {
      const t0 = performance.now();
      const out = await exchange(conn, endpoint);
      expect(out.err?.kind, answers[i]).toBe('protocol');
      expect(out.err?.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/p\?x=1: not an HTTP\/1\.1 answer: /);
      expect(performance.now() - t0).toBeLessThan(1000); // not the timeout
    }
    expect((await exchange(conn, endpoint)).body).toBe('ok');
    expect(conn.connects).toBe(answers.length + 1);
  });

  it('refuses what llhttp refuses: both framings, two different lengths, obs-fold, a bad chunk size, 101', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 1\r\n\r\nx',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
    ];
    const server = await rawServer((s, _h, n) => s.write(answers[n - 1]!));
    const { endpoint, conn } = endpointFor(server.url);
    for (const a of answers) expect((await exchange(conn, endpoint)).err?.kind, a).toBe('protocol');
  });

  it('checks the fixed headers and the path once, at construction: no line breaks, no control characters', () => {
    const url = 'http://127.0.0.1:1';
    expect(() => new RawHttpEndpoint({ server: url, timeoutMs: 1000, headers: { 'X-A': 'a\r\nX-Injected: 1' } })).toThrow(InputError);
    expect(() => new RawHttpEndpoint({ server: url, timeoutMs: 1000, headers: { 'X-A': 'a\nb' } })).toThrow(/X-A: the value has a line break/);
    expect(() => new RawHttpEndpoint({ server: url, timeoutMs: 1000, headers: { 'X-A': 'a\0' } })).toThrow(InputError);
    expect(() => new RawHttpEndpoint({ server: url, timeoutMs: 1000, headers: { 'X A': 'a' } })).toThrow(/not an HTTP token/);
    // The message never quotes the value (a credential).
    expect(() => new RawHttpEndpoint({ server: url, timeoutMs: 1000, headers: { Authorization: 'Bearer s3cret\n' } })).toThrow(/^(?!.*s3cret)/);
    const endpoint = new RawHttpEndpoint({ server: url, timeoutMs: 1000, headers: { 'X-Tab': 'a\tb', 'X-Latin1': 'caf\u00e9' } });
    expect(() => endpoint.template('/a b?c=', '')).toThrow(InputError);
    expect(() => endpoint.template('/a?c=', '&d=\r\n')).toThrow(InputError);
    expect(() => new RawHttpEndpoint({ server: 'ftp://x', timeoutMs: 1000 })).toThrow(RangeError);
  });
});

describe('raw HTTP/1.1 connection over TLS', () => {
  const PKI = join(import.meta.dirname, '..', 'fixtures', 'tls');
  const read = (f: string): Buffer => readFileSync(join(PKI, f));

  function tlsServer(requestCert: boolean): Promise<string> {
    const server = https.createServer(
      { key: read('server-key.pem'), cert: read('server.pem'), ca: read('ca.pem'), requestCert, rejectUnauthorized: true },
      (_req, res) => res.end('"tls"'),
    );
    return listenOnLoopback(server, 'https');
  }

  it('talks HTTPS to a server whose certificate the given CA signed, on one kept connection', async () => {
    const url = await tlsServer(false);
    const { endpoint, conn } = endpointFor(url, { tls: { ca: read('ca.pem') } });
    for (let i = 0; i < 3; i++) expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"tls"', calls: 1 });
    expect(conn.connects).toBe(1);
  });

  it('presents the client certificate a server demands', async () => {
    const url = await tlsServer(true);
    const { endpoint, conn } = endpointFor(url, { tls: { ca: read('ca.pem'), cert: read('client.pem'), key: read('client-key.pem') } });
    expect(await exchange(conn, endpoint)).toEqual({ err: null, status: 200, body: '"tls"', calls: 1 });
  });

  it('without the CA the certificate is refused: tls', async () => {
    const url = await tlsServer(false);
    const { endpoint, conn } = endpointFor(url);
    const out = await exchange(conn, endpoint);
    expect(out.err?.kind).toBe('tls');
    expect(out.err?.message).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/p\?x=1: TLS failed: /);
  });
});

describe('raw HTTP/1.1 connection against node:http (property)', () => {
  // Random valid answers (status, extra headers in random case, Content-Length or chunked
  // with random chunk sizes, extensions and trailers, sometimes a 1xx first), written in
  // random pieces: the raw connection reads each exactly as node:http's own client does.
  const token = fc.constantFrom('content-type', 'x-correlation-id', 'cache-control', 'server', 'x-powered-by');
  const casing = (name: string, mask: number): string => [...name].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toUpperCase() : c)).join('');
  const answer = fc.record({
    status: fc.oneof(fc.constantFrom(200, 204, 304, 400, 401, 404, 500, 503), fc.integer({ min: 200, max: 599 })),
    reason: fc.constantFrom('OK', '', 'Whatever It Is', 'Not Found'),
    headers: fc.array(fc.tuple(token, fc.integer(), fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/)), { maxLength: 4 }),
    body: fc.uint8Array({ maxLength: 400 }),
    chunked: fc.boolean(),
    frameMask: fc.integer(),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 8 }),
    extensions: fc.boolean(),
    trailers: fc.boolean(),
    interim: fc.boolean(),
    cuts: fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 4 }),
  });

  type Answer = typeof answer extends fc.Arbitrary<infer T> ? T : never;

  function render(a: Answer): Buffer {
    const bodiless = a.status === 204 || a.status === 304; // no body whatever the headers say, so none is written
    const body = bodiless ? Buffer.alloc(0) : Buffer.from(a.body);
    const lines = [`HTTP/1.1 ${a.status}${a.reason ? ' ' + a.reason : ''}`];
    for (const [name, mask, value] of a.headers) lines.push(`${casing(name, mask)}: ${value}`);
    const parts: Buffer[] = [];
    if (bodiless) {
      // no body, no framing
    } else if (!a.chunked) {
      lines.push(`${casing('content-length', a.frameMask)}: ${body.length}`);
      parts.push(body);
    } else {
      lines.push(`${casing('transfer-encoding', a.frameMask)}: ${casing('chunked', a.frameMask >> 3)}`);
      let at = 0;
      let k = 0;
      while (at < body.length) {
        const size = Math.min(a.chunkSizes[k++ % a.chunkSizes.length]!, body.length - at);
        parts.push(Buffer.from(`${size.toString(16)}${a.extensions ? ';ext=' + k : ''}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
        at += size;
      }
      parts.push(Buffer.from(`0${a.extensions ? ';end' : ''}\r\n${a.trailers ? 'X-Checksum: 1\r\nX-Other: two\r\n' : ''}\r\n`));
    }
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    const interim = a.interim ? Buffer.from('HTTP/1.1 100 Continue\r\n\r\n') : Buffer.alloc(0);
    return Buffer.concat([interim, head, ...parts]);
  }

  function viaNode(port: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/p?x=1', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  let current: { bytes: Buffer; cuts: number[] } = { bytes: Buffer.alloc(0), cuts: [] };

  it('reads random valid answers in random pieces exactly as node:http does', { timeout: 60_000 }, async () => {
    const server = await rawServer((s) => void writePieces(s, current.bytes, current.cuts));
    const { endpoint, conn } = endpointFor(server.url);
    await fc.assert(
      fc.asyncProperty(answer, async (a) => {
        const bytes = render(a);
        current = { bytes, cuts: [...new Set(a.cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((x, y) => x - y) };
        const theirs = await viaNode(server.port);
        const ours = await exchange(conn, endpoint, '/p?x=', '1', 0);
        expect(ours.err).toBeNull();
        expect({ status: ours.status, body: ours.body }).toEqual(theirs);
      }),
      { numRuns: 80 },
    );
    expect(conn.connects).toBe(1); // every answer was framed: one kept connection throughout
  });
});
