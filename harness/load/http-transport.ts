import http from 'node:http';
import https from 'node:https';
import { TransportFailure, type Reply } from './engine.js';

/**
 * The lean request path of load mode: one keep-alive agent sized to the concurrency, the
 * request path of each card built once, and per exchange only the percent-encoded
 * challenge appended. It records nothing (the recording CmClient is for conformance).
 */

export interface TransportTarget {
  reqid: string;
  scid: string;
  cardid: string;
  atr?: string;
}

export interface HttpTransportOptions {
  /** Origin, e.g. http://127.0.0.1:8080 (a path, if any, is ignored: use basePath). */
  server: string;
  basePath: string;
  headers?: Record<string, string>;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  timeoutMs: number;
  concurrency: number;
  /** diversified=True (the card's diversified key) or False (the template's default key). */
  diversified: boolean;
  targets: TransportTarget[];
}

export interface HttpTransport {
  send(cardIndex: number, challenge: Buffer): Promise<Reply>;
  close(): void;
}

/** Bodies larger than this are cut off: a cryptogram is a few dozen bytes. */
const MAX_BODY = 64 * 1024;

export function createHttpTransport(o: HttpTransportOptions): HttpTransport {
  const url = new URL(o.server);
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') throw new RangeError(`server must be an http:// or https:// URL, got ${o.server}`);
  const agentOptions = { keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency, scheduling: 'fifo' as const };
  const agent = secure ? new https.Agent({ ...agentOptions, ...o.tls }) : new http.Agent(agentOptions);
  const request = secure ? https.request : http.request;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const headers = { ...o.headers, accept: 'application/json' };
  const base = o.basePath.replace(/\/+$/, '');
  const diversified = o.diversified ? 'True' : 'False';
  const e = encodeURIComponent;
  // Query order as in the documented example: cardid, challenge, diversified (then atr).
  const prefixes = o.targets.map((t) => `${base}/requests/${e(t.reqid)}/smartcards/${e(t.scid)}/authenticationresponse?cardid=${e(t.cardid)}&challenge=`);
  const suffixes = o.targets.map((t) => `&diversified=${diversified}${t.atr ? `&atr=${e(t.atr)}` : ''}`);

  function send(cardIndex: number, challenge: Buffer): Promise<Reply> {
    const path = prefixes[cardIndex]! + e(challenge.toString('base64')) + suffixes[cardIndex]!;
    return new Promise<Reply>((resolve, reject) => {
      const req = request({ agent, hostname, port, path, method: 'GET', headers }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => {
          if (body.length < MAX_BODY) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (err) => reject(failure(err)));
      });
      req.setTimeout(o.timeoutMs, () => req.destroy(new TransportFailure(`no response within ${o.timeoutMs} ms`, 'timeout')));
      req.on('error', (err) => reject(failure(err)));
      req.end();
    });
  }

  return { send, close: () => agent.destroy() };
}

/** A socket error to a TransportFailure whose kind names the cause. */
function failure(err: Error & { code?: string }): TransportFailure {
  if (err instanceof TransportFailure) return err;
  const code = err.code ?? '';
  const kind =
    code === 'ECONNREFUSED' ? 'refused'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'unreachable'
    : code === 'ECONNRESET' || code === 'EPIPE' ? 'reset'
    : code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL') ? 'tls'
    : code.startsWith('HPE_') ? 'protocol'
    : 'other';
  return new TransportFailure(`${kind}: ${err.message}`, kind);
}
