/**
 * The reference server with one planted lifecycle defect each, for `cmcard fuzz` to find
 * (issue 14). Each is the real reference server behind a small proxy on loopback that
 * forwards every request and, for its one defect, changes what the server does:
 *
 * - `answers-after-completed`: a request set to Completed still gets responses and keys
 *   (the PUT is acknowledged, then the request is quietly reopened);
 * - `answers-after-retired`: a card set to Retired still gets them (likewise);
 * - `foreign-card-after-read`: once a request was read (GET /requests/{id}) on a
 *   connection, responses and keys are served on it for any card under that request, also
 *   cards of other requests (a per-connection cache keyed by the card once the request is loaded);
 * - `key-after-forbidden`: a caller refused (403) by the diversifiedkey endpoint gets the
 *   key the next time on the same connection (a per-connection cache of authorisation
 *   that remembers "checked", not the verdict);
 * - `odd-challenge-500`: the third request on a connection answers 500 when its challenge
 *   has an odd number of bytes.
 *
 * Without a defect the proxy only forwards. Port 0, loopback only.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DEFAULT_BASE_PATH, type HarnessConfig } from '../../../harness/config.js';
import { defaultSeed, describeSeed, startReferenceServer, type RunningServer } from '../../../reference-server/index.js';
import { seedConfig as configForSeed } from '../../../harness/embedded.js';
import { REQUEST_STATUS } from '../../../reference-server/model.js';

export const FUZZ_DEFECTS = [
  'answers-after-completed',
  'answers-after-retired',
  'foreign-card-after-read',
  'key-after-forbidden',
  'odd-challenge-500',
] as const;
export type FuzzDefect = (typeof FUZZ_DEFECTS)[number];

export interface FuzzTarget {
  url: string;
  /** A config for the seed's cards at `url`, with lifecycle on. */
  config: HarnessConfig;
  /** The reference server behind it. */
  upstream: RunningServer;
  close(): Promise<void>;
}

/** The harness config for the default seed's cards on a server at `url` (what the embedded server's config holds). */
export function seedConfig(url: string, source: string): HarnessConfig {
  return configForSeed(defaultSeed(), url, source);
}

const BASE = DEFAULT_BASE_PATH.toLowerCase();
const GUID = '[0-9a-fA-F-]{36}';
const REQUEST = new RegExp(`^${BASE}/requests/(${GUID})$`, 'i');
const CARD_IN_REQUEST = new RegExp(`^${BASE}/requests/(${GUID})/smartcards/(${GUID})$`, 'i');
const ASK = new RegExp(`^${BASE}/requests/([^/]+)/smartcards/([^/]+)/(authenticationresponse|diversifiedkey)$`, 'i');

interface Forward {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export async function startFuzzBrokenServer(defect?: FuzzDefect, options: { dbFile?: string } = {}): Promise<FuzzTarget> {
  const upstream = await startReferenceServer({
    host: '127.0.0.1',
    port: 0,
    quiet: true,
    seed: defaultSeed(),
    ...(options.dbFile ? { dbFile: options.dbFile } : {}),
  });
  const upstreamUrl = new URL(upstream.url);
  const agent = new Agent({ keepAlive: true });
  const store = upstream.store;
  const helpdesk = `Bearer ${describeSeed(defaultSeed()).tokens.helpdesk}`;
  // Per connection: the fuzzer opens new connections for every sequence, so a defect found
  // in a shrunk sequence is in that sequence alone, whatever ran before on this server.
  const readRequests = new WeakMap<Socket, Set<string>>();
  const refused = new WeakMap<Socket, Set<string>>();
  const callsOn = new WeakMap<Socket, number>();
  const setOf = (map: WeakMap<Socket, Set<string>>, socket: Socket): Set<string> => {
    let set = map.get(socket);
    if (!set) map.set(socket, (set = new Set()));
    return set;
  };

  const forward = (f: Forward): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers = { ...f.headers, host: upstreamUrl.host, 'content-length': String(f.body.length) };
      const req = httpRequest({ host: upstreamUrl.hostname, port: upstreamUrl.port, method: f.method, path: f.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers as Record<string, string | string[]>, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(f.body);
    });

  const handle = async (req: IncomingMessage, body: Buffer): Promise<Reply> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).toLowerCase();
    const query = q < 0 ? '' : url.slice(q + 1);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    const f: Forward = { method: req.method ?? 'GET', path: url, headers, body };
    const ask = ASK.exec(path);

    if (defect === 'odd-challenge-500') {
      const n = (callsOn.get(req.socket) ?? 0) + 1;
      callsOn.set(req.socket, n);
      const challenge = new URLSearchParams(query).get('challenge');
      if (n === 3 && ask?.[3] === 'authenticationresponse' && challenge !== null && Buffer.from(challenge, 'base64').length % 2 === 1) {
        return json(500, { Message: 'An internal error occurred.', CorrelationId: '00000000-0000-4000-8000-000000000000' });
      }
    }
    if (defect === 'foreign-card-after-read' && ask && setOf(readRequests, req.socket).has(ask[1]!.toLowerCase())) {
      // The "cache": the card is looked up on its own, whatever request it was asked under.
      const card = store.getSmartcard(ask[2]!.toLowerCase());
      const own = card?.requestUuids.find((id) => store.getRequest(id)?.status === REQUEST_STATUS.Approved);
      if (own) f.path = url.replace(new RegExp(ask[1]!, 'i'), own);
    }
    if (
      defect === 'key-after-forbidden' &&
      ask?.[3] === 'diversifiedkey' &&
      headers.authorization !== undefined &&
      setOf(refused, req.socket).has(headers.authorization)
    ) {
      f.headers = { ...headers, authorization: helpdesk };
    }

    const reply = await forward(f);

    if (defect === 'foreign-card-after-read' && f.method === 'GET' && reply.status === 200) {
      const m = REQUEST.exec(path);
      if (m) setOf(readRequests, req.socket).add(m[1]!.toLowerCase());
    }
    if (defect === 'key-after-forbidden' && ask?.[3] === 'diversifiedkey' && reply.status === 403 && headers.authorization !== undefined) {
      setOf(refused, req.socket).add(headers.authorization);
    }
    if (defect === 'answers-after-completed' && f.method === 'PUT' && reply.status === 200 && /"completed"/i.test(body.toString())) {
      const m = REQUEST.exec(path);
      if (m) store.setRequestStatus(m[1]!.toLowerCase(), REQUEST_STATUS.Approved, null);
    }
    if (defect === 'answers-after-retired' && f.method === 'PUT' && reply.status === 200 && /"retired"/i.test(body.toString())) {
      const m = CARD_IN_REQUEST.exec(path);
      if (m) store.setSmartcardStatus(m[2]!.toLowerCase(), 'InUse');
    }
    return reply;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks)).then(
        (reply) => {
          const headers = { ...reply.headers };
          delete headers['connection'];
          delete headers['keep-alive'];
          delete headers['transfer-encoding'];
          headers['content-length'] = String(reply.body.length);
          res.writeHead(reply.status, headers);
          res.end(reply.body);
        },
        () => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ Message: 'the proxy could not reach the reference server' }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    config: seedConfig(url, `reference server behind a proxy (${defect ?? 'no defect'})`),
    upstream,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await upstream.close();
    },
  };
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from(JSON.stringify(body)) };
}
