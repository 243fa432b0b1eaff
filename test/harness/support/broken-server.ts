/**
 * A small CM server on node:http for judging the judge: correct by default, with one
 * switch per defect the conformance suite must catch. Loopback, port 0. A correct server
 * may also deliver its answers in ways a client must cope with (`delivery`): late, in
 * chunks, or on a connection it closes after every answer.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isBase64 } from '../../../simulator/bytes.js';
import { tdesDecrypt, tdesEncrypt } from '../../../simulator/tdes.js';
import { DOCUMENTED_EXAMPLE, type CardConfig, type HarnessConfig } from '../../../harness/config.js';

export const DEFECTS = [
  'wrong-key',
  'decrypt',
  'ignore-diversified',
  'hex-body',
  'unquoted-body',
  'text-plain',
  'case-sensitive-path',
  'reject-False',
  'no-percent-decoding',
  'no-auth',
  'cardid-optional',
  'ids-not-cross-checked',
  'stack-on-malformed',
  'wrong-length',
  'hang',
  // A server that echoes the request's headers in its error bodies (credentials included).
  'echo-headers',
  // The diversifiedkey endpoint: the key with a 201, the key unquoted, a key that disagrees with diversified=true.
  'key-201',
  'unquoted-key',
  'key-disagrees',
  'cbc',
  'unknown-ids-200',
  'accept-post',
  'random-response',
  'reject-atr',
  'reject-lower-true',
  // Computes into one buffer shared by every request and sends it a little later: right alone, wrong under concurrency.
  'shared-buffer',
  // Puts the card's admin key (hex, spaced) in the 400 for a bad diversified value.
  'key-in-error',
  // Takes any Bearer token but the no-rights one as the help desk's.
  'garbage-token-accepted',
  // Reads a challenge of 14 or 16 hex digits as hex and answers it.
  'hex-challenge',
  // Two Authorization headers: the first one wins (Node's own default) instead of a 400.
  'duplicate-auth-first-wins',
] as const;
export type Defect = (typeof DEFECTS)[number];

const HELPDESK = 'helpdesk-token';
const NO_RIGHTS = 'user-token';

/** Three cards: the documented example (weak all-zero default key), and two with true 3-key keys. */
export const BROKEN_SERVER_CARDS: CardConfig[] = [
  {
    name: 'example',
    reqid: DOCUMENTED_EXAMPLE.reqid,
    scid: DOCUMENTED_EXAMPLE.scid,
    cardid: DOCUMENTED_EXAMPLE.cardid,
    adminKey: Buffer.alloc(24),
    diversifiedKey: Buffer.from(DOCUMENTED_EXAMPLE.diversifiedKeyBase64, 'base64'),
  },
  {
    name: 'alpha',
    reqid: '6f1c0f52-8d43-4b2e-9a57-0c1d2e3f4a5b',
    scid: '0b7e9a14-3c2d-4e5f-8a9b-1c2d3e4f5a6b',
    cardid: '9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4',
    atr: '3b8d0180fba000000397425446590301c8',
    adminKey: Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex'),
    diversifiedKey: Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90f1e2d3c4b5a69788', 'hex'),
  },
  {
    name: 'beta',
    reqid: 'c4a1e2b3-7d6f-4a58-b9c0-d1e2f3a4b5c6',
    scid: 'e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9',
    cardid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    adminKey: Buffer.from('4c6f7265ad1f3e5d6b7a8c9d0e1f2a3b5c6d7e8f90a1b2c3', 'hex'),
  },
];

/** The request timeout of the `hang` server's config: short, since every diversified=true request waits it out. */
export const HANG_TIMEOUT_MS = 400;

const WRONG_KEY = Buffer.from('13579bdf02468ace13579bdf02468ace13579bdf02468ace', 'hex');

/**
 * How a correct server may deliver its answers: `slow` answers each request after
 * SLOW_MS, `chunked` writes every body a few bytes at a time (no Content-Length),
 * `close-each` closes the connection after every answer.
 */
export type Delivery = 'slow' | 'chunked' | 'close-each';
export const SLOW_MS = 150;

export interface BrokenServer {
  url: string;
  /** A harness config aimed at this server (a short timeout only for `hang`, so it costs little; room for a busy machine otherwise). */
  config: HarnessConfig;
  close(): Promise<void>;
}

