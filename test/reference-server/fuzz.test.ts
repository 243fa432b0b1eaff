import fc from 'fast-check';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { EX, HELPDESK, raw } from './support.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startReferenceServer({ quiet: true, providerStates: true });
});
afterAll(() => server.close());

const STACK = /\bat \S+ \(|\bat file:|\.ts:\d|\.js:\d|node_modules|TypeError|RangeError|SyntaxError|ReferenceError/;

const segment = fc.oneof(
  fc.constantFrom(
    'CertificateManagement',
    'certificatemanagement',
    'api',
    'v1.0',
    'requests',
    'smartcards',
    'authenticationresponse',
    'diversifiedkey',
    'profiletemplates',
    'configuration',
    EX.reqid,
    EX.scid,
    EX.template,
    '..',
    '%',
    '%zz',
    '%00',
    '{',
    '}',
    '_pact',
    'provider-states',
  ),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ maxLength: 8 }),
);
const pathArb = fc.array(segment, { maxLength: 9 }).map((parts) => `/${parts.join('/')}`);
const baseArb = fc.constantFrom('', `/CertificateManagement/api/v1.0/requests/${EX.reqid}/smartcards/${EX.scid}`, '/certificatemanagement/api/v1.0');
const queryArb = fc
  .array(
    fc.tuple(
      fc.constantFrom('cardid', 'challenge', 'diversified', 'atr', 'x', ''),
      fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(EX.cardid, '1hFD%2Bcz%2F0so%3D', 'True', '%', '%%', '+++')),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const bodyArb = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc
    .record(
      {
        type: fc.oneof(fc.string(), fc.integer(), fc.constantFrom('Enroll', 'Unblock')),
        profiletemplateuuid: fc.constantFrom(EX.template, 'x'),
        smartcard: fc.constantFrom(EX.scid, 'y'),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.record({ state: fc.string(), params: fc.dictionary(fc.string(), fc.string()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);

describe('random input never breaks the server', () => {
  it('no 500, no stack text, always JSON errors, for random methods, paths, queries and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        baseArb,
        pathArb,
        fc.option(queryArb, { nil: undefined }),
        bodyArb,
        fc.constantFrom<Record<string, string>>(HELPDESK, { ...HELPDESK, 'Content-Type': 'application/json' }, {}, { Authorization: 'Bearer x' }),
        async (method, base, path, query, body, headers) => {
          // Node's client refuses raw spaces and control characters in a path; send those percent-encoded
          // (raw garbage on the socket is the next test's job).
          const target = `${base}${path}${query === undefined ? '' : `?${query}`}`.replace(/[^\u0021-\u007e]/gu, (c) => encodeURIComponent(c));
          const sendBody = method === 'GET' || method === 'HEAD' ? undefined : body;
          const r = await raw(server.url, target, { method, headers, body: sendBody });
          expect(r.status, `${method} ${target}`).toBeLessThan(500);
          expect(r.status).toBeGreaterThanOrEqual(200);
          expect(r.body).not.toMatch(STACK);
          if (r.status >= 400 && method !== 'HEAD') expect(Object.keys(JSON.parse(r.body) as object).sort()).toEqual(['CorrelationId', 'Message']);
        },
      ),
      { numRuns: 400, seed: 20261129 },
    );
    // Still alive and correct afterwards.
    const ok = await raw(
      server.url,
      `/CertificateManagement/api/v1.0/requests/${EX.reqid}/smartcards/${EX.scid}/authenticationresponse?cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`,
      { headers: HELPDESK },
    );
    expect(ok.body).toBe('"F0Zudm4wPLY="');
  });

  it('no 500 for random query values on the authenticationresponse endpoint', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 10 }), async (cardid, challenge, diversified) => {
        const q = `cardid=${encodeURIComponent(cardid)}&challenge=${encodeURIComponent(challenge)}&diversified=${encodeURIComponent(diversified)}`;
        const r = await raw(server.url, `/CertificateManagement/api/v1.0/requests/${EX.reqid}/smartcards/${EX.scid}/authenticationresponse?${q}`, {
          headers: HELPDESK,
        });
        expect(r.status).toBe(400);
        expect(r.body).not.toMatch(STACK);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('answers garbage on the socket with a JSON 400 (or closes), and stays up', async () => {
    const port = Number(new URL(server.url).port);
    const send = (bytes: Uint8Array): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let out = '';
        const timer = setTimeout(() => socket.destroy(), 2_000);
        socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(out);
        });
        socket.on('error', () => {});
        socket.end(Buffer.concat([Buffer.from(bytes), Buffer.from('\r\n\r\n')]));
      });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(`GET /${s} HTTP/1.1\r\nHost: x`)),
        ),
        async (bytes) => {
          const out = await send(bytes);
          expect(out).not.toMatch(/^HTTP\/1\.1 5\d\d/);
          expect(out).not.toMatch(STACK);
          if (/^HTTP\/1\.1 400/.test(out)) expect(out).toContain('"CorrelationId"');
        },
      ),
      { numRuns: 150, seed: 11 },
    );
    const ok = await raw(
      server.url,
      `/CertificateManagement/api/v1.0/requests/${EX.reqid}/smartcards/${EX.scid}/authenticationresponse?cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`,
      { headers: HELPDESK },
    );
    expect(ok.body).toBe('"F0Zudm4wPLY="');
  });
});
