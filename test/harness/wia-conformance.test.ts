/**
 * cmcard against a real Windows-Integrated-Authentication front: a throwaway Kerberos
 * realm and Apache mod_auth_gssapi (Kerberos, NTLM through gss-ntlmssp), the IIS stand-in,
 * reverse-proxying to the reference server. The whole conformance suite with negotiate and
 * with ntlm, unlock and load through the CLI, and the first-minute lines for what goes
 * wrong in the field. Skipped, with the install line, where the packages are missing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type HarnessConfig } from '../../harness/config.js';
import { Redactor } from '../../harness/redact.js';
import { renderHtml } from '../../harness/reporters/html.js';
import { renderJson } from '../../harness/reporters/json.js';
import { renderJunit } from '../../harness/reporters/junit.js';
import { reproducerFor } from '../../harness/reproduce.js';
import { runConformance } from '../../harness/runner.js';
import { defaultSeed, describeSeed, PROVIDER_STATES_PATH, startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { runCli } from '../support/cli.js';
import { announceSkip, kerberosAddonSkipReason, NTLM_DOMAIN, REALM, startTestBed, wiaSkipReason, type TestBed } from '../support/wia/testbed.js';

const reason = wiaSkipReason() ?? (await kerberosAddonSkipReason());
announceSkip('conformance through Kerberos and NTLM (Apache mod_auth_gssapi)', reason);

describe.skipIf(reason !== null)(`conformance, unlock and load through Windows Integrated Authentication${reason ? ` [skipped: ${reason}]` : ''}`, () => {
  let bed: TestBed;
  let backend: RunningServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const seed = describeSeed(defaultSeed());
  const cards = seed.cards;

  beforeAll(async () => {
    backend = await startReferenceServer({ quiet: true, seed: defaultSeed(), providerStates: true });
    // Apache authenticates; the backend learns the user from Apache and maps it to a role.
    const helpdesk = `Bearer ${seed.tokens.helpdesk}`;
    const user = `Bearer ${seed.tokens.user}`;
    bed = await startTestBed({
      backend: backend.url,
      backendAuthorization: { [`alice@${REALM}`]: helpdesk, [`${NTLM_DOMAIN}\\alice`]: helpdesk, [`bob@${REALM}`]: user, [`${NTLM_DOMAIN}\\bob`]: user },
    });
    dir = mkdtempSync(join(tmpdir(), 'cmcard-wia-cli-'));
    env = { ...bed.realm.clientEnv('alice'), ALICE_PW: bed.user('alice').password, BOB_PW: bed.user('bob').password };
  }, 60_000);
  afterAll(async () => {
    await bed?.stop();
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ntlm = (who: 'alice' | 'bob', password?: string) => ({
    type: 'ntlm',
    username: who,
    password: password ?? `\${${who.toUpperCase()}_PW}`,
    domain: NTLM_DOMAIN,
  });
  const configFile = (name: string, doc: Record<string, unknown>): string => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ lifecycle: true, cards, ...doc }));
    return path;
  };
  const config = (doc: Record<string, unknown>): HarnessConfig =>
    parseConfig({ lifecycle: true, cards, ...doc }, 'wia config', { env: { ...process.env, ...env } });

  async function suite(doc: Record<string, unknown>): Promise<void> {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const report = await runConformance({ config: config(doc), caseTimeoutMs: 60_000 });
      const bad = report.results.filter((r) => r.outcome === 'failed' || r.outcome === 'warning').map((r) => `${r.id}: ${r.message}`);
      expect(bad).toEqual([]);
      // auth.duplicate sends the configured Authorization twice: a Kerberos or NTLM caller has no fixed one.
      expect(report.results.filter((r) => r.outcome === 'skipped').map((r) => r.id)).toEqual(['auth.duplicate']);
      // The passwords never reach a report.
      for (const text of [renderJson(report), renderJunit(report), renderHtml(report)]) {
        expect(text).not.toContain(bed.user('alice').password);
        expect(text).not.toContain(bed.user('bob').password);
      }
    } finally {
      process.env = saved;
    }
  }

  it('the whole suite passes with negotiate (Kerberos) as the caller with rights, the forbidden caller over NTLM', async () => {
    await suite({ server: bed.apache.bothUrl, auth: { type: 'negotiate' }, forbiddenAuth: ntlm('bob') });
  }, 120_000);

  it('the whole suite passes with ntlm for both callers', async () => {
    await suite({ server: bed.apache.ntlmUrl, auth: ntlm('alice'), forbiddenAuth: ntlm('bob') });
  }, 120_000);

  it("a failing exchange's curl reproduction, pasted into a shell, authenticates as its caller (curl --negotiate; --ntlm's arguments)", async () => {
    const card = cards[0]!;
    const path = `/CertificateManagement/api/v1.0/requests/${card.reqid}/smartcards/${card.scid}/authenticationresponse?cardid=${card.cardid}&challenge=${encodeURIComponent('1hFD+cz/0so=')}&diversified=False`;
    const reproduce = (doc: Record<string, unknown>, caller: 'rights' | 'forbidden' | 'anonymous'): string => {
      const c = config(doc);
      const line = reproducerFor(c, new Redactor([])).curl(
        { request: { method: 'GET', url: `${c.server}${path}`, headers: {} }, response: { status: 0, headers: {}, body: '' }, durationMs: 0 },
        { caller, request: { method: 'GET', path, headers: { Accept: 'application/json' } } },
      );
      expect(line).not.toContain(bed.user('alice').password);
      expect(line).not.toContain(bed.user('bob').password);
      return line;
    };
    const sh = async (script: string): Promise<string> =>
      (await promisify(execFile)('sh', ['-c', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 })).stdout;
    /** curl -i prints each answer of a handshake: the last is the request's. */
    const lastStatus = async (line: string): Promise<number> => Number([...(await sh(line)).matchAll(/^HTTP\/1\.1 (\d{3})/gm)].pop()![1]);

    const kerberos = { server: bed.apache.bothUrl, auth: { type: 'negotiate' }, forbiddenAuth: ntlm('bob') };
    // Without the flags the same request is refused: the flags are what authenticates.
    expect(await lastStatus(reproduce(kerberos, 'anonymous'))).toBe(401);
    expect(await lastStatus(reproduce(kerberos, 'rights'))).toBe(200);
    // curl 7.88's own NTLM first message (no Version field) is refused by gss-ntlmssp, which
    // is stricter than IIS here: for NTLM the test checks what the shell hands curl.
    const argv = async (line: string): Promise<string[]> => (await sh(`curl() { printf '%s\\n' "$@"; }; ${line}`)).trimEnd().split('\n');
    expect(await argv(reproduce(kerberos, 'forbidden'))).toEqual(expect.arrayContaining(['--ntlm', '-u', `${NTLM_DOMAIN}\\bob:${bed.user('bob').password}`]));
    const viaNtlm = { server: bed.apache.ntlmUrl, auth: ntlm('alice'), forbiddenAuth: ntlm('bob') };
    const alice = await argv(reproduce(viaNtlm, 'rights'));
    expect(alice.slice(alice.indexOf('--ntlm'))).toEqual(['--ntlm', '-u', `${NTLM_DOMAIN}\\alice:${bed.user('alice').password}`]);
  }, 60_000);

  it('cmcard unlock and cmcard load work through NTLM and through Kerberos', async () => {
    const viaNtlm = configFile('ntlm', { server: bed.apache.ntlmUrl, auth: ntlm('alice') });
    const viaKerberos = configFile('kerberos', { server: bed.apache.negotiateUrl, auth: { type: 'negotiate' } });
    for (const path of [viaNtlm, viaKerberos]) {
      const unlock = await runCli(['unlock', '--config', path], { env, timeoutMs: 60_000 });
      expect(unlock.stderr).toBe('');
      expect(unlock.code).toBe(0);
      expect(unlock.stdout).toMatch(/unlock OK/);
      expect(unlock.stdout).not.toContain(bed.user('alice').password);
      const load = await runCli(['load', '--config', path, '--concurrency', '4', '--exchanges', '200', '--json'], { env, timeoutMs: 60_000 });
      expect(load.code).toBe(0);
      const summary = JSON.parse(load.stdout.trim().split('\n').pop()!);
      expect(summary).toMatchObject({ exchanges: 200, wrongCryptograms: 0, errors: 0 });
    }
  }, 180_000);

  it('cmcard verify-pact verifies every interaction through the authenticating proxy (NTLM and Kerberos)', async () => {
    const states = `${backend.url}${PROVIDER_STATES_PATH}`;
    for (const [name, doc] of [
      ['pact-ntlm', { server: bed.apache.ntlmUrl, auth: ntlm('alice'), forbiddenAuth: ntlm('bob') }],
      ['pact-kerberos', { server: bed.apache.bothUrl, auth: { type: 'negotiate' }, forbiddenAuth: ntlm('bob') }],
    ] as const) {
      const r = await runCli(['verify-pact', '--config', configFile(name, doc), '--states-url', states], { env, timeoutMs: 120_000 });
      expect(r.stdout).toMatch(/interactions: \d+ passed, 0 failed, 0 skipped/);
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(bed.user('alice').password);
      expect(r.stdout + r.stderr).not.toContain(bed.user('bob').password);
    }
  }, 240_000);

  it.each([
    [
      'a wrong NTLM password',
      () => ({ server: bed.apache.ntlmUrl, auth: ntlm('alice', 'not-the-password-1') }),
      () => ({}),
      /refused the NTLM credentials of auth .*check auth\.username, auth\.password/,
    ],
    [
      'no Kerberos ticket',
      () => ({ server: bed.apache.negotiateUrl, auth: { type: 'negotiate' } }),
      () => bed.realm.clientEnv(null),
      /^cmcard: auth: .*(kinit|KRB5_CLIENT_KTNAME)/m,
    ],
    [
      'an unknown SPN',
      () => ({ server: bed.apache.negotiateUrl, auth: { type: 'negotiate', spn: 'HTTP/nosuch.cmcard.test' } }),
      () => ({}),
      /^cmcard: auth: .*(SPN|not found)/m,
    ],
    [
      'a scheme the config lacks',
      () => ({ server: bed.apache.negotiateUrl, headers: { Authorization: 'Bearer x' } }),
      () => ({}),
      /the server asks for Negotiate\b.*"auth": \{"type": "negotiate"\}/,
    ],
  ])(
    '%s: one line, exit 2, before any case runs, no secret',
    async (name, doc, extraEnv, line) => {
      const path = configFile(name.replace(/\W+/g, '-'), doc());
      const r = await runCli(['conformance', '--config', path], { env: { ...env, ...extraEnv() }, timeoutMs: 60_000 });
      expect(r.stderr).toMatch(line);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
      expect(r.stdout).not.toMatch(/PASS|FAIL/);
      expect(r.stdout + r.stderr).not.toContain(bed.user('alice').password);
      expect(r.stdout + r.stderr).not.toContain('not-the-password-1');
    },
    60_000,
  );
});
