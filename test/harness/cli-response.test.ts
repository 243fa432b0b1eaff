import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('cmcard response (the help-desk calculator)', () => {
  it('answers the documented example', async () => {
    const r = await runCli(['response', '--key', '00'.repeat(24), '--challenge', '1hFD+cz/0so=']);
    expect(r).toMatchObject({ code: 0, stdout: 'F0Zudm4wPLY=\n', stderr: '' });
  });
  it('reads the Windows unblock screen and prints in its format', async () => {
    const r = await runCli(['response', '--key', '0102030405060708'.repeat(3), '--challenge', '1603 EBDF 1C8A 2E72', '--format', 'hex']);
    expect(r.stdout).toBe('F940 6715 12CD 0DFF\n');
  });
  it('refuses a single-DES key with exit 2 and one line', async () => {
    const r = await runCli(['response', '--key', '0102030405060708', '--challenge', '1hFD+cz/0so=']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--key must be 48 or 32 hex digits \(or base64 of 24 or 16 bytes\), got 16 hex digits/);
  });
  it('refuses a challenge that is not whole blocks', async () => {
    const r = await runCli(['response', '--key', '00'.repeat(24), '--challenge', '01020304050607']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/8-byte blocks, got 7 bytes/);
  });
  it('exits 2 on a usage error', async () => {
    const r = await runCli(['response', '--key', '00'.repeat(24)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--challenge/);
  });
});
