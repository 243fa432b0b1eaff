// The keep-alive connections a run shares between its cases' clients (no nock here: it
// replaces the sockets the agents would keep).
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AgentPool, CmClient } from '../../../harness/wire/cm-client.js';

describe('a shared AgentPool (the keep-alive connections of a run)', () => {
  /** A loopback server that answers every request and counts the connections it accepted. */
  async function countingServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end('"F0Zudm4wPLY="'));
    server.on('connection', () => (connections += 1));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      connections: () => connections,
      close: () => new Promise((done) => server.close(() => done())),
    };
  }

  it('carries the requests of every client on the same connections, and closes them only when the pool is destroyed', async () => {
    const srv = await countingServer();
    const pool = new AgentPool();
    try {
      for (let i = 0; i < 5; i++) {
        const c = new CmClient({ server: srv.url, agents: pool });
        expect((await c.profileTemplates()).status).toBe(200);
        expect((await c.profileTemplates()).status).toBe(200);
        c.close(); // a case's client ends: the run's connection stays
      }
      expect(srv.connections()).toBe(1);
      pool.destroy();
      const after = new CmClient({ server: srv.url, agents: pool });
      expect((await after.profileTemplates()).status).toBe(200);
      expect(srv.connections()).toBe(2);
      pool.destroy();
    } finally {
      await srv.close();
    }
  });

  it('keeps each caller on connections of its own', async () => {
    const srv = await countingServer();
    const pool = new AgentPool();
    try {
      const c = new CmClient({ server: srv.url, agents: pool, headers: { Authorization: 'Bearer a' }, forbiddenHeaders: { Authorization: 'Bearer b' } });
      await c.profileTemplates();
      await c.profileTemplates({ caller: 'forbidden' });
      await c.profileTemplates({ caller: 'anonymous' });
      await c.profileTemplates();
      expect(srv.connections()).toBe(3);
    } finally {
      pool.destroy();
      await srv.close();
    }
  });

  it('without a pool, each client closes its own connections', async () => {
    const srv = await countingServer();
    try {
      for (let i = 0; i < 3; i++) {
        const c = new CmClient({ server: srv.url });
        await c.profileTemplates();
        c.close();
      }
      expect(srv.connections()).toBe(3);
    } finally {
      await srv.close();
    }
  });
});
