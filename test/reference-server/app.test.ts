import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, MAX_BODY_BYTES } from '../../reference-server/app.js';
import { Authenticator } from '../../reference-server/auth.js';
import { json, type Route } from '../../reference-server/route-types.js';
import { applySeed, defaultSeed, Store } from '../../reference-server/index.js';
import { HELPDESK, errorBody, raw } from './support.js';

// The pipeline on its own, with routes made for the test: what happens when a handler throws.
const store = new Store();
applySeed(store, defaultSeed());
const logged: { id: string; err: unknown }[] = [];
const routes: Route[] = [
  {
    method: 'GET',
    path: '/boom',
    role: 'any',
    what: 'explode',
    audit: 'boom',
    handle: () => {
      throw new TypeError('secret internal detail at /srv/app.ts:12');
    },
  },
  { method: 'POST', path: '/echo', role: 'any', what: 'echo', body: true, handle: (call) => json(200, call.body) },
];
const app = createApp({ store, auth: new Authenticator(store, () => true), routes, logError: (id, err) => logged.push({ id, err }) });
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer(app.handle);
  server.on('clientError', app.onClientError);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  store.close();
});

describe('the request pipeline', () => {
  it('turns an unexpected error into a 500 with a correlation id and nothing of the internals', async () => {
    const r = await raw(url, '/CertificateManagement/api/v1.0/boom', { headers: HELPDESK });
    expect(r.status).toBe(500);
    const body = errorBody(r);
    expect(body.Message).toContain(body.CorrelationId);
    expect(r.body).not.toMatch(/secret|TypeError|srv|\.ts/);
    // The operator's log has the detail, under the same id; so does the audit row.
    expect(logged.at(-1)?.id).toBe(body.CorrelationId);
    expect(String(logged.at(-1)?.err)).toContain('secret internal detail');
    const audit = store.listAudit().at(-1)!;
    expect(audit).toMatchObject({ action: 'boom', status: 500, outcome: 'error', correlationId: body.CorrelationId, detail: 'internal error' });
  });

  it('413 for a chunked body that grows past the limit, before the body ends', async () => {
    const u = new URL(url);
    const req = request({
      host: u.hostname,
      port: u.port,
      method: 'POST',
      path: '/CertificateManagement/api/v1.0/echo',
      headers: { ...HELPDESK, 'Content-Type': 'application/json' },
      agent: false,
    });
    try {
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        req.on('response', (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
      });
      // A little more than the limit in chunks, and never the end of the body: the answer
      // cannot wait for an end that does not come.
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      for (let sent = 0; sent <= MAX_BODY_BYTES; sent += chunk.length) req.write(chunk);
      const r = await answer;
      expect(req.writableEnded).toBe(false);
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toHaveProperty('CorrelationId');
    } finally {
      req.destroy();
    }
  });

  it('parses a JSON body with a +json media type', async () => {
    const r = await raw(url, '/CertificateManagement/api/v1.0/echo', {
      method: 'POST',
      headers: { ...HELPDESK, 'Content-Type': 'application/merge-patch+json' },
      body: '{"a":1}',
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe('{"a":1}');
  });
});
