import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HarnessConfig } from '../../harness/config.js';
import { REDACTED, Redactor } from '../../harness/redact.js';
import { renderHtml } from '../../harness/reporters/html.js';
import { renderJson } from '../../harness/reporters/json.js';
import { renderJunit } from '../../harness/reporters/junit.js';
import { runConformance } from '../../harness/runner.js';
import { runCli } from '../support/cli.js';
import { BROKEN_SERVER_CARDS, startBrokenServer, type Defect } from './support/broken-server.js';

// docs/report.md: credentials never in a report, whatever the header is called, and
// admin keys never in any output the user did not ask for.

describe('Redactor: by value first, header names as the fallback', () => {
  const r = Redactor.forHeaders({ 'X-CM-Auth': 'cm-secret-1234', Authorization: 'Bearer tok-5678' }, { 'Ocp-Apim-Subscription-Key': 'apim-0000' });

  it('masks configured values under any header name, keeping a scheme', () => {
    expect(r.headers({ 'X-CM-Auth': 'cm-secret-1234', 'X-Other': 'apim-0000', Authorization: 'Bearer tok-5678', Accept: 'application/json' })).toEqual({
      'X-CM-Auth': REDACTED,
      'X-Other': REDACTED,
      Authorization: `Bearer ${REDACTED}`,
      Accept: 'application/json',
    });
  });

  it('masks them inside URLs (also percent-encoded), bodies and messages, and the credential without its scheme', () => {
    expect(r.text('GET /x?k=cm-secret-1234 -> {"echo":"Bearer tok-5678","t":"tok-5678"}')).toBe(
      `GET /x?k=${REDACTED} -> {"echo":"${REDACTED}","t":"${REDACTED}"}`,
    );
    expect(new Redactor(['a b/c+d']).text(`q=${encodeURIComponent('a b/c+d')}`)).toBe(`q=${REDACTED}`);
  });

  it('falls back to credential-looking names for values it was not told about', () => {
    expect(new Redactor().headers({ 'X-Api-Key': 'k', 'Set-Cookie': 'sid=1', 'X-Auth-Token': 't', 'X-Trace': 'visible' })).toEqual({
      'X-Api-Key': REDACTED,
      'Set-Cookie': REDACTED,
      'X-Auth-Token': REDACTED,
      'X-Trace': 'visible',
    });
  });

  it('does not blank short values inside text (a header "X-Flag: 1" must not blank every 1)', () => {
    expect(new Redactor(['1']).text('HTTP 401')).toBe('HTTP 401');
    expect(new Redactor(['1']).headers({ 'X-Flag': '1' })).toEqual({ 'X-Flag': REDACTED });
  });
});

describe('a conformance run against a server that echoes credentials', () => {
  it('puts no configured credential in the JSON, JUnit or HTML report, whatever the header names', async () => {
    const server = await startBrokenServer('echo-headers');
    const secrets = ['cm-auth-secret-2718', 'apim-subscription-3141', 'helpdesk-token', 'user-token'];
    try {
      const config: HarnessConfig = {
        ...server.config,
        headers: { ...server.config.headers, 'X-CM-Auth': secrets[0]! },
        forbiddenHeaders: { ...server.config.forbiddenHeaders, 'Ocp-Apim-Subscription-Key': secrets[1]! },
      };
      // auth.invalid sends the configured token cut short: a server that echoes it must not put most of it in a report.
      const report = await runConformance({ config, grep: /^(auth\.forbidden|auth\.invalid|ids\.unknown|input\.malformed-challenge|errors\.json-body)$/ });
      // The echo reached the harness: the test would see a leak.
      expect(report.results.flatMap((r) => r.exchanges).some((e) => e.response?.body.includes('"request"'))).toBe(true);
      for (const [format, text] of [
        ['json', renderJson(report)],
        ['junit', renderJunit(report)],
        ['html', renderHtml(report)],
        ['raw', JSON.stringify(report)],
      ] as const) {
        for (const secret of secrets) expect(text.includes(secret), `${secret} in the ${format} report`).toBe(false);
        expect(text.includes('helpdesk-t'), `most of helpdesk-token in the ${format} report`).toBe(false);
      }
    } finally {
      await server.close();
    }
  });
});

