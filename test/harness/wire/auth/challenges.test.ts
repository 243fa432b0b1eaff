import { describe, expect, it } from 'vitest';
import { findChallenge, offeredSchemes, parseChallenges } from '../../../../harness/wire/auth/challenges.js';
import { createHeadersAuthenticator, withHeaders } from '../../../../harness/wire/auth/headers.js';

describe('WWW-Authenticate challenges (RFC 9110 section 11.6.1)', () => {
  it('reads one challenge per header, as IIS sends them', () => {
    expect(parseChallenges(['Negotiate', 'NTLM'])).toEqual([
      { scheme: 'Negotiate', params: {} },
      { scheme: 'NTLM', params: {} },
    ]);
  });
  it('reads several challenges in one header', () => {
    expect(offeredSchemes(parseChallenges(['Negotiate, NTLM, Basic realm="cm"']))).toEqual(['Negotiate', 'NTLM', 'Basic']);
  });
  it('keeps a token68 blob, padding included', () => {
    const c = parseChallenges(['Negotiate oRswGaADCgEAoxIEEAEAAABl9lNZxnt2oAAAAAA=']);
    expect(c).toEqual([{ scheme: 'Negotiate', token: 'oRswGaADCgEAoxIEEAEAAABl9lNZxnt2oAAAAAA=', params: {} }]);
  });
  it('reads auth-params, quoted and bare, with commas inside quotes, then the next challenge', () => {
    const c = parseChallenges(['Bearer realm="Certificate, Management", error=invalid_token, error_description="expired \\"now\\"", NTLM']);
    expect(c).toEqual([
      { scheme: 'Bearer', params: { realm: 'Certificate, Management', error: 'invalid_token', error_description: 'expired "now"' } },
      { scheme: 'NTLM', params: {} },
    ]);
  });
  it('finds a scheme case-insensitively', () => {
    expect(findChallenge(parseChallenges(['negotiate abc=']), 'Negotiate')?.token).toBe('abc=');
    expect(findChallenge(parseChallenges(['Basic realm="x"']), 'Negotiate')).toBeUndefined();
  });
  it('lists each scheme once', () => {
    expect(offeredSchemes(parseChallenges(['Negotiate', 'negotiate', 'NTLM']))).toEqual(['Negotiate', 'NTLM']);
  });
});

describe('fixed headers', () => {
  it('replaces a header of the same name whatever its case, and reports every value as a secret', async () => {
    const secrets: string[] = [];
    const auth = createHeadersAuthenticator({ Authorization: 'Bearer t0ken', 'X-Api-Key': 'k3y' }, { onSecret: (s) => secrets.push(s) });
    let seen: Record<string, string> = {};
    await auth.send({ method: 'GET', path: '/', headers: { authorization: 'old', Accept: 'x' } }, async (req) => {
      seen = req.headers;
      return { status: 200, headers: {}, multi: {}, body: '' };
    });
    expect(seen).toEqual({ Accept: 'x', Authorization: 'Bearer t0ken', 'X-Api-Key': 'k3y' });
    expect(secrets.sort()).toEqual(['Bearer t0ken', 'k3y']);
    expect(auth.binding).toBe('request');
  });
  it('withHeaders leaves the base untouched', () => {
    const base = { A: '1' };
    expect(withHeaders(base, { a: '2' })).toEqual({ a: '2' });
    expect(base).toEqual({ A: '1' });
  });
});
