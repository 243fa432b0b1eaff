/**
 * A deliberately wrong CM provider for verification tests: it keeps the cards its state
 * endpoint is given and answers authenticationresponse with one defect switched on.
 * With `defect: 'none'` it is right, which shows the failures come from the defect.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tdesDecrypt, tdesEncrypt } from '../../../simulator/tdes.js';

export type Defect = 'none' | 'wrong-key' | 'decrypt' | 'unquoted' | 'text-plain';

export interface WrongProvider {
  url: string;
  statesUrl: string;
  close(): Promise<void>;
}

interface Card {
  adminKey: string;
  diversifiedKey?: string;
}

export async function startWrongProvider(defect: Defect): Promise<WrongProvider> {
  const cards = new Map<string, Card>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && url.pathname === '/_states') {
        const { params } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { params?: Record<string, string> };
        if (params?.scid && params.adminKey)
          cards.set(params.scid, { adminKey: params.adminKey, ...(params.diversifiedKey ? { diversifiedKey: params.diversifiedKey } : {}) });
        return send(res, 200, 'application/json', '{}');
      }
      const m = /\/requests\/[^/]+\/smartcards\/([^/]+)\/authenticationresponse$/i.exec(url.pathname);
      const card = m ? cards.get(m[1]!) : undefined;
      if (!card) return send(res, 404, 'application/json', '{"Message":"not found"}');
      const diversified = (url.searchParams.get('diversified') ?? '').toLowerCase() === 'true';
      const key = Buffer.from(diversified ? (card.diversifiedKey ?? '') : card.adminKey, 'hex');
      const challenge = Buffer.from(url.searchParams.get('challenge') ?? '', 'base64');
      if (challenge.length === 0 || challenge.length % 8 !== 0) return send(res, 400, 'application/json', '{"Message":"bad challenge"}');
      const wrongKey = Buffer.from(key.map((b, i) => (i < 8 ? b ^ 0x02 : b))); // flips a non-parity bit of the first part
      const answer = (defect === 'decrypt' ? tdesDecrypt(key, challenge) : tdesEncrypt(defect === 'wrong-key' ? wrongKey : key, challenge)).toString('base64');
      if (defect === 'unquoted') return send(res, 200, 'application/json', answer);
      if (defect === 'text-plain') return send(res, 200, 'text/plain', JSON.stringify(answer));
      return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(answer));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    statesUrl: `${url}/_states`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
