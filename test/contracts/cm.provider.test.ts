/**
 * The Pact provider side: the committed pact verified against the reference server (with its
 * provider states), the skip rules, and deliberately wrong providers that must fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedPactPath, readPact } from '../../contracts/pact-file.js';
import { verifyPact, type InteractionResult, type VerifyResult } from '../../contracts/verify.js';
import { PROVIDER_STATES_PATH, startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { startWrongProvider, type Defect } from './support/wrong-provider.js';

const committed = readPact(committedPactPath());

function byDescription(result: VerifyResult): Map<string, InteractionResult> {
  return new Map(result.results.map((r) => [r.description, r]));
}

describe('the reference server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startReferenceServer({ port: 0, providerStates: true, quiet: true });
  });
  afterAll(async () => {
    await server.close();
  });

  it('honours every interaction of the committed pact', async () => {
    const result = await verifyPact({ server: server.url, statesUrl: `${server.url}${PROVIDER_STATES_PATH}` });
    const failed = result.results.filter((r) => r.outcome !== 'passed');
    expect(failed, failed.map((f) => `${f.description}: ${f.message}`).join('\n')).toEqual([]);
    expect(result.summary).toEqual({ passed: committed.interactions.length, failed: 0, skipped: 0 });
  });

  it('skips, with the reason, every interaction whose state cannot be set up without a states URL', async () => {
    const result = await verifyPact({ server: server.url });
    expect(result.summary).toEqual({ passed: 0, failed: 0, skipped: committed.interactions.length });
    for (const r of result.results) expect(r.message).toMatch(/needs provider state ".+": give a state-change URL \(--states-url\)/);
  });

  it('swaps credentials per caller, and skips the no-rights caller when only --header is given', async () => {
    const statesUrl = `${server.url}${PROVIDER_STATES_PATH}`;
    // The reference server knows the demo tokens, so the swapped-in ones must still be valid.
    const result = await verifyPact({ server: server.url, statesUrl, headers: { Authorization: 'Bearer demo-helpdesk' } });
    const results = byDescription(result);
    expect(results.get('a response request from a caller without rights')).toMatchObject({
      outcome: 'skipped',
      message: expect.stringMatching(/--forbidden-header/),
    });
    expect(result.summary).toEqual({ passed: committed.interactions.length - 1, failed: 0, skipped: 1 });

    // A helpdesk caller swapped for one without rights: every 200 interaction must now fail.
    const wrong = await verifyPact({
      server: server.url,
      statesUrl,
      headers: { Authorization: 'Bearer demo-user' },
      forbiddenHeaders: { Authorization: 'Bearer demo-user' },
    });
    const wrongResults = byDescription(wrong);
    expect(wrongResults.get('the documented example request')).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/status/i) });
    expect(wrongResults.get('a response request from a caller without rights')?.outcome).toBe('passed');
  });
});

describe('deliberately wrong providers fail verification with a readable message', () => {
  // Only the 200 answers of authenticationresponse: the wrong provider implements nothing else.
  const scratch = mkdtempSync(join(tmpdir(), 'cmcard-wrong-'));
  const pactFile = join(scratch, 'auth-200.json');
  const DOCUMENTED = 'the documented example request';
  const NON_WEAK = 'a response request for a card on a non-weak key';
  const DIVERSIFIED = 'a response request with diversified=True';
  const LOWER = 'a response request with lower-case false';
  beforeAll(() => {
    const interactions = committed.interactions.filter((i) => [DOCUMENTED, NON_WEAK, DIVERSIFIED, LOWER].includes(i.description));
    expect(interactions).toHaveLength(4);
    writeFileSync(pactFile, JSON.stringify({ ...committed, interactions }));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function verifyAgainst(defect: Defect): Promise<Map<string, InteractionResult>> {
    const provider = await startWrongProvider(defect);
    try {
      return byDescription(await verifyPact({ server: provider.url, statesUrl: provider.statesUrl, pactFile }));
    } finally {
      await provider.close();
    }
  }

  it('(the same provider without its defect passes, so the failures below are the defects)', async () => {
    const r = await verifyAgainst('none');
    expect([...r.values()].map((x) => `${x.description}: ${x.outcome} ${x.message}`)).toEqual([...r.values()].map((x) => `${x.description}: passed `));
  });

  it('a wrong key fails every answer, lower-case false included (each is pinned exactly)', async () => {
    const r = await verifyAgainst('wrong-key');
    for (const d of [DOCUMENTED, NON_WEAK, DIVERSIFIED, LOWER]) expect(r.get(d)).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/body/i) });
    expect(r.get(DOCUMENTED)?.message).toContain('F0Zudm4wPLY=');
    expect(r.get(LOWER)?.message).toContain('+UBnFRLNDf8=');
  });

  it('decrypting instead of encrypting passes the documented example (weak key) and fails the non-weak card', async () => {
    const r = await verifyAgainst('decrypt');
    expect(r.get(DOCUMENTED)?.outcome).toBe('passed');
    expect(r.get(NON_WEAK)).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/\+UBnFRLNDf8=/) });
    expect(r.get(DIVERSIFIED)?.outcome).toBe('failed');
    expect(r.get(LOWER)?.outcome).toBe('failed');
  });

  it('an unquoted body fails every answer, naming the body', async () => {
    const r = await verifyAgainst('unquoted');
    for (const d of [DOCUMENTED, NON_WEAK, DIVERSIFIED, LOWER]) expect(r.get(d)).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/body/i) });
  });

  it('text/plain fails every answer, naming the Content-Type', async () => {
    const r = await verifyAgainst('text-plain');
    for (const d of [DOCUMENTED, NON_WEAK, DIVERSIFIED, LOWER])
      expect(r.get(d)).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/content-type/i) });
  });
});
