import { describe, expect, it } from 'vitest';
import { diagnose, type ProbeFacts } from '../../../../harness/wire/auth/diagnose.js';
import { AuthFailure, type AuthConfig } from '../../../../harness/wire/auth/types.js';

const SECRET = 'Pa55-w0rd-not-shown';
const NTLM: AuthConfig = { type: 'ntlm', username: 'svc-cm', password: SECRET, domain: 'CONTOSO' };
const NEGOTIATE: AuthConfig = { type: 'negotiate' };
const OAUTH2: AuthConfig = {
  type: 'oauth2',
  tokenUrl: 'https://adfs.contoso.com/adfs/oauth2/token',
  clientId: 'cmcard',
  clientSecret: SECRET,
  resource: 'https://cm',
};
const BEARER_HEADERS: AuthConfig = { type: 'headers', headers: { Authorization: `Bearer ${SECRET}` } };
const NO_HEADERS: AuthConfig = { type: 'headers', headers: {} };
const PROBE = 'GET /CertificateManagement/api/v1.0/requests/x';

const facts = (auth: AuthConfig, answers: ProbeFacts['answers'], over: Partial<ProbeFacts> = {}): ProbeFacts => ({
  server: 'https://cm.contoso.com',
  basePath: '/CertificateManagement/api/v1.0',
  auth,
  key: 'auth',
  answers,
  handshakeCompleted: false,
  ...over,
});

describe('the first minute: one line for what is wrong', () => {
  const table: Array<[string, ProbeFacts, RegExp | null]> = [
    [
      'IIS asks for Windows auth, config sends a bearer token',
      facts(BEARER_HEADERS, [{ request: PROBE, status: 401, wwwAuthenticate: ['Negotiate', 'NTLM'] }], { key: 'headers' }),
      /^the server asks for Negotiate, NTLM \(WWW-Authenticate on GET \/CertificateManagement\/api\/v1.0\/requests\/x\) but headers sends fixed headers \(Authorization: Bearer\): write "auth": \{"type": "negotiate"\}.* or \{"type": "ntlm", .*\}$/,
    ],
    [
      'IIS asks for Windows auth, config is oauth2',
      facts(OAUTH2, [{ status: 401, wwwAuthenticate: ['Negotiate', 'NTLM'] }]),
      /^the server asks for Negotiate, NTLM \(WWW-Authenticate\) but auth is type oauth2: write "auth": \{"type": "negotiate"\}/,
    ],
    [
      'ADFS-protected API asks for Bearer, config does NTLM',
      facts(NTLM, [{ status: 401, wwwAuthenticate: ['Bearer realm="cm"'] }]),
      /^the server asks for Bearer \(WWW-Authenticate\) but auth is type ntlm: write "auth": \{"type": "oauth2", "tokenUrl": .*"clientSecret": "\$\{CM_CLIENT_SECRET\}"/,
    ],
    [
      'server offers only NTLM, config is negotiate',
      facts(NEGOTIATE, [{ status: 401, wwwAuthenticate: ['NTLM'] }]),
      /^the server asks for NTLM \(WWW-Authenticate\) but auth is type negotiate: write "auth": \{"type": "ntlm"/,
    ],
    [
      'server offers Negotiate only, config does NTLM (it wraps): no mismatch, handshake incomplete -> nothing to say',
      facts(NTLM, [{ status: 401, wwwAuthenticate: ['Negotiate'] }]),
      null,
    ],
    [
      'server offers a scheme cmcard does not speak',
      facts(NTLM, [{ status: 401, wwwAuthenticate: ['Digest realm="cm", nonce="x"'] }]),
      /^the server asks for Digest \(WWW-Authenticate\) but auth is type ntlm: cmcard does not speak Digest$/,
    ],
    [
      'NTLM credentials refused after the full handshake',
      facts(NTLM, [{ status: 401, wwwAuthenticate: ['Negotiate', 'NTLM'] }], { handshakeCompleted: true }),
      /^the server refused the NTLM credentials of auth \(401 after a complete NTLM handshake\): check auth.username, auth.password and auth.domain/,
    ],
    [
      'Kerberos ticket refused',
      facts(NEGOTIATE, [{ status: 401, wwwAuthenticate: ['Negotiate'] }], { handshakeCompleted: true, key: 'forbiddenAuth' }),
      /^the server refused the Kerberos ticket of forbiddenAuth \(401 after a complete Negotiate handshake\)/,
    ],
    [
      'fresh bearer token refused',
      facts(OAUTH2, [{ status: 401, wwwAuthenticate: ['Bearer error="invalid_token"'] }], { handshakeCompleted: true }),
      /^the server refused the OAuth 2 access token of auth \(401 with a freshly fetched token\): check that auth.resource or auth.scope/,
    ],
    [
      'fixed bearer header refused',
      facts(BEARER_HEADERS, [{ status: 401, wwwAuthenticate: ['Bearer error="invalid_token"'] }], { key: 'headers' }),
      /^the server refused the credentials in headers \(401\)/,
    ],
    [
      'no credentials configured at all, server sends 401 without a challenge',
      facts(NO_HEADERS, [{ status: 401 }], { key: 'headers' }),
      /^the server answered 401 and the config sends no credentials: add an "auth" block/,
    ],
    [
      'a no-credentials failure from the mechanism',
      facts(NEGOTIATE, [], { failure: new AuthFailure('no-credentials', 'negotiate: no Kerberos credentials for the current user (x): run kinit') }),
      /^auth: negotiate: no Kerberos credentials for the current user \(x\): run kinit$/,
    ],
    [
      'every endpoint 404',
      facts(NTLM, [{ status: 404 }, { status: 404 }, { status: 404 }]),
      /^every endpoint answered 404 under https:\/\/cm.contoso.com\/CertificateManagement\/api\/v1.0: either basePath is wrong .* or the CM REST API is not enabled .*Clm.WebApi.Enabled/,
    ],
    ['some 404s are just unknown ids: nothing to say', facts(NTLM, [{ status: 404 }, { status: 200 }]), null],
    [
      'ADFS sign-in redirect',
      facts(NEGOTIATE, [{ request: PROBE, status: 302, location: 'https://adfs.contoso.com/adfs/ls/?wa=wsignin1.0&wctx=secret-state' }]),
      /^the server redirects to a login page \(https:\/\/adfs.contoso.com\/adfs\/ls\/\) on GET .*: it wants an interactive login \(ADFS or forms sign-in\), which cmcard cannot do; .*"type": "oauth2"/,
    ],
    [
      'forms login redirect, relative Location',
      facts(NTLM, [{ status: 302, location: '/Account/Login?ReturnUrl=%2FCertificateManagement' }]),
      /^the server redirects to a login page \(https:\/\/cm.contoso.com\/Account\/Login\)/,
    ],
    [
      'http to https redirect',
      facts(NTLM, [{ status: 301, location: 'https://cm.contoso.com/CertificateManagement/api/v1.0/requests/x' }], { server: 'http://cm.contoso.com' }),
      /^the server redirects to https \(.*\): set server to https:\/\/cm.contoso.com$/,
    ],
    ['all fine', facts(NTLM, [{ status: 200 }], { handshakeCompleted: true }), null],
  ];

  it.each(table)('%s', (_name, input, expected) => {
    const line = diagnose(input);
    if (expected === null) {
      expect(line).toBeNull();
      return;
    }
    expect(line).toMatch(expected);
    expect(line).not.toContain('\n');
    expect(line).not.toContain(SECRET);
    expect(line).not.toContain('secret-state');
  });
});
