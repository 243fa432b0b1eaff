/**
 * An honest verify-pact: a PASS stands only for an interaction Pact's verifier verified
 * (Pact's own PACT_DESCRIPTION, PACT_PROVIDER_STATE, PACT_PROVIDER_NO_STATE make it run a
 * subset), and what reaches a pipe or a NO_COLOR terminal carries no ANSI colour codes and no
 * log lines of the verifier (its report is in colour and it logs ERROR lines on failures).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedPactPath, readPact } from '../../contracts/pact-file.js';
import { verifyPact, type InteractionResult, type VerifyResult } from '../../contracts/verify.js';
import { PROVIDER_STATES_PATH, startReferenceServer, type RunningServer } from '../../reference-server/index.js';
import { BIN, runCli } from '../support/cli.js';
import { startWrongProvider } from './support/wrong-provider.js';

const total = readPact(committedPactPath()).interactions.length;
const DOCUMENTED = 'the documented example request';
const ESC = '\u001b';
/** A log line of pact-core's logger (`[07:21:20.428] ERROR (7612): ...`) or of the native core (`2026-...Z ERROR ThreadId(03) ...`). */
const LOG_LINE = /^(\[\d\d:\d\d:\d\d\.\d+\]|\d{4}-\d\d-\d\dT\S+)\s+(ERROR|WARN|INFO|DEBUG|TRACE)\b/m;

const outcomes = (r: VerifyResult): Map<string, InteractionResult> => new Map(r.results.map((x) => [x.description, x]));
const passed = (r: VerifyResult): string[] =>
  r.results
    .filter((x) => x.outcome === 'passed')
    .map((x) => x.description)
    .sort();

