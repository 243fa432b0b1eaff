import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptionsFor } from '../../harness/config-client.js';
import { loadConfig } from '../../harness/config.js';
import { ensureReachable, ServerUnreachableError } from '../../harness/preflight.js';
import { runConformance } from '../../harness/runner.js';
import { BROKEN_SERVER_CARDS, startBrokenServer, type BrokenServer } from './support/broken-server.js';

// The config's TLS files reach the wire: a loopback HTTPS server with the test PKI of
// test/harness/fixtures/tls (its own CA, a 127.0.0.1 server certificate, a client
// certificate) that demands a client certificate. Config paths are relative to the file.

const PKI = join(import.meta.dirname, 'fixtures', 'tls');
const dir = mkdtempSync(join(tmpdir(), 'cmcard-tls-'));
cpSync(PKI, dir, { recursive: true });

function writeConfig(name: string, url: string, tls: Record<string, string>): string {
  const path = join(dir, name);
  const cards = BROKEN_SERVER_CARDS.map((c) => ({ name: c.name, reqid: c.reqid, scid: c.scid, cardid: c.cardid, adminKey: c.adminKey.toString('hex') }));
  writeFileSync(path, JSON.stringify({ server: url, headers: { Authorization: 'Bearer helpdesk-token' }, timeoutMs: 5000, tls, cards }));
  return path;
}

describe('TLS from the config file', () => {
  let server: BrokenServer;
  beforeAll(async () => {
    const read = (f: string) => readFileSync(join(PKI, f));
    server = await startBrokenServer(undefined, {
      tls: { key: read('server-key.pem'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true },
    });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with the CA and a client certificate the suite runs over HTTPS', async () => {
    const config = loadConfig(writeConfig('mtls.json', server.url, { ca: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' }));
    await expect(ensureReachable(clientOptionsFor(config))).resolves.toBeUndefined();
    const report = await runConformance({ config, grep: /^response\.(correct|format)$/ });
    expect(report.results.map((r) => [r.id, r.outcome])).toEqual([
      ['response.correct', 'passed'],
      ['response.format', 'passed'],
    ]);
    expect(report.results[0]!.exchanges[0]!.request.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
  });

  it('without the client certificate the server cannot be reached', async () => {
    const config = loadConfig(writeConfig('ca-only.json', server.url, { ca: 'ca.pem' }));
    await expect(ensureReachable(clientOptionsFor(config))).rejects.toBeInstanceOf(ServerUnreachableError);
  });

  it('without the CA the server certificate is refused', async () => {
    const config = loadConfig(writeConfig('no-ca.json', server.url, { cert: 'client.pem', key: 'client-key.pem' }));
    await expect(ensureReachable(clientOptionsFor(config))).rejects.toThrow(/unreachable \(tls\)/);
  });
});
