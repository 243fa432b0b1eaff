import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type HarnessConfig } from '../../harness/config.js';
import type { Authenticator } from '../../harness/wire/auth/types.js';
import { createLoadTransport } from '../../harness/wire/load-transport.js';
import { runLoadSession } from '../../harness/load/session.js';
import { closedPort, LOAD_CARDS, LOAD_KEY, startLoadServer, type LoadServer, type LoadServerOptions } from './support/load-server.js';

function configFor(server: string, extra: Record<string, unknown> = {}): HarnessConfig {
  return parseConfig({ server, cards: LOAD_CARDS.map((c) => ({ ...c, adminKey: LOAD_KEY })), ...extra }, 'test config');
}

/** A bare TCP server that records each request head and answers `"x"` to each: what the client put on the wire, byte for byte. */
async function headSpy(): Promise<{ port: number; heads: string[]; close(): void }> {
  const net = await import('node:net');
  const heads: string[] = [];
  const spy = net.createServer((socket) => {
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      for (let at = seen.indexOf('\r\n\r\n'); at >= 0; at = seen.indexOf('\r\n\r\n')) {
        heads.push(seen.slice(0, at + 4));
        seen = seen.slice(at + 4);
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"x"');
      }
    });
  });
  await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
  return { port: (spy.address() as { port: number }).port, heads, close: () => spy.close() };
}