describe('verifyPact: PASS only for what the verifier verified', () => {
  let server: RunningServer;
  let statesUrl: string;
  beforeAll(async () => {
    server = await startReferenceServer({ port: 0, providerStates: true, quiet: true });
    statesUrl = `${server.url}${PROVIDER_STATES_PATH}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('PACT_DESCRIPTION: the one interaction it names passes; every other one is skipped as not run by the verifier', async () => {
    const r = await verifyPact({ server: server.url, statesUrl, env: { ...process.env, PACT_DESCRIPTION: DOCUMENTED } });
    expect(passed(r)).toEqual([DOCUMENTED]);
    expect(r.summary).toEqual({ passed: 1, failed: 0, skipped: total - 1 });
    for (const x of r.results.filter((y) => y.description !== DOCUMENTED))
      expect(x).toMatchObject({ outcome: 'skipped', message: 'not run by the verifier: PACT_DESCRIPTION is set' });
  });

  it('PACT_PROVIDER_STATE: only the interactions given that state pass', async () => {
    const r = await verifyPact({ server: server.url, statesUrl, env: { ...process.env, PACT_PROVIDER_STATE: 'a request' } });
    expect(passed(r)).toEqual(['a request to complete an approved request', 'a request to read an approved request']);
    expect(outcomes(r).get(DOCUMENTED)).toMatchObject({ outcome: 'skipped', message: 'not run by the verifier: PACT_PROVIDER_STATE is set' });
  });

  it('PACT_PROVIDER_NO_STATE: every interaction has a state, so nothing is verified and nothing passes', async () => {
    const r = await verifyPact({ server: server.url, statesUrl, env: { ...process.env, PACT_PROVIDER_NO_STATE: 'true' } });
    expect(r.summary).toEqual({ passed: 0, failed: 0, skipped: total });
    expect(outcomes(r).get(DOCUMENTED)?.message).toBe('not run by the verifier: PACT_PROVIDER_NO_STATE is set');
  });

  it("the verifier's report is plain text unless colour is asked for (the core does colour it), and comes per pass", async () => {
    const reports: string[] = [];
    // Both callers replaced: three passes (help desk, no rights, anonymous).
    const options = {
      server: server.url,
      statesUrl,
      headers: { Authorization: 'Bearer demo-helpdesk' },
      forbiddenHeaders: { Authorization: 'Bearer demo-user' },
    };
    const plain = await verifyPact({ ...options, onReport: (t) => reports.push(t) });
    expect(plain.summary.passed).toBe(total);
    expect(reports).toHaveLength(3);
    expect(reports.join('')).toBe(plain.report);
    expect(plain.report).toContain(`  ${DOCUMENTED} (`);
    expect(plain.report).not.toContain(ESC);
    const coloured = await verifyPact({ ...options, only: [/^the documented example request$/], colour: true });
    expect(coloured.report).toContain(`${ESC}[`);
  });

  it('a state change that fails fails its interactions, naming the state and why', async () => {
    const r = await verifyPact({ server: server.url, statesUrl: `${server.url}/no-such-state-endpoint`, only: [/^the documented example request$/] });
    expect(outcomes(r).get(DOCUMENTED)).toMatchObject({
      outcome: 'failed',
      message: expect.stringContaining('provider state "a smart card with a Base CSP admin key" could not be set up: Invalid status code: 404'),
    });
  });
});

describe("cmcard verify-pact with Pact's filter variables", () => {
  it('PACT_DESCRIPTION: exit 0, one PASS line, a SKIP line with the reason for each of the others', async () => {
    const r = await runCli(['verify-pact'], { env: { PACT_DESCRIPTION: DOCUMENTED }, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {2}PASS {2}.*$/gm)).toEqual([`  PASS  ${DOCUMENTED}`]);
    expect(r.stdout.match(/^ {2}SKIP {2}.* \(not run by the verifier: PACT_DESCRIPTION is set\)$/gm)).toHaveLength(total - 1);
    expect(r.stdout).toContain(`${total} interactions: 1 passed, 0 failed, ${total - 1} skipped`);
  });

  it('PACT_DESCRIPTION naming no interaction: nothing verified, exit 1', async () => {
    const r = await runCli(['verify-pact'], { env: { PACT_DESCRIPTION: 'no interaction is called this' }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/ PASS /);
    expect(r.stderr).toMatch(/^cmcard: nothing was verified: every interaction was skipped, so this is no pass \(Pact's own filter variables/);
  });
});

describe('cmcard verify-pact output on a pipe: no ANSI colour codes, no log lines of the verifier', () => {
  it('a passing run', async () => {
    const r = await runCli(['verify-pact'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Verifying a pact between cmcard and mim-cm'); // the verifier's report is there, uncoloured
    expect(r.stdout + r.stderr).not.toContain(ESC);
    expect(r.stdout + r.stderr).not.toMatch(LOG_LINE);
  });

  it('a failing run (a server that decrypts) and a failing state change: the failures are there, the ERROR lines are not', async () => {
    const provider = await startWrongProvider('decrypt');
    try {
      const failing = await runCli(['verify-pact', '--server', provider.url, '--states-url', provider.statesUrl], { timeoutMs: 60_000 });
      expect(failing.code).toBe(1);
      expect(failing.stdout).toContain('  FAIL  a response request for a card on a non-weak key');
      expect(failing.stdout).toContain('There were 12 pact failures');
      const noStates = await runCli(
        ['verify-pact', '--server', provider.url, '--states-url', `${provider.url}/not-the-state-endpoint`, '--only', '^the documented example request$'],
        { timeoutMs: 60_000 },
      );
      expect(noStates.code).toBe(1);
      expect(noStates.stdout).toMatch(/could not be set up: Invalid status code: 404/);
      for (const r of [failing, noStates]) {
        expect(r.stdout + r.stderr).not.toContain(ESC);
        expect(r.stdout + r.stderr).not.toMatch(LOG_LINE);
        expect(r.stdout + r.stderr).not.toMatch(/Verification unsuccessful/);
      }
    } finally {
      await provider.close();
    }
  });
});

// A terminal is needed to see colour kept where it belongs; `script` (util-linux) gives one.
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript) console.warn('verify-pact terminal colour test skipped: no `script` command (apt-get install bsdutils)');

describe.skipIf(!hasScript)('cmcard verify-pact on a terminal (needs `script`, from bsdutils: apt-get install bsdutils)', () => {
  function onTerminal(env: Record<string, string>): string {
    const command = `'${process.execPath}' '${BIN}' verify-pact --only '^the documented example request$'`;
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, PACT_DO_NOT_TRACK: 'true', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('1 passed, 0 failed');
    return r.stdout;
  }

  it("keeps the verifier's colour on a terminal, and drops it with NO_COLOR", () => {
    expect(onTerminal({})).toContain(`${ESC}[`);
    const noColour = onTerminal({ NO_COLOR: '1' });
    expect(noColour).not.toContain(ESC);
    expect(noColour).not.toMatch(LOG_LINE);
  });
});
