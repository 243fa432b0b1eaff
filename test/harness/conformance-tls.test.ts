import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../harness/config.js';
import { checkReachable, runConformance, ServerUnreachableError } from '../../harness/runner.js';
import { BROKEN_SERVER_CARDS, startBrokenServer, type BrokenServer } from './support/broken-server.js';

// The config's TLS files reach the wire: a loopback HTTPS server with its own CA that
// demands a client certificate. Certificates are made fresh with the openssl CLI.

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cmcard-tls-'));
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makePki(): void {
  ssl('req', '-x509', ...EC, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=cmcard test CA');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', ...EC, '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext');
  ssl('req', ...EC, '-keyout', 'client-key.pem', '-out', 'client.csr', '-subj', '/CN=cmcard harness');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'client.pem', '-days', '1');
}

function writeConfig(name: string, url: string, tls: Record<string, string>): string {
  const path = join(dir, name);
  const cards = BROKEN_SERVER_CARDS.map((c) => ({ name: c.name, reqid: c.reqid, scid: c.scid, cardid: c.cardid, adminKey: c.adminKey.toString('hex') }));
  writeFileSync(path, JSON.stringify({ server: url, headers: { Authorization: 'Bearer helpdesk-token' }, timeoutMs: 3000, tls, cards }));
  return path;
}

describe.skipIf(!hasOpenssl())('TLS from the config file (skipped without the openssl CLI, which makes the certificates)', () => {
  let server: BrokenServer;
  beforeAll(async () => {
    makePki();
    const read = (f: string) => readFileSync(join(dir, f));
    server = await startBrokenServer(undefined, {
      tls: { key: read('server-key.pem'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('with the CA and a client certificate the suite runs over HTTPS', async () => {
    const config = loadConfig(writeConfig('mtls.json', server.url, { ca: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' }));
    await expect(checkReachable(config)).resolves.toBeUndefined();
    const report = await runConformance({ config, grep: /^response\.(correct|format)$/ });
    expect(report.results.map((r) => [r.id, r.outcome])).toEqual([['response.correct', 'passed'], ['response.format', 'passed']]);
    expect(report.results[0]!.exchanges[0]!.request.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
  });

  it('without the client certificate the server cannot be reached', async () => {
    const config = loadConfig(writeConfig('ca-only.json', server.url, { ca: 'ca.pem' }));
    await expect(checkReachable(config)).rejects.toBeInstanceOf(ServerUnreachableError);
  });

  it('without the CA the server certificate is refused', async () => {
    const config = loadConfig(writeConfig('no-ca.json', server.url, { cert: 'client.pem', key: 'client-key.pem' }));
    await expect(checkReachable(config)).rejects.toThrow(/unreachable \(tls\)/);
  });
});
