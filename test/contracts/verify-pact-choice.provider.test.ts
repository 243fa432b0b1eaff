/**
 * Choosing what `cmcard verify-pact` verifies (the built bin): --only/--skip by description,
 * --only-tag/--skip-tag (the pact tags the request lifecycle), and --documented-example, which
 * verifies a server without a state endpoint that holds the documented example card, as
 * `cmcard serve` without --provider-states does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedPactPath, readPact } from '../../contracts/pact-file.js';
import { runCli, type CliResult } from '../support/cli.js';
import { startServe, type Served } from './support/serve.js';
import { startWrongProvider } from './support/wrong-provider.js';

const total = readPact(committedPactPath()).interactions.length;
const LIFECYCLE = [
  'a request to complete an approved request',
  'a request to create an Unblock request for a smart card',
  'a request to read an approved request',
];
// The interactions built on the documented example card (request a9b4b42c-...).
const ON_THE_DOCUMENTED_EXAMPLE = [
  'a response request from a caller without rights',
  'a response request with diversified=True',
  'a response request without credentials',
  'the documented diversified key request',
  'the documented example request',
];

/** description -> the whole line after the label, per label. */
function lines(r: CliResult, label: 'PASS' | 'FAIL' | 'SKIP'): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of r.stdout.matchAll(new RegExp(`^ {2}${label} {2}(.*)$`, 'gm'))) {
    const text = m[1]!;
    const description = label === 'SKIP' ? text.replace(/ \(.*\)$/, '') : text;
    found.set(description, text);
  }
  return found;
}
const sorted = (m: Map<string, string>): string[] => [...m.keys()].sort();

describe('cmcard verify-pact --only, --skip, --only-tag, --skip-tag (embedded reference server)', () => {
  it('--skip-tag lifecycle verifies all but the three lifecycle interactions, which are SKIP as not chosen', async () => {
    const r = await runCli(['verify-pact', '--skip-tag', 'lifecycle'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(lines(r, 'PASS').size).toBe(total - 3);
    expect(sorted(lines(r, 'SKIP'))).toEqual(LIFECYCLE);
    for (const text of lines(r, 'SKIP').values()) expect(text).toMatch(/\(not chosen: tagged lifecycle \(--skip-tag lifecycle\)\)$/);
  });

  it('--only-tag lifecycle verifies only them', async () => {
    const r = await runCli(['verify-pact', '--only-tag', 'lifecycle'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(sorted(lines(r, 'PASS'))).toEqual(LIFECYCLE);
  });

  it('--only (repeatable, any, case-insensitive) then --skip', async () => {
    const r = await runCli(['verify-pact', '--only', 'DIVERSIFIED', '--only', 'documented example', '--skip', 'key request'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(sorted(lines(r, 'PASS'))).toEqual(['a response request with diversified=True', 'the documented example request']);
    expect(lines(r, 'SKIP').get('the documented diversified key request')).toMatch(/\(not chosen: --skip 'key request' matches its description\)$/);
    expect(lines(r, 'SKIP').get('a response request without credentials')).toMatch(/\(not chosen: no --only pattern matches its description\)$/);
    expect(r.stdout).toContain(`${total} interactions: 2 passed, 0 failed, ${total - 2} skipped`);
  });

  it.each([
    [['--only', '('], /^cmcard: --only '\(' is not a valid regular expression/],
    [['--skip', 'no such interaction'], /^cmcard: --skip 'no such interaction' matches no interaction description of the pact$/],
    [['--skip-tag', 'lifecylce'], /^cmcard: --skip-tag 'lifecylce' is not a tag of the pact \(its tags: lifecycle\)$/],
    [['--documented-example'], /^cmcard: --documented-example needs --server or --config/],
    [
      ['--server', 'http://127.0.0.1:1', '--states-url', 'http://127.0.0.1:1/s', '--documented-example'],
      /^cmcard: --documented-example is for a server without a state-change URL/,
    ],
  ])('exits 2 with one line on %j', async (args, message) => {
    const r = await runCli(['verify-pact', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('a server without a state endpoint that holds the documented example (cmcard serve, no --provider-states)', () => {
  let served: Served;
  beforeAll(async () => {
    served = await startServe([]);
  });
  afterAll(async () => {
    await served?.stop();
  });

  it('--documented-example verifies the interactions on the documented example card and skips the rest with the reason', async () => {
    const r = await runCli(['verify-pact', '--server', served.url, '--documented-example'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sorted(lines(r, 'PASS'))).toEqual(ON_THE_DOCUMENTED_EXAMPLE);
    const skipped = lines(r, 'SKIP');
    expect(skipped.size).toBe(total - ON_THE_DOCUMENTED_EXAMPLE.length);
    expect(skipped.get('a response request for a card on a non-weak key')).toMatch(
      /\(needs provider state "a smart card with a Base CSP admin key", which the documented example does not provide: give a state-change URL \(--states-url\)\)$/,
    );
    expect(skipped.get('a request to read an approved request')).toMatch(/\(needs provider state "a request", which the documented example does not provide/);
  });

  it('with --skip-tag lifecycle too: the lifecycle ones say they were not chosen', async () => {
    const r = await runCli(['verify-pact', '--server', served.url, '--documented-example', '--skip-tag', 'lifecycle'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(sorted(lines(r, 'PASS'))).toEqual(ON_THE_DOCUMENTED_EXAMPLE);
    expect(lines(r, 'SKIP').get(LIFECYCLE[0]!)).toMatch(/\(not chosen: tagged lifecycle/);
  });

  it('without --documented-example nothing is verified (exit 1), and the documented-example interactions say how to run them', async () => {
    const r = await runCli(['verify-pact', '--server', served.url], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(lines(r, 'PASS').size).toBe(0);
    expect(lines(r, 'SKIP').get('the documented example request')).toMatch(/or --documented-example if the server holds the documented example card\)$/);
    expect(r.stderr).toMatch(/^cmcard: nothing was verified: .*--documented-example/);
  });
});

describe('--documented-example is a claim the verifier checks, not a pass', () => {
  it('a server without the documented example card fails those interactions (exit 1)', async () => {
    // Without its state endpoint being called, this provider holds no card at all.
    const provider = await startWrongProvider('none');
    try {
      const r = await runCli(['verify-pact', '--server', provider.url, '--documented-example', '--only', '^the documented example request$'], {
        timeoutMs: 60_000,
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/ {2}FAIL {2}the documented example request\n(?: {10}.*\n)*? {10}status: expected 200 but was 404\n/);
    } finally {
      await provider.close();
    }
  });
});
