import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tdesDecrypt, tdesEncrypt } from '../../../simulator/tdes.js';

/**
 * A tiny CM stand-in for load tests, with a known mix of answers decided by its own
 * request counter (so the mix is exact whatever the client's concurrency):
 * every `statusEvery`-th request gets `failStatus`; among the rest, every `wrongEvery`-th
 * 200 carries a wrong cryptogram (first byte flipped). `hang` never answers.
 * `stallAtMs`/`stallMs`: once, that long after the first request, every answer waits until
 * the stall ends (a GC pause, a failover, a locked table).
 */
export interface LoadServerOptions {
  /** hex; the key every card uses (the test configs give every card this key). */
  keyHex: string;
  wrongEvery?: number;
  statusEvery?: number;
  failStatus?: number;
  /** The first this-many requests get a wrong cryptogram (a server that is wrong while cold). */
  wrongFirst?: number;
  /** Body of every 200 when set (a malformed-body server). */
  fixedBody?: string;
  hang?: boolean;
  /** When set, requests without this Authorization value get 401. */
  authorization?: string;
  /** Answer with the 3DES decryption of the challenge instead of the encryption. */
  decrypt?: boolean;
  /** Ms after the first request at which the one stall begins. */
  stallAtMs?: number;
  /** How long the stall holds every answer (default 1000). */
  stallMs?: number;
}

export interface LoadServer {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

export async function startLoadServer(o: LoadServerOptions): Promise<LoadServer> {
  const key = Buffer.from(o.keyHex, 'hex');
  let requests = 0;
  let oks = 0;
  let firstAt = 0;
  let stallEnds = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    if (o.hang) return; // the client's timeout ends it
    const now = performance.now();
    if (requests === 1) firstAt = now;
    if (o.stallAtMs !== undefined && stallEnds === 0 && now - firstAt >= o.stallAtMs) stallEnds = now + (o.stallMs ?? 1000);
    const wait = stallEnds > now ? stallEnds - now : 0;
    const send = (status: number, body: string): void => {
      const write = (): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (wait > 0) setTimeout(write, wait);
      else write();
    };
    if (o.authorization !== undefined && req.headers.authorization !== o.authorization) return send(401, '{"Message":"no credentials"}');
    const url = new URL(req.url ?? '/', 'http://x');
    if (!/\/authenticationresponse$/i.test(url.pathname)) return send(404, '{"Message":"not found"}');
    const challenge = url.searchParams.get('challenge');
    if (!challenge || !url.searchParams.get('cardid') || url.searchParams.get('diversified') === null) return send(400, '{"Message":"missing parameter"}');
    if (o.statusEvery && requests % o.statusEvery === 0) return send(o.failStatus ?? 500, '{"Message":"planned failure","CorrelationId":"t"}');
    oks += 1;
    if (o.fixedBody !== undefined) return send(200, o.fixedBody);
    const response = (o.decrypt ? tdesDecrypt : tdesEncrypt)(key, Buffer.from(challenge, 'base64'));
    if ((o.wrongEvery && oks % o.wrongEvery === 0) || requests <= (o.wrongFirst ?? 0)) response[0]! ^= 0x01;
    send(200, JSON.stringify(response.toString('base64')));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A server that drops every connection before answering: unreachable for HTTP purposes,
 * while the port stays ours (a released port can be taken by another process meanwhile).
 */
export async function startDroppingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const s = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => s.close(() => resolve())) };
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Two non-weak 3-key keys and GUIDs for test configs. */
export const LOAD_KEY = '0123456789abcdeffedcba987654321089abcdef01234567';
export const LOAD_CARDS = [
  { name: 'a', reqid: '11111111-1111-4111-8111-111111111111', scid: '22222222-2222-4222-8222-222222222222', cardid: '33333333-3333-4333-8333-333333333333' },
  { name: 'b', reqid: '44444444-4444-4444-8444-444444444444', scid: '55555555-5555-4555-8555-555555555555', cardid: '66666666-6666-4666-8666-666666666666' },
];

/**
 * `cmcard serve` (the reference server) in its own process on a free loopback port, as a
 * user runs it; stopped by PID in `stop()` and, should the test run be cut short, when
 * this process exits.
 */
export async function startReferenceServer(bin: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const child = spawn(process.execPath, [bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const killOnExit = (): void => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('cmcard serve printed no URL within 20 s')), 20_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    void exited.then(() => reject(new Error('cmcard serve exited before printing its URL')));
  });
  child.stdout!.resume();
  return {
    url,
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}