describe('load over HTTP against a server with a known mix', () => {
  const servers: LoadServer[] = [];
  const start = async (o: Omit<LoadServerOptions, 'keyHex'>): Promise<LoadServer> => {
    const s = await startLoadServer({ keyHex: LOAD_KEY, ...o });
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('reports exactly the mix: every 7th request 500, every 10th cryptogram wrong', async () => {
    const server = await start({ statusEvery: 7, wrongEvery: 10 });
    const out = await runLoadSession({
      config: configFor(server.url),
      shape: { model: 'closed', concurrency: 6 },
      stop: { exchanges: 700 },
      diversified: false,
      maxErrorRate: 0,
    });
    expect(server.requests()).toBe(700);
    expect(out.summary).toMatchObject({ exchanges: 700, errors: 100, wrongCryptograms: 60, statusCodes: { '200': 600, '500': 100 } });
    expect(out.stats.verified).toBe(540);
    expect(out.cards).toEqual(['a', 'b']);
    expect(out.verdict.exitCode).toBe(1);
    expect(out.verdict.reason).toMatch(
      /^60 response\(s\) failed card verification \(60 of 700; first: card [ab], challenge [A-Za-z0-9+/]{11}=: [^;]+\); error rate 14\.29% \(100\/700\) is above --max-error-rate 0$/,
    );
    expect(out.summary.firstWrongCryptograms).toHaveLength(5);
  });

  it('passes a clean server and sends the configured headers', async () => {
    const server = await start({ authorization: 'Bearer load-test' });
    const out = await runLoadSession({
      config: configFor(server.url, { headers: { Authorization: 'Bearer load-test' } }),
      shape: { model: 'closed', concurrency: 4 },
      stop: { exchanges: 200 },
      diversified: false,
      maxErrorRate: 0,
    });
    expect(out.summary).toMatchObject({ exchanges: 200, errors: 0, wrongCryptograms: 0, statusCodes: { '200': 200 } });
    expect(out.verdict).toEqual({ exitCode: 0, reason: '' });
    const { p50, p90, p95, p99, max } = out.summary.latencyMs;
    expect(0 < p50 && p50 <= p90 && p90 <= p95 && p95 <= p99 && p99 <= max).toBe(true);
  });

  it('counts 401s as errors, within --max-error-rate only when allowed', async () => {
    const server = await start({ authorization: 'Bearer right' });
    const out = await runLoadSession({
      config: configFor(server.url),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 20 },
      diversified: false,
      maxErrorRate: 0,
    });
    expect(out.summary).toMatchObject({ errors: 20, wrongCryptograms: 0, statusCodes: { '401': 20 } });
    expect(out.verdict.exitCode).toBe(1);
  });

  it('tolerates errors up to --max-error-rate, but never a wrong cryptogram', async () => {
    const failing = await start({ statusEvery: 10, failStatus: 503 });
    const ok = await runLoadSession({
      config: configFor(failing.url),
      shape: { model: 'closed', concurrency: 3 },
      stop: { exchanges: 100 },
      diversified: false,
      maxErrorRate: 0.1,
    });
    expect(ok.summary).toMatchObject({ errors: 10, statusCodes: { '200': 90, '503': 10 } });
    expect(ok.verdict.exitCode).toBe(0);
    const wrong = await start({ wrongEvery: 50 });
    const bad = await runLoadSession({
      config: configFor(wrong.url),
      shape: { model: 'closed', concurrency: 3 },
      stop: { exchanges: 100 },
      diversified: false,
      maxErrorRate: 1,
    });
    expect(bad.summary).toMatchObject({ wrongCryptograms: 2, errors: 0 });
    expect(bad.verdict.exitCode).toBe(1);
  });

  it('counts a malformed 200 body as a wrong cryptogram', async () => {
    const server = await start({ fixedBody: 'F0Zudm4wPLY=' });
    const out = await runLoadSession({
      config: configFor(server.url),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 10 },
      diversified: false,
      maxErrorRate: 0,
    });
    expect(out.summary).toMatchObject({ wrongCryptograms: 10, errors: 0 });
    expect(out.stats.malformedBodies).toBe(10);
    expect(out.verdict.reason).toMatch(/not a base64 JSON string/);
  });

  it('reports an unreachable server (exit 3) after one attempt per worker', async () => {
    const port = await closedPort();
    const out = await runLoadSession({
      config: configFor(`http://127.0.0.1:${port}`),
      shape: { model: 'closed', concurrency: 3 },
      stop: { durationMs: 60_000 },
      diversified: false,
      maxErrorRate: 0,
    });
    expect(out.stats.unreachable).toBe(true);
    expect(out.stats.transportErrors.refused).toBeGreaterThanOrEqual(3);
    expect(out.verdict.exitCode).toBe(3);
    expect(out.verdict.reason).toMatch(/^server unreachable: refused: .*ECONNREFUSED/);
  });

  it('times out a hanging server and calls it unreachable', async () => {
    const server = await start({ hang: true });
    const out = await runLoadSession({
      config: configFor(server.url, { timeoutMs: 200 }),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 5 },
      diversified: false,
      maxErrorRate: 0,
    });
    // One timeout per worker ends the run; a worker may have started a second one meanwhile.
    expect(Object.keys(out.stats.transportErrors)).toEqual(['timeout']);
    expect(out.stats.transportErrors.timeout).toBeGreaterThanOrEqual(2);
    expect(out.stats.transportErrors.timeout).toBeLessThanOrEqual(4);
    expect(out.verdict.exitCode).toBe(3);
  });

  it('keeps warm-up exchanges out of the summary, but not a wrong cryptogram in them', async () => {
    const clean = await start({});
    const ok = await runLoadSession({
      config: configFor(clean.url),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 50 },
      warmupMs: 200,
      diversified: false,
      maxErrorRate: 0,
    });
    expect(ok.summary.exchanges).toBe(50);
    expect(ok.warmup!.exchanges).toBeGreaterThan(0);
    expect(clean.requests()).toBe(50 + ok.warmup!.exchanges);
    expect(ok.verdict.exitCode).toBe(0);
    const coldWrong = await start({ wrongFirst: 3 });
    const bad = await runLoadSession({
      config: configFor(coldWrong.url),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 50 },
      warmupMs: 200,
      diversified: false,
      maxErrorRate: 0,
    });
    expect(bad.summary).toMatchObject({ exchanges: 50, wrongCryptograms: 0 });
    expect(bad.warmup!.wrongCryptograms).toBe(3);
    expect(bad.verdict).toEqual({ exitCode: 1, reason: '3 response(s) in the warm-up failed card verification' });
  });

  it('ends in the warm-up when the server is unreachable', async () => {
    const port = await closedPort();
    const out = await runLoadSession({
      config: configFor(`http://127.0.0.1:${port}`),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 10 },
      warmupMs: 30_000,
      diversified: false,
      maxErrorRate: 0,
    });
    expect(out.verdict.exitCode).toBe(3);
  });

  it("uses diversified=True with the cards' diversified keys when asked", async () => {
    const DIV = '89abcdef012345670123456789abcdeffedcba9876543210';
    const server = await start({});
    // The mix server answers under LOAD_KEY whatever `diversified` says: a card holding another key must reject it.
    const cfg = parseConfig(
      {
        server: server.url,
        cards: [
          { ...LOAD_CARDS[0], adminKey: DIV, diversifiedKey: LOAD_KEY },
          { ...LOAD_CARDS[1], adminKey: LOAD_KEY },
        ],
      },
      'test config',
    );
    const out = await runLoadSession({ config: cfg, shape: { model: 'closed', concurrency: 2 }, stop: { exchanges: 10 }, diversified: true, maxErrorRate: 0 });
    expect(out.cards).toEqual(['a']);
    expect(out.summary).toMatchObject({ exchanges: 10, wrongCryptograms: 0 });
    const plain = await runLoadSession({
      config: cfg,
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 10 },
      diversified: false,
      maxErrorRate: 0,
    });
    expect(plain.summary.wrongCryptograms).toBe(5); // card a holds DIV for diversified=false
  });
});

