/**
 * `cmcard verify-pact` prints no deprecation warning. Node 22 and later warn (DEP0060) when
 * anything calls `util._extend`, as pact-js's verifier proxy (http-proxy) did; Node 20 does
 * not, under any flag. So the CLI runs here with a preload that makes `util._extend` warn
 * as Node 22+ does: the test then fails on every Node line if that path comes back.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { committedPactPath, readPact } from '../../contracts/pact-file.js';
import { runCli } from '../support/cli.js';

const total = readPact(committedPactPath()).interactions.length;
const scratch = mkdtempSync(join(tmpdir(), 'cmcard-dep-'));
const preload = join(scratch, 'warn-util-extend.cjs');
writeFileSync(
  preload,
  `const util = require('node:util');
const original = util._extend;
util._extend = function (...args) {
  process.emitWarning('The \`util._extend\` API is deprecated. Please use Object.assign() instead.', 'DeprecationWarning', 'DEP0060');
  return original.apply(this, args);
};
`,
);
const env = { NODE_OPTIONS: `--require ${preload}` };
const DEPRECATION = /DeprecationWarning|\[DEP\d{4}\]/;

describe('cmcard verify-pact prints no deprecation warning', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('the preload makes a util._extend call warn on this Node (else the checks below prove nothing)', () => {
    const r = spawnSync(process.execPath, ['-e', "require('node:util')._extend({}, { a: 1 })"], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/\[DEP0060\] DeprecationWarning/);
  });

  it('against the embedded reference server', async () => {
    const r = await runCli(['verify-pact'], { env, timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(DEPRECATION);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${total} interactions: ${total} passed, 0 failed, 0 skipped`);
  });

  it("with both callers' credentials replaced (every interaction through the swapped-header passes)", async () => {
    const r = await runCli(['verify-pact', '--header', 'Authorization: Bearer demo-helpdesk', '--forbidden-header', 'Authorization: Bearer demo-user'], {
      env,
      timeoutMs: 60_000,
    });
    expect(r.stderr).not.toMatch(DEPRECATION);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${total} interactions: ${total} passed, 0 failed, 0 skipped`);
  });
});
