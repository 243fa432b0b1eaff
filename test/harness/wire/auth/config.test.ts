import { describe, expect, it } from 'vitest';
import { parseAuth } from '../../../../harness/wire/auth/config.js';

class Problem extends Error {}
const fail = (path: string, problem: string): never => {
  throw new Problem(`${path} ${problem}`);
};
const parse = (value: unknown, key = 'auth') => parseAuth(value, key, fail);
const problem = (value: unknown, key = 'auth'): string => {
  try {
    parse(value, key);
  } catch (e) {
    if (e instanceof Problem) return e.message;
    throw e;
  }
  throw new Error('no problem reported');
};

describe('parseAuth: the auth block', () => {
  it('takes each type', () => {
    expect(parse({ type: 'negotiate' })).toEqual({ type: 'negotiate' });
    expect(parse({ type: 'negotiate', spn: 'HTTP/cm.contoso.com' })).toEqual({ type: 'negotiate', spn: 'HTTP/cm.contoso.com' });
    expect(parse({ type: 'ntlm', username: 'svc', password: 'p', domain: 'CONTOSO' })).toEqual({
      type: 'ntlm',
      username: 'svc',
      password: 'p',
      domain: 'CONTOSO',
    });
    expect(parse({ type: 'oauth2', tokenUrl: 'https://adfs.contoso.com/adfs/oauth2/token', clientId: 'c', clientSecret: 's', resource: 'https://cm' })).toEqual(
      {
        type: 'oauth2',
        tokenUrl: 'https://adfs.contoso.com/adfs/oauth2/token',
        clientId: 'c',
        clientSecret: 's',
        resource: 'https://cm',
      },
    );
    expect(parse({ type: 'headers', headers: { Authorization: 'Bearer x' } })).toEqual({ type: 'headers', headers: { Authorization: 'Bearer x' } });
  });

  it('reads DOMAIN\\user as the NTLM domain and user', () => {
    expect(parse({ type: 'ntlm', username: 'CONTOSO\\svc', password: 'p' })).toEqual({ type: 'ntlm', username: 'svc', password: 'p', domain: 'CONTOSO' });
    expect(problem({ type: 'ntlm', username: 'CONTOSO\\svc', password: 'p', domain: 'FABRIKAM' })).toBe(
      'auth.username names domain CONTOSO but auth.domain is FABRIKAM: give the domain once',
    );
  });

  it.each([
    [{ type: 'ntlm', username: 'svc' }, 'auth.password is required for type ntlm'],
    [{ type: 'ntlm', password: 'p' }, 'auth.username is required for type ntlm'],
    [{ type: 'oauth2', tokenUrl: 'https://a/t', clientId: 'c' }, 'auth.clientSecret is required for type oauth2'],
    [{ type: 'headers' }, 'auth.headers is required for type headers'],
    [{}, 'auth.type is missing (one of headers, negotiate, ntlm, oauth2)'],
    [{ type: 'kerberos' }, 'auth.type must be one of headers, negotiate, ntlm, oauth2, got "kerberos" (did you mean negotiate?)'],
    [{ type: 'NTLM', username: 'u', password: 'p' }, 'auth.type must be one of headers, negotiate, ntlm, oauth2, got "NTLM" (did you mean ntlm?)'],
    ['negotiate', 'auth must be an object with a "type" (headers, negotiate, ntlm, oauth2), got "negotiate"'],
    [{ type: 'negotiate', username: 'u' }, 'auth.username is not a key of type negotiate (it belongs to type ntlm)'],
    [{ type: 'ntlm', userName: 'u', password: 'p' }, 'auth.userName is not a key of type ntlm (did you mean username?)'],
    [
      { type: 'negotiate', spn: 'HTTP@cm.contoso.com' },
      'auth.spn must be a service principal name like HTTP/cm.contoso.com (service/host, no realm), got "HTTP@cm.contoso.com"',
    ],
    [
      { type: 'negotiate', spn: 'HTTP/cm.contoso.com@CONTOSO.COM' },
      'auth.spn must be a service principal name like HTTP/cm.contoso.com (service/host, no realm), got a 31-character string',
    ],
    [
      { type: 'oauth2', tokenUrl: 'adfs/token', clientId: 'c', clientSecret: 's' },
      'auth.tokenUrl must be an absolute http(s) URL like https://adfs.contoso.com/adfs/oauth2/token, got "adfs/token"',
    ],
    [{ type: 'oauth2', tokenUrl: 'ftp://adfs/token', clientId: 'c', clientSecret: 's' }, 'auth.tokenUrl must be an http(s) URL, got ftp:'],
    [{ type: 'headers', headers: { 'Bad Name': 'x' } }, 'auth.headers has an invalid header name "Bad Name"'],
    [{ type: 'ntlm', username: '', password: 'p' }, 'auth.username must not be empty'],
  ])('%j -> %s', (value, message) => {
    expect(problem(value)).toBe(message);
  });

  it('names the key it was given (forbiddenAuth)', () => {
    expect(problem({ type: 'ntlm', username: 'u' }, 'forbiddenAuth')).toBe('forbiddenAuth.password is required for type ntlm');
  });

  it('never repeats a secret value in a message', () => {
    const secret = 'Sup3r-S3cret-Passw0rd!';
    expect(problem({ type: 'ntlm', username: 'u', password: 42 })).toBe('auth.password must be a string, got number');
    expect(problem({ type: 'oauth2', tokenUrl: 'https://a/t', clientId: 'c', clientSecret: `${secret}\n` })).not.toContain(secret);
    expect(problem({ type: 'headers', headers: { Authorization: 7 } })).not.toContain('7');
  });
});