describe('load over HTTP: what a wrong cryptogram and a stall look like', () => {
  const servers: LoadServer[] = [];
  const start = async (o: Omit<LoadServerOptions, 'keyHex'> & { keyHex?: string }): Promise<LoadServer> => {
    const s = await startLoadServer({ keyHex: LOAD_KEY, ...o });
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('names the card and the diagnosis of the first wrong cryptograms: decryption for encryption', async () => {
    const server = await start({ decrypt: true });
    const out = await runLoadSession({
      config: configFor(server.url),
      shape: { model: 'closed', concurrency: 2 },
      stop: { exchanges: 12 },
      diversified: false,
    });
    expect(out.summary).toMatchObject({ wrongCryptograms: 12, errors: 0 });
    const first = out.summary.firstWrongCryptograms;
    expect(first).toHaveLength(5);
    for (const w of first) {
      expect(['a', 'b']).toContain(w.card);
      expect(w.phase).toBe('run');
      expect(w.diagnosis).toMatch(/decryption/i);
      expect(w.response).toMatch(/^"[A-Za-z0-9+/]{11}="$/);
    }
    expect(out.verdict.reason).toMatch(/^12 response\(s\) failed card verification \(12 of 12; first: card [ab], challenge \S+: .*decryption/i);
  });

  it("names another configured card's key when the server answered with it", async () => {
    const OTHER = '89abcdef012345670123456789abcdeffedcba9876543210';
    const server = await start({});
    // Card a holds OTHER; the server answers every card under LOAD_KEY, which is card b's.
    const cfg = parseConfig(
      {
        server: server.url,
        cards: [
          { ...LOAD_CARDS[0], adminKey: OTHER },
          { ...LOAD_CARDS[1], adminKey: LOAD_KEY },
        ],
      },
      'test config',
    );
    const out = await runLoadSession({ config: cfg, shape: { model: 'closed', concurrency: 1 }, stop: { exchanges: 6 }, diversified: false });
    expect(out.summary).toMatchObject({ exchanges: 6, wrongCryptograms: 3, verified: 3 });
    expect(out.summary.firstWrongCryptograms.map((w) => [w.card, w.diagnosis])).toEqual(Array(3).fill(['a', expect.stringContaining("card b's admin key")]));
  });

  it('masks a key the server echoes in a malformed body', async () => {
    const server = await start({ fixedBody: JSON.stringify(`key=${LOAD_KEY}`) });
    const out = await runLoadSession({ config: configFor(server.url), shape: { model: 'closed', concurrency: 1 }, stop: { exchanges: 2 }, diversified: false });
    expect(out.summary.firstWrongCryptograms).toHaveLength(2);
    expect(JSON.stringify(out.summary)).not.toContain(LOAD_KEY);
    expect(out.summary.firstWrongCryptograms[0]!.response).toContain('[redacted]');
    expect(out.summary.firstWrongCryptograms[0]!.diagnosis).toMatch(/not standard padded base64/);
  });

  it('open model over HTTP: every exchange due is started or dropped, every answer verified', async () => {
    const server = await start({});
    const out = await runLoadSession({
      config: configFor(server.url),
      shape: { model: 'open', rate: 400, connections: 64 },
      stop: { exchanges: 200 },
      diversified: false,
    });
    expect(out.summary.model).toBe('open');
    expect(out.summary.exchanges + out.summary.dropped).toBe(200);
    expect(out.summary.verified).toBe(out.summary.exchanges);
    expect(server.requests()).toBe(out.summary.exchanges);
    expect(out.connections).toBe(64);
  });

  // A server that holds every answer for 1 s, once: the closed model's two workers each wait
  // out the stall once, so it shows in max but not in p99; the open model keeps starting
  // exchanges on schedule, and every one due during the stall waits, so p99 shows it.
  // The bounds are structural (how many samples can be slow), not speeds.
  it("a stall hides in the closed model's p99 and shows in the open model's", async () => {
    const slowSamples = (h: { buckets(): Array<{ lowUs: number; count: number }> }): number =>
      h
        .buckets()
        .filter((b) => b.lowUs >= 500_000)
        .reduce((n, b) => n + b.count, 0);
    const closedServer = await start({ stallAtMs: 1000, stallMs: 1000 });
    const c = await runLoadSession({
      config: configFor(closedServer.url),
      shape: { model: 'closed', concurrency: 2 },
      stop: { durationMs: 3000 },
      diversified: false,
    });
    const openServer = await start({ stallAtMs: 1000, stallMs: 1000 });
    const o = await runLoadSession({
      config: configFor(openServer.url),
      shape: { model: 'open', rate: 200, connections: 600 },
      stop: { durationMs: 3000 },
      diversified: false,
    });
    console.log(
      `stall: closed ${c.summary.exchanges} exchanges, p99 ${c.summary.latencyMs.p99} ms, max ${c.summary.latencyMs.max} ms; open ${o.summary.exchanges} exchanges (${o.summary.dropped} dropped), p99 ${o.summary.latencyMs.p99} ms, max ${o.summary.latencyMs.max} ms`,
    );
    for (const out of [c, o]) expect(out.summary).toMatchObject({ errors: 0, wrongCryptograms: 0 });
    // Closed: the stall is there (max), but at most one sample per worker waited it out
    // (two more allowed for one stall of this busy machine's own).
    expect(c.summary.latencyMs.max).toBeGreaterThanOrEqual(900);
    expect(slowSamples(c.stats.latency)).toBeLessThanOrEqual(4);
    expect(c.summary.exchanges).toBeGreaterThanOrEqual(400); // so 4 slow samples are within the top 1%
    expect(c.summary.latencyMs.p99).toBeLessThan(500);
    // Open: ~200 exchanges were due during the stall, ~100 of them waited at least 500 ms.
    expect(o.summary.exchanges + o.summary.dropped).toBe(600);
    expect(slowSamples(o.stats.latency)).toBeGreaterThanOrEqual(50);
    expect(o.summary.latencyMs.p99).toBeGreaterThanOrEqual(500);
  });
});

describe('http transport', () => {
  let server: LoadServer;
  beforeAll(async () => {
    server = await startLoadServer({ keyHex: LOAD_KEY });
  });
  afterAll(async () => {
    await server.close();
  });

  it('builds the documented query: cardid, percent-encoded challenge, diversified=False, then atr', async () => {
    const seen: string[] = [];
    const http = await import('node:http');
    const spy = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('"x"');
    });
    await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
    const port = (spy.address() as { port: number }).port;
    const t = createLoadTransport({
      server: `http://127.0.0.1:${port}`,
      basePath: '/CertificateManagement/api/v1.0',
      timeoutMs: 1000,
      connections: 1,
      diversified: false,
      targets: [
        {
          reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
          scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
          cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
          atr: '3b8d',
        },
      ],
    });
    const reply = await new Promise((resolve, reject) =>
      t.send(0, 0, Buffer.from('1hFD+cz/0so=', 'base64'), (err, status, body) => (err ? reject(err) : resolve({ status, body }))),
    );
    await t.close();
    spy.close();
    expect(reply).toEqual({ status: 200, body: '"x"' });
    expect(seen).toEqual([
      '/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099/smartcards/17cf063d-e337-4aa9-a822-346554ddd3c9/authenticationresponse?cardid=bc88f13f-83ba-4037-8262-46eba1291c6e&challenge=1hFD%2Bcz%2F0so%3D&diversified=False&atr=3b8d',
    ]);
  });

  it('without an authenticator, sends on the raw HTTP/1.1 path: exactly Host, the fixed headers and Accept', async () => {
    const spy = await headSpy();
    const { port, heads } = spy;
    const t = createLoadTransport({
      server: `http://127.0.0.1:${port}`,
      basePath: '/b',
      headers: { Authorization: 'Bearer load-test', 'X-Trace': 'on' },
      timeoutMs: 1000,
      connections: 1,
      diversified: false,
      targets: [LOAD_CARDS[0]!],
    });
    const reply = await new Promise((resolve, reject) =>
      t.send(0, 0, Buffer.from('1hFD+cz/0so=', 'base64'), (err, status, body) => (err ? reject(err) : resolve({ status, body }))),
    );
    await t.close();
    spy.close();
    const c = LOAD_CARDS[0]!;
    expect(reply).toEqual({ status: 200, body: '"x"' });
    // undici would add its own lowercase host and connection headers: this is the raw path.
    expect(heads).toEqual([
      `GET /b/requests/${c.reqid}/smartcards/${c.scid}/authenticationresponse?cardid=${c.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\nAuthorization: Bearer load-test\r\nX-Trace: on\r\naccept: application/json\r\n\r\n`,
    ]);
  });

  it('an auth block of fixed headers rides the raw path too, its headers over the same-named ones of `headers`', async () => {
    const spy = await headSpy();
    const { port, heads } = spy;
    try {
      await runLoadSession({
        config: configFor(`http://127.0.0.1:${port}`, {
          headers: { Authorization: 'Bearer from-headers', 'X-Trace': 'on' },
          auth: { type: 'headers', headers: { authorization: 'Bearer from-auth', 'X-Api-Key': 'apim-1' } },
        }),
        shape: { model: 'closed', concurrency: 1 },
        stop: { exchanges: 3 },
        diversified: false,
        maxErrorRate: 1,
      });
    } finally {
      spy.close();
    }
    expect(heads).toHaveLength(3);
    // undici would add its own lowercase host and connection headers: this is the raw path.
    for (const head of heads) {
      expect(head).toMatch(
        new RegExp(
          `^GET \\S+ HTTP/1\\.1\\r\\nHost: 127\\.0\\.0\\.1:${port}\\r\\nX-Trace: on\\r\\nauthorization: Bearer from-auth\\r\\nX-Api-Key: apim-1\\r\\naccept: application/json\\r\\n\\r\\n$`,
        ),
      );
    }
  });

  it('with an authenticator, goes through it on undici: a connection-bound handshake once per connection, then plain requests', async () => {
    const http = await import('node:http');
    const authenticated = new WeakSet<object>();
    let handshakes = 0;
    const spy = http.createServer((req, res) => {
      if (req.headers.authorization === 'Fake handshake') {
        handshakes += 1;
        authenticated.add(req.socket);
      }
      res.statusCode = authenticated.has(req.socket) ? 200 : 401;
      res.end(res.statusCode === 200 ? '"ok"' : '');
    });
    await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
    const port = (spy.address() as { port: number }).port;
    const auth: Authenticator = {
      type: 'ntlm',
      binding: 'connection',
      send: (req, send) => send({ ...req, headers: { ...req.headers, Authorization: 'Fake handshake' } }),
    };
    const t = createLoadTransport({
      server: `http://127.0.0.1:${port}`,
      basePath: '/b',
      auth,
      timeoutMs: 1000,
      connections: 2,
      diversified: false,
      targets: [LOAD_CARDS[0]!],
    });
    const once = (c: number): Promise<number> =>
      new Promise((resolve, reject) =>
        t.send(c, 0, Buffer.alloc(8), (err, status) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(status))),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await once(0), await once(1));
    await t.close();
    spy.closeAllConnections();
    spy.close();
    expect(statuses).toEqual(Array(20).fill(200));
    expect(handshakes).toBe(2);
  });

  it('reuses keep-alive connections: sockets stay at the concurrency', async () => {
    const sockets = new Set<unknown>();
    const http = await import('node:http');
    const spy = http.createServer((req, res) => {
      sockets.add(req.socket);
      res.end('"x"');
    });
    await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
    const port = (spy.address() as { port: number }).port;
    const t = createLoadTransport({
      server: `http://127.0.0.1:${port}`,
      basePath: '/b',
      timeoutMs: 1000,
      connections: 3,
      diversified: true,
      targets: [LOAD_CARDS[0]!],
    });
    const once = (c: number): Promise<void> => new Promise((resolve, reject) => t.send(c, 0, Buffer.alloc(8), (err) => (err ? reject(err) : resolve())));
    const jobs: Promise<unknown>[] = [];
    for (let w = 0; w < 3; w++)
      jobs.push(
        (async () => {
          for (let i = 0; i < 20; i++) await once(w);
        })(),
      );
    await Promise.all(jobs);
    await t.close();
    spy.closeAllConnections();
    spy.close();
    expect(sockets.size).toBeLessThanOrEqual(3);
  });
});