describe('a credential cut short on purpose (auth.invalid) is still a credential', () => {
  it('is masked in the case message when a server quotes it back', async () => {
    const token = 'helpdesk-token-0123456789abcdef';
    // Takes any credential and quotes it in a 200: auth.invalid fails and quotes the bodies.
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ seen: req.headers.authorization }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const config: HarnessConfig = {
        server: `http://127.0.0.1:${port}`,
        basePath: '/CertificateManagement/api/v1.0',
        headers: { Authorization: `Bearer ${token}` },
        timeoutMs: 5000,
        lifecycle: false,
        cards: BROKEN_SERVER_CARDS.slice(0, 1),
        source: 'echo',
      };
      const report = await runConformance({ config, grep: /^auth\.invalid$/ });
      expect(report.results[0]!.message).toMatch(/cut short by 8 characters got 200: .*\[redacted\]/);
      const text = [renderJson(report), renderJunit(report), renderHtml(report)].join('\n');
      expect(text).not.toContain(token.slice(0, 12));
    } finally {
      server.close();
    }
  });
});

describe('diversified keys stay out of messages and stderr', () => {
  const keys = BROKEN_SERVER_CARDS.flatMap((c) =>
    c.diversifiedKey instanceof Buffer ? [c.diversifiedKey.toString('base64'), c.diversifiedKey.toString('hex')] : [],
  );
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['key-201', 'unquoted-key'] as Defect[])('%s: the case fails without quoting the key', async (defect) => {
    const server = await startBrokenServer(defect);
    try {
      const report = await runConformance({ config: server.config, grep: /^diversifiedkey\.consistent$/ });
      expect(report.results[0]!.outcome).toBe('failed');
      const text = JSON.stringify(report);
      for (const key of keys) expect(text).not.toContain(key);
    } finally {
      await server.close();
    }
  });

  it.each(['key-201', 'unquoted-key'] as Defect[])('%s: cmcard load --diversified with "server" keys fails without printing the key', async (defect) => {
    const server = await startBrokenServer(defect);
    try {
      const cards = BROKEN_SERVER_CARDS.filter((c) => c.diversifiedKey).map((c) => ({
        name: c.name,
        reqid: c.reqid,
        scid: c.scid,
        cardid: c.cardid,
        adminKey: c.adminKey.toString('hex'),
        diversifiedKey: 'server',
      }));
      const path = join(dir, `${defect}.json`);
      writeFileSync(path, JSON.stringify({ server: server.url, headers: server.config.headers, cards }));
      const r = await runCli(['load', '--config', path, '--diversified', '--concurrency', '1', '--exchanges', '1'], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/diversifiedkey endpoint answered .*body not shown/);
      for (const key of keys) expect(r.stdout + r.stderr).not.toContain(key);
    } finally {
      await server.close();
    }
  });
});

describe('cmcard unlock against a server that echoes credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-unlock-echo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints its steps with every configured credential masked', async () => {
    const secret = 'cm-auth-secret-1618';
    // Every request gets a 404 whose short body quotes the credential header, so the
    // "server response" step (which quotes the body) would show it.
    const server = createServer((req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Message: `no such card for ${String(req.headers['x-cm-auth'])}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const c = BROKEN_SERVER_CARDS[0]!;
      const path = join(dir, 'echo.json');
      writeFileSync(
        path,
        JSON.stringify({
          server: `http://127.0.0.1:${port}`,
          headers: { 'X-CM-Auth': secret },
          cards: [{ name: c.name, reqid: c.reqid, scid: c.scid, cardid: c.cardid, adminKey: c.adminKey.toString('hex') }],
        }),
      );
      const r = await runCli(['unlock', '--config', path], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/server response: HTTP 404 .*no such card for \[redacted\]/);
      expect(r.stdout + r.stderr).not.toContain(secret);
    } finally {
      server.close();
    }
  });
});