export async function startBrokenServer(defect?: Defect, options: { timeoutMs?: number; tls?: HttpsOptions; delivery?: Delivery } = {}): Promise<BrokenServer> {
  const has = (d: Defect) => defect === d;
  const shared: SharedBuffer = { bytes: Buffer.alloc(64), length: 0 };
  const listener: RequestListener = (req, res) => {
    (res as Delivered).delivery = options.delivery;
    const run = (): void => {
      try {
        handle(req, res, has, shared);
      } catch {
        send(res, 500, { Message: 'unexpected error' });
      }
    };
    if (options.delivery === 'slow') setTimeout(run, SLOW_MS);
    else run();
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config: HarnessConfig = {
    server: url,
    basePath: '/CertificateManagement/api/v1.0',
    headers: { Authorization: `Bearer ${HELPDESK}` },
    forbiddenHeaders: { Authorization: `Bearer ${NO_RIGHTS}` },
    timeoutMs: options.timeoutMs ?? (defect === 'hang' ? HANG_TIMEOUT_MS : 5000),
    lifecycle: false,
    cards: BROKEN_SERVER_CARDS,
    source: `broken server (${defect ?? 'no defect'})`,
  };
  return {
    url,
    config,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Delivered = ServerResponse & { echo?: Record<string, unknown>; delivery?: Delivery };

/** The one buffer a `shared-buffer` server computes every response into. */
interface SharedBuffer {
  bytes: Buffer;
  length: number;
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  const { echo, delivery } = res as Delivered;
  if (echo && status >= 400 && typeof body === 'object' && body !== null) body = { ...body, request: echo };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (delivery === 'close-each') res.setHeader('Connection', 'close');
  if (delivery !== 'chunked') {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  // A few bytes per write, each on a later turn: the client must read to the end.
  res.writeHead(status, { 'Content-Type': contentType });
  const bytes = Buffer.from(text);
  let at = 0;
  const next = (): void => {
    if (at >= bytes.length) {
      res.end();
      return;
    }
    res.write(bytes.subarray(at, at + 3));
    at += 3;
    setImmediate(next);
  };
  next();
}

function handle(req: IncomingMessage, res: ServerResponse, has: (d: Defect) => boolean, shared: SharedBuffer): void {
  if (has('echo-headers')) (res as Delivered).echo = { url: req.url, headers: req.headers };
  const [rawPath = '', rawQuery = ''] = (req.url ?? '').split('?', 2);
  const route = /^\/certificatemanagement\/api\/v1\.0\/requests\/([^/]+)\/smartcards\/([^/]+)\/(authenticationresponse|diversifiedkey)$/;
  const m = has('case-sensitive-path')
    ? /^\/CertificateManagement\/api\/v1\.0\/requests\/([^/]+)\/smartcards\/([^/]+)\/(authenticationresponse|diversifiedkey)$/.exec(rawPath)
    : new RegExp(route.source, 'i').exec(rawPath);
  if (!m) return send(res, 404, { Message: 'no such endpoint' });
  if (req.method !== 'GET' && !has('accept-post')) {
    res.setHeader('Allow', 'GET');
    return send(res, 405, { Message: `method ${req.method} not allowed` });
  }
  // Node keeps the first of two Authorization headers: a server must look at them all.
  const authorizations = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'authorization').length;
  if (authorizations > 1 && !has('duplicate-auth-first-wins')) return send(res, 400, { Message: 'more than one Authorization header' });
  if (!has('no-auth')) {
    const auth = req.headers.authorization;
    if (auth === `Bearer ${NO_RIGHTS}`) return send(res, 403, { Message: 'not allowed' });
    const accepted = auth === `Bearer ${HELPDESK}` || (has('garbage-token-accepted') && auth !== undefined && auth.startsWith('Bearer '));
    if (!accepted) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return send(res, 401, { Message: 'authentication required' });
    }
  }
  const query = parseQuery(rawQuery, !has('no-percent-decoding'));
  const [, reqid = '', scid = '', what = ''] = m;
  const cards = BROKEN_SERVER_CARDS;
  let cardid = query.get('cardid');
  let card: CardConfig | undefined;
  if (cardid === undefined) {
    if (!has('cardid-optional')) return send(res, 400, { Message: 'cardid is required' });
    cardid = cards.find((c) => c.scid === scid.toLowerCase())?.cardid ?? '';
  }
  if (has('ids-not-cross-checked')) {
    const known = cards.some((c) => c.reqid === reqid.toLowerCase()) && cards.some((c) => c.cardid === cardid!.toLowerCase());
    card = known ? cards.find((c) => c.scid === scid.toLowerCase()) : undefined;
  } else {
    card = cards.find((c) => c.reqid === reqid.toLowerCase() && c.scid === scid.toLowerCase() && c.cardid === cardid!.toLowerCase());
  }
  if (!card && has('unknown-ids-200')) card = cards[0]!;
  if (!card) return send(res, 404, { Message: 'no such request, smart card or cardid' });

  if (what.toLowerCase() === 'diversifiedkey') {
    if (!(card.diversifiedKey instanceof Buffer)) return send(res, 204, '');
    const handedOut = has('key-disagrees') ? WRONG_KEY : card.diversifiedKey;
    if (has('unquoted-key')) return send(res, 200, handedOut.toString('base64'));
    return send(res, has('key-201') ? 201 : 200, JSON.stringify(handedOut.toString('base64')));
  }
  if (query.has('atr') && has('reject-atr')) return send(res, 400, { Message: 'unknown parameter atr' });

  const flag = query.get('diversified');
  const spellings = has('reject-False')
    ? ['true', 'false', 'True']
    : has('reject-lower-true')
      ? ['false', 'True', 'False']
      : ['true', 'false', 'True', 'False'];
  if (flag === undefined || !spellings.includes(flag)) {
    if (has('key-in-error'))
      return send(res, 400, { Message: 'diversified must be true or false', Detail: `card ${card.name}, AdminKey ${spaced(card.adminKey)}` });
    return send(res, 400, { Message: 'diversified must be true or false' });
  }
  const diversified = flag.toLowerCase() === 'true';
  const challengeText = query.get('challenge');
  if (challengeText === undefined) return send(res, 400, { Message: 'challenge is required' });
  let challenge = isBase64(challengeText) && !/[-_]/.test(challengeText) ? Buffer.from(challengeText, 'base64') : undefined;
  if (has('hex-challenge') && /^[0-9A-Fa-f]{14}$|^[0-9A-Fa-f]{16}$/.test(challengeText)) {
    challenge = Buffer.alloc(8);
    Buffer.from(challengeText.length % 2 ? `${challengeText}0` : challengeText, 'hex').copy(challenge);
  }
  if (!challenge || challenge.length === 0 || challenge.length % 8 !== 0 || challenge.length > 64) {
    if (has('stack-on-malformed')) {
      return send(
        res,
        500,
        `TypeError: invalid challenge length\n    at decodeChallenge (/srv/cm/src/handlers/auth.js:41:11)\n    at handle (/srv/cm/src/app.js:88:5)`,
        'text/plain',
      );
    }
    return send(res, 400, { Message: 'challenge must be base64 of 8, 16, ... 64 bytes' });
  }
  if (diversified && has('hang')) return; // never answers
  let key = diversified && !has('ignore-diversified') ? card.diversifiedKey : card.adminKey;
  if (!(key instanceof Buffer)) return send(res, 400, { Message: 'this card has no diversified key' });
  if (has('wrong-key')) key = WRONG_KEY;
  let response = has('decrypt') ? tdesDecrypt(key, challenge) : has('cbc') ? cbcEncrypt(key, challenge) : tdesEncrypt(key, challenge);
  if (has('random-response')) response = randomBytes(challenge.length);
  if (has('wrong-length')) response = response.subarray(0, response.length - 1);
  if (has('shared-buffer')) {
    // The defect: one buffer for every request, read back after a pause in which others overwrite it.
    response.copy(shared.bytes);
    shared.length = response.length;
    setTimeout(() => send(res, 200, JSON.stringify(shared.bytes.subarray(0, shared.length).toString('base64'))), 25);
    return;
  }
  if (has('hex-body')) return send(res, 200, JSON.stringify(response.toString('hex')));
  if (has('unquoted-body')) return send(res, 200, response.toString('base64'));
  if (has('text-plain')) return send(res, 200, JSON.stringify(response.toString('base64')), 'text/plain; charset=utf-8');
  return send(res, 200, JSON.stringify(response.toString('base64')));
}

/** `01 23 45 ...`: hex as a debug dump prints it. */
function spaced(bytes: Buffer): string {
  return (bytes.toString('hex').toUpperCase().match(/../g) ?? []).join(' ');
}

/** 3DES-CBC with a zero IV: right for the first block, wrong for every later one (ECB is the contract). */
function cbcEncrypt(key: Buffer, data: Buffer): Buffer {
  const out: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(8);
  for (let i = 0; i < data.length; i += 8) {
    const block = Buffer.from(data.subarray(i, i + 8).map((b, j) => b ^ previous[j]!));
    previous = tdesEncrypt(key, block);
    out.push(previous);
  }
  return Buffer.concat(out);
}

/** The query as a server sees it: percent-decoded, or (the defect) taken literally. */
function parseQuery(raw: string, decode: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    out.set(k, decode ? safeDecode(v) : v);
  }
  return out;
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
