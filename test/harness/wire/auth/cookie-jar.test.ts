import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCookieJar } from '../../../../harness/wire/auth/cookie-jar.js';
import { openConnection } from './support/connection.js';

describe('the cookie jar against a loopback server that sets cookies', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/login') {
        res.setHeader('Set-Cookie', [
          'CMSESSION=s3ss10n-value; Path=/; HttpOnly',
          'narrow=only-under-sub; Path=/sub',
          'gone=x; Path=/; Max-Age=0',
          'foreign=x; Domain=elsewhere.test; Path=/',
        ]);
        res.end('{}');
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ cookie: req.headers.cookie ?? null }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('keeps what the server set and sends it back by path, like a browser', async () => {
    const jar = createCookieJar(origin);
    const conn = openConnection(origin);
    try {
      expect(jar.header('/check')).toBeUndefined();
      const login = await conn.send({ method: 'GET', path: '/login', headers: {} });
      expect(login.multi['set-cookie']).toHaveLength(4);
      jar.store('/login', login.multi['set-cookie'] ?? []);

      const send = async (path: string) => {
        const cookie = jar.header(path);
        const res = await conn.send({ method: 'GET', path, headers: cookie ? { Cookie: cookie } : {} });
        return JSON.parse(res.body).cookie as string | null;
      };
      expect(await send('/check')).toBe('CMSESSION=s3ss10n-value');
      expect(await send('/sub/check')).toBe('narrow=only-under-sub; CMSESSION=s3ss10n-value');
      // Values for redaction: the live cookies, not the expired or foreign ones.
      expect(jar.values().sort()).toEqual(['only-under-sub', 's3ss10n-value']);
    } finally {
      await conn.close();
    }
  });

  it('is per client: a second jar starts empty', () => {
    const a = createCookieJar(origin);
    a.store('/', ['k=v; Path=/']);
    expect(a.header('/x')).toBe('k=v');
    expect(createCookieJar(origin).header('/x')).toBeUndefined();
  });
});
