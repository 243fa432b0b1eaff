/**
 * The one redaction policy against a server that echoes every secret it knows, in every
 * encoding, whole and cut at every offset: no report format (console, JSON, JUnit, HTML)
 * and no `unlock` line may carry a credential or a key, whole or as a long piece.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type HarnessConfig } from '../../harness/config.js';
import type { RunReport } from '../../harness/events.js';
import { REDACTED, Redactor } from '../../harness/redact.js';
import { consoleReporter } from '../../harness/reporters/console.js';
import { renderHtml } from '../../harness/reporters/html.js';
import { renderJson } from '../../harness/reporters/json.js';
import { renderJunit } from '../../harness/reporters/junit.js';
import { runConformance } from '../../harness/runner.js';
import { runCli } from '../support/cli.js';

const TOKEN = 'tok-9f3c2a71b4e8d05c6a1f7e2b93d4c8a';
const FORBIDDEN_TOKEN = 'nope-51d7e2a9c3b8f04e6d2a1c9b7e5f3a8';
const API_KEY = 'apim-7c1e9b3d5f2a4c6e8b0d1f3a5c7e9b2';
// Two non-weak 3-key keys (not DES weak or semi-weak), as a real card would hold.
const ADMIN_KEY = Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex');
const DIVERSIFIED_KEY = Buffer.from('7ca110454a1a6e570131d9619dc1376e5d1d5bd8a7f0c4f3', 'hex');
const CARD = {
  name: 'c',
  reqid: '0a9e0c7f-0000-4000-8000-0000000000a1',
  scid: '0a9e0c7f-0000-4000-8000-0000000000b1',
  cardid: '0a9e0c7f-0000-4000-8000-0000000000c1',
};

/** Every form a server might echo a secret in. */
function forms(): string[] {
  const out: string[] = [];
  for (const s of [TOKEN, `Bearer ${TOKEN}`, FORBIDDEN_TOKEN, API_KEY]) {
    out.push(s, encodeURIComponent(s), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url'));
  }
  for (const k of [ADMIN_KEY, DIVERSIFIED_KEY]) {
    const hex = k.toString('hex');
    out.push(
      hex,
      hex.toUpperCase(),
      hex.match(/../g)!.join(' '),
      hex.match(/../g)!.join(':').toUpperCase(),
      hex.match(/.{8}/g)!.join(' '),
      k.toString('base64'),
      k.toString('base64url'),
    );
  }
  return out;
}

/** The raw secrets whose pieces must not show: credentials, and keys as lower-case hex and base64. */
const RAW = [
  TOKEN,
  FORBIDDEN_TOKEN,
  API_KEY,
  ADMIN_KEY.toString('hex'),
  DIVERSIFIED_KEY.toString('hex'),
  ADMIN_KEY.toString('base64'),
  DIVERSIFIED_KEY.toString('base64'),
];
/** The longest piece of a secret that may remain visible next to a cut. */
const MAX_PIECE = 5;

function leaks(text: string): string[] {
  const found: string[] = [];
  const lower = text.toLowerCase().replace(/[\s:]/g, '');
  for (const s of RAW) {
    for (let len = s.length; len > MAX_PIECE; len--) {
      const hit = [...Array(s.length - len + 1).keys()]
        .map((i) => s.slice(i, i + len))
        .find((piece) => text.includes(piece) || (/^[0-9a-f]+$/.test(piece) && lower.includes(piece)));
      if (hit) {
        found.push(`${hit} (of ${s.slice(0, 6)}...)`);
        break;
      }
    }
  }
  return found;
}

let server: ReturnType<typeof createServer>;
let url = '';
let count = 0;

beforeAll(async () => {
  // Every answer is an error whose body quotes every form of every secret after a padding
  // that grows by one per request, so the harness cuts them at every offset.
  server = createServer((req, res) => {
    req.resume();
    const pad = 'x'.repeat(count++ % 90);
    const body = JSON.stringify({ Message: `${pad} ${forms().join(' | ')}`, Echo: req.headers.authorization ?? '' });
    res.writeHead(count % 3 === 0 ? 500 : 400, { 'content-type': 'application/json', 'x-echo': `${TOKEN} ${ADMIN_KEY.toString('hex')}` });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function config(): HarnessConfig {
  return parseConfig(
    {
      server: url,
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Api-Key': API_KEY },
      forbiddenHeaders: { Authorization: `Bearer ${FORBIDDEN_TOKEN}` },
      timeoutMs: 2000,
      cards: [{ ...CARD, adminKey: ADMIN_KEY.toString('hex'), diversifiedKey: DIVERSIFIED_KEY.toString('hex') }],
    },
    'matrix config',
  );
}

describe('redaction matrix: every secret, every encoding, cut at every offset', () => {
  it('the server really echoes them (the check can fail)', () => {
    const sample = forms().join(' ');
    expect(leaks(sample).length).toBeGreaterThanOrEqual(RAW.length);
  });

  it('no report format carries a credential or a key, whole or in pieces', async () => {
    let consoleText = '';
    const stream = { write: (t: string) => ((consoleText += t), true) };
    const report: RunReport = await runConformance({
      config: config(),
      reporter: consoleReporter({ stream, tty: false, color: false }),
      caseTimeoutMs: 20_000,
    });
    expect(report.results.length).toBeGreaterThan(10);
    // The echo reached the harness and was masked, not dropped: the JSON report quotes an
    // echoed body whole, each form of each secret in it replaced where it stood.
    expect(renderJson(report)).toContain(
      forms()
        .map(() => REDACTED)
        .join(' | '),
    );
    for (const [format, text] of [
      ['console', consoleText],
      ['json', renderJson(report)],
      ['junit', renderJunit(report)],
      ['html', renderHtml(report)],
    ] as const) {
      expect(leaks(text), `${format} report`).toEqual([]);
    }
  }, 120_000);

  it('cmcard unlock prints no secret in its steps or its failure line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cmcard-matrix-'));
    try {
      const path = join(dir, 'cm.json');
      writeFileSync(
        path,
        JSON.stringify({
          server: url,
          headers: { Authorization: `Bearer ${TOKEN}`, 'X-Api-Key': API_KEY },
          forbiddenHeaders: { Authorization: `Bearer ${FORBIDDEN_TOKEN}` },
          cards: [{ ...CARD, adminKey: ADMIN_KEY.toString('hex'), diversifiedKey: DIVERSIFIED_KEY.toString('hex') }],
        }),
      );
      const r = await runCli(['unlock', '--config', path], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(leaks(r.stdout + r.stderr)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('Redactor.cut: redact first, then cut', () => {
  const r = new Redactor([TOKEN]).addKeys([ADMIN_KEY]);
  it.each([...Array(TOKEN.length + 1).keys()])('a token cut after %i of its characters never shows a long piece', (at) => {
    const text = `pad ${TOKEN} tail`;
    const max = 4 + at + 3;
    expect(leaks(r.cut(text, max))).toEqual([]);
    // And text that was cut elsewhere first (the harness quoting a body at 80 characters).
    const pre = `${`pad ${TOKEN} tail`.slice(0, 4 + at)}...`;
    expect(leaks(r.text(pre))).toEqual([]);
  });
  it('keeps what is not a secret', () => {
    expect(r.cut('HTTP 400: challenge is not base64', 200)).toBe('HTTP 400: challenge is not base64');
  });
});
