// The requests Node's HTTP layer answers (or drops) before the app sees them, sent on raw
// sockets to the reference server: what comes back, and whether it is the JSON error body
// with a correlation id. Used by `npm run reliability`; the same cases are asserted in
// test/reference-server/protocol-errors.test.ts.
import { connect } from 'node:net';
import { startReferenceServer } from '../reference-server/index.js';

export interface NodeErrorRow {
  request: string;
  /** What plain node:http does with it. */
  nodeAlone: string;
  status: number | null;
  /** The body is {Message, CorrelationId} and X-Correlation-Id carries the same id. */
  json: boolean;
}

const T = '/CertificateManagement/api/v1.0/profiletemplates';
const POST = 'POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\nContent-Type: application/json\r\n';
const CASES: { request: string; nodeAlone: string; text: string; halfClose?: boolean }[] = [
  { request: 'HTTP/1.1 without Host', nodeAlone: 'bare 400', text: `GET ${T} HTTP/1.1\r\nAuthorization: Bearer demo-user\r\n\r\n` },
  {
    request: 'two Host headers',
    nodeAlone: 'served (first wins)',
    text: `GET ${T} HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: Bearer demo-user\r\nConnection: close\r\n\r\n`,
  },
  {
    request: 'two Authorization headers',
    nodeAlone: 'served (first wins)',
    text: `GET ${T} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer demo-helpdesk\r\nAuthorization: Bearer demo-user\r\nConnection: close\r\n\r\n`,
  },
  { request: 'Expect: garbage', nodeAlone: 'bare 417', text: `GET ${T} HTTP/1.1\r\nHost: a\r\nExpect: garbage\r\n\r\n` },
  {
    request: 'Expect: 100-continue, 1 MB body announced',
    nodeAlone: '100, then reads the body',
    text: `${POST}Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n`,
  },
  { request: 'headers not finished in time', nodeAlone: 'bare 408', text: `GET ${T} HTTP/1.1\r\nHost: a\r\n` },
  { request: 'body not finished in time', nodeAlone: 'bare 408', text: `${POST}Content-Length: 50\r\n\r\n{"type"` },
  { request: 'CONNECT', nodeAlone: 'connection dropped', text: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n' },
  { request: 'headers over 16 KB', nodeAlone: 'bare 431', text: `GET ${T} HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n` },
  { request: 'HTTP/2 preface', nodeAlone: 'bare 400', text: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
  { request: 'Content-Length with Transfer-Encoding', nodeAlone: 'bare 400', text: `${POST}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { request: 'connection closed mid-headers', nodeAlone: 'bare 400', text: `GET ${T} HTTP/1.1\r\nHost: a\r\n`, halfClose: true },
  { request: 'random bytes', nodeAlone: 'bare 400', text: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n' },
];

function probe(port: number, text: string, halfClose: boolean): Promise<{ status: number | null; json: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const bound = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', () => {
      /* judged by what arrived */
    });
    socket.on('close', () => {
      clearTimeout(bound);
      const [head = '', ...rest] = out.split('\r\n\r\n');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1];
      let json = false;
      try {
        const body = JSON.parse(rest.join('\r\n\r\n')) as Record<string, unknown>;
        const id = /\r\nX-Correlation-Id: ([0-9a-f-]{36})/i.exec(head)?.[1];
        json = Object.keys(body).sort().join(',') === 'CorrelationId,Message' && body.CorrelationId === id;
      } catch {
        /* not JSON */
      }
      resolve({ status: status ? Number(status) : null, json });
    });
    socket.write(text, 'latin1');
    if (halfClose) socket.end();
  });
}

export async function runNodeErrors(): Promise<NodeErrorRow[]> {
  const server = await startReferenceServer({ quiet: true, timeouts: { headers: 300, request: 600 } });
  try {
    const port = Number(new URL(server.url).port);
    const rows: NodeErrorRow[] = [];
    for (const c of CASES) rows.push({ request: c.request, nodeAlone: c.nodeAlone, ...(await probe(port, c.text, c.halfClose ?? false)) });
    return rows;
  } finally {
    await server.close();
  }
}
