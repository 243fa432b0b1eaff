/**
 * A loopback proxy that authenticates for a client that can only send fixed headers:
 * Pact's verifier. The verifier sends each interaction here with a marker header naming
 * the caller (`X-Cmcard-Caller: rights` or `forbidden`; none = anonymous); the proxy
 * forwards it to the CM server through a CmClient, which attaches that caller's
 * credentials (Kerberos, NTLM on the caller's own authenticated connections, OAuth 2,
 * cookies), and hands the answer back unchanged.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CmClient, type CallerRole, type CmClientOptions } from './cm-client.js';
import { TransportError } from './transport-error.js';

export const CALLER_HEADER = 'x-cmcard-caller';

/** What the verifier's requests carry that the proxy must not forward: its own routing, its stand-in credentials, hop-by-hop headers. */
const DROP = new Set([
  CALLER_HEADER,
  'authorization',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer']);
const MAX_BODY = 1024 * 1024;

export interface AuthProxy {
  /** e.g. http://127.0.0.1:41234: give it to the verifier as the provider's base URL. */
  url: string;
  close(): Promise<void>;
}

export async function startAuthProxy(options: CmClientOptions): Promise<AuthProxy> {
  const client = new CmClient({ ...options, onExchange: undefined });
  const server = createServer((req, res) => {
    forward(client, req, res).catch((err: unknown) => answer(res, 502, err instanceof Error ? err.message : String(err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: the proxy holds credentials and answers anyone who reaches it.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function forward(client: CmClient, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const marker = String(req.headers[CALLER_HEADER] ?? '').toLowerCase();
  const caller: CallerRole = marker === 'rights' ? 'rights' : marker === 'forbidden' ? 'forbidden' : 'anonymous';
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DROP.has(name)) continue;
    extra[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  try {
    const out = await client.raw(req.method ?? 'GET', req.url ?? '/', {
      caller,
      extraHeaders: extra,
      ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    });
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(out.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = out.multi?.[name] ?? value;
    res.writeHead(out.status, headers);
    res.end(out.body);
  } catch (err) {
    const reason = err instanceof TransportError ? `no answer from the CM server (${err.kind})` : 'the request could not be authenticated';
    answer(res, 502, `${reason}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('request body over 1 MiB'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ Message: `cmcard proxy: ${message.split('\n')[0]}` }));
}
