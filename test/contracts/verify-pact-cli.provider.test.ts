/**
 * `cmcard verify-pact` run as a user runs it (the built bin): exit codes 0/1/2/3, the
 * per-interaction lines and summary, and `cmcard serve --provider-states` end to end.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { committedPactPath, readPact } from '../../contracts/pact-file.js';
import { runCli } from '../support/cli.js';
import { startServe, type Served } from './support/serve.js';
import { startWrongProvider } from './support/wrong-provider.js';

const total = readPact(committedPactPath()).interactions.length;

describe('cmcard verify-pact', () => {
  it('verifies the embedded reference server by default: exit 0, a PASS line per interaction', async () => {
    const r = await runCli(['verify-pact'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  PASS  the documented example request');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`${total} interactions: ${total} passed, 0 failed, 0 skipped`);
  });

  it('exits 1 and names the mismatch when a server decrypts instead of encrypting', async () => {
    const provider = await startWrongProvider('decrypt');
    try {
      const r = await runCli(['verify-pact', '--server', provider.url, '--states-url', provider.statesUrl], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('  PASS  the documented example request');
      expect(r.stdout).toMatch(/ {2}FAIL {2}a response request for a card on a non-weak key\n {10}body: .*'\+UBnFRLNDf8='/);
    } finally {
      await provider.close();
    }
  });

  it('without --states-url reports every interaction with a state as skipped, with the reason, and exits 1: nothing verified is no pass', async () => {
    const provider = await startWrongProvider('none');
    try {
      const r = await runCli(['verify-pact', '--server', provider.url], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^cmcard: nothing was verified: every interaction was skipped.*--states-url/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toMatch(
        / {2}SKIP {2}the documented example request \(needs provider state "a smart card with a Base CSP admin key": give a state-change URL \(--states-url\), or --documented-example if the server holds the documented example card\)/,
      );
      expect(r.stdout).toContain(`${total} interactions: 0 passed, 0 failed, ${total} skipped\nNothing was verified`);
    } finally {
      await provider.close();
    }
  });

  it('exits 3 with one line when the server is unreachable', async () => {
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const r = await runCli(['verify-pact', '--server', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/server unreachable \(refused\): .*connection refused/);
  });

  it.each([
    [['--header', 'Bearer s3cret'], /--header must look like 'Name: value'/],
    [['--timeout', 'soon'], /--timeout must be a positive whole number/],
    [['--pact', '/nonexistent/pact.json'], /cannot read pact file \/nonexistent\/pact\.json/],
    [['--server', 'ftp://x', '--states-url', 'http://127.0.0.1:1/s'], /http/],
  ])('exits 2 on bad input %j, with one line and no secret', async (args, message) => {
    const r = await runCli(['verify-pact', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain('s3cret');
    expect(r.stdout).toBe('');
  });
});

describe('cmcard serve --provider-states + cmcard verify-pact --states-url', () => {
  let served: Served | undefined;
  afterAll(async () => {
    await served?.stop();
  });

  it('verifies a separately started reference server through its state-change endpoint', async () => {
    served = await startServe(['--provider-states']);
    const { url } = served;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await runCli(['verify-pact', '--server', url, '--states-url', `${url}/_pact/provider-states`], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${total} interactions: ${total} passed, 0 failed, 0 skipped`);
  });
});
