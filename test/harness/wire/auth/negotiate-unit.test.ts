/**
 * Negotiate's own logic with a stand-in for the GSSAPI addon: what it does with the
 * server's answers (mutual authentication, continuation, refusal) and how it names errors.
 * The same paths against a real KDC are in negotiate.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  classifyGssError,
  createNegotiateAuthenticator,
  defaultSpn,
  gssServiceName,
  loadKerberos,
  type KerberosClientLike,
  type KerberosModule,
} from '../../../../harness/wire/auth/negotiate.js';
import { AuthFailure, type ConnectionSend, type WireRequest, type WireResponse } from '../../../../harness/wire/auth/types.js';

/** A client whose context completes only when stepped with `good` (the server's genuine reply token). */
function fakeKerberos(opts: { continuation?: boolean } = {}): KerberosModule & { services: string[] } {
  const services: string[] = [];
  return {
    services,
    GSS_MECH_OID_SPNEGO: 6,
    GSS_C_MUTUAL_FLAG: 2,
    GSS_C_SEQUENCE_FLAG: 8,
    async initializeClient(service) {
      services.push(service);
      const client: KerberosClientLike = {
        contextComplete: false,
        async step(challenge) {
          if (challenge === '') return 'Y2xpZW50LXRva2Vu';
          if (opts.continuation && challenge === 'more') return 'c2Vjb25kLWxlZw==';
          if (challenge === 'good') {
            client.contextComplete = true;
            return '';
          }
          throw new Error('Invalid token was supplied: Success');
        },
      };
      return client;
    },
  };
}

function answer(status: number, wwwAuthenticate: string[] = []): WireResponse {
  return { status, headers: {}, multi: wwwAuthenticate.length ? { 'www-authenticate': wwwAuthenticate } : {}, body: '' };
}

function scripted(answers: WireResponse[]): ConnectionSend & { sent: WireRequest[] } {
  const sent: WireRequest[] = [];
  const send = (async (req: WireRequest) => {
    sent.push(req);
    const next = answers.shift();
    if (!next) throw new Error('no more scripted answers');
    return next;
  }) as ConnectionSend & { sent: WireRequest[] };
  send.sent = sent;
  return send;
}

const REQ: WireRequest = { method: 'GET', path: '/x', headers: { Accept: 'application/json' } };
const CTX = { server: 'https://cm.contoso.com:8443' };

describe('negotiate with a stand-in addon', () => {
  it('sends Negotiate with the SPNEGO token for HTTP@host, verifies the reply token, returns the answer', async () => {
    const k = fakeKerberos();
    const auth = createNegotiateAuthenticator({}, CTX, { load: async () => k });
    const send = scripted([answer(200, ['Negotiate good'])]);
    const res = await auth.send(REQ, send);
    expect(res.status).toBe(200);
    expect(k.services).toEqual(['HTTP@cm.contoso.com']);
    expect(send.sent[0]!.headers).toEqual({ Accept: 'application/json', Authorization: 'Negotiate Y2xpZW50LXRva2Vu' });
  });

  it('a reply token that does not verify: mutual-auth, even on a 200', async () => {
    const auth = createNegotiateAuthenticator({}, CTX, { load: async () => fakeKerberos() });
    const err = await auth.send(REQ, scripted([answer(200, ['Negotiate dGFtcGVyZWQ='])])).catch((e: unknown) => e);
    expect((err as AuthFailure).kind).toBe('mutual-auth');
    expect((err as AuthFailure).message).toContain('HTTP/cm.contoso.com');
  });

  it('no reply token at all: mutual-auth (the server proved nothing)', async () => {
    const auth = createNegotiateAuthenticator({}, CTX, { load: async () => fakeKerberos() });
    const err = await auth.send(REQ, scripted([answer(404)])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthFailure);
    expect((err as AuthFailure).kind).toBe('mutual-auth');
  });

  it('a 401 without a continuation token is the server refusing: returned, not thrown', async () => {
    const auth = createNegotiateAuthenticator({}, CTX, { load: async () => fakeKerberos() });
    const send = scripted([answer(401, ['Negotiate', 'NTLM'])]);
    expect((await auth.send(REQ, send)).status).toBe(401);
    expect(send.sent).toHaveLength(1);
  });

  it('a 401 with a continuation token runs the next leg on the same send', async () => {
    const auth = createNegotiateAuthenticator({}, CTX, { load: async () => fakeKerberos({ continuation: true }) });
    const send = scripted([answer(401, ['Negotiate more']), answer(200, ['Negotiate good'])]);
    expect((await auth.send(REQ, send)).status).toBe(200);
    expect(send.sent.map((r) => r.headers.Authorization)).toEqual(['Negotiate Y2xpZW50LXRva2Vu', 'Negotiate c2Vjb25kLWxlZw==']);
  });

  it('uses the configured spn', async () => {
    const k = fakeKerberos();
    await createNegotiateAuthenticator({ spn: 'HTTP/cmweb.contoso.com' }, CTX, { load: async () => k }).send(REQ, scripted([answer(200, ['Negotiate good'])]));
    expect(k.services).toEqual(['HTTP@cmweb.contoso.com']);
  });

  it('a missing addon: missing-addon naming the install step, once per use', async () => {
    const err = await loadKerberos('cmcard-no-such-kerberos-addon').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthFailure);
    expect((err as AuthFailure).kind).toBe('missing-addon');
    expect((err as AuthFailure).message).toMatch(/is not installed: npm install kerberos .*libkrb5-dev g\+\+/);
    expect((err as AuthFailure).message).not.toContain('\n');
  });
});

describe('negotiate names', () => {
  it('defaults the SPN to HTTP/<host of the server>, without port or IPv6 brackets', () => {
    expect(defaultSpn('https://cm.contoso.com')).toBe('HTTP/cm.contoso.com');
    expect(defaultSpn('http://cm.contoso.com:8080')).toBe('HTTP/cm.contoso.com');
    expect(defaultSpn('http://[::1]:8080')).toBe('HTTP/::1');
  });
  it('turns the SPN into GSSAPI host-based service form', () => {
    expect(gssServiceName('HTTP/cm.contoso.com')).toBe('HTTP@cm.contoso.com');
  });
});

describe('GSSAPI and SSPI errors, classified', () => {
  const cases: Array<[string, string]> = [
    ['Unspecified GSS failure.  Minor code may provide more information: Server HTTP/x@R not found in Kerberos database', 'unknown-spn'],
    ['SEC_E_TARGET_UNKNOWN: The specified target is unknown or unreachable', 'unknown-spn'],
    ['No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_0)', 'no-credentials'],
    ['No credentials were supplied, or the credentials were unavailable or inaccessible: SPNEGO cannot find mechanisms to negotiate', 'no-credentials'],
    ['SEC_E_NO_CREDENTIALS: No credentials are available in the security package', 'no-credentials'],
    ['The referenced context has expired: Ticket expired', 'no-credentials'],
    ['Cannot contact any KDC for realm CONTOSO.COM', 'no-credentials'],
    ['Some other failure', 'handshake'],
  ];
  it.each(cases)('%s -> %s', (message, kind) => {
    const failure = classifyGssError(new Error(message), 'HTTP/x');
    expect(failure.kind).toBe(kind);
    expect(failure.message).not.toMatch(/Unspecified GSS failure/);
  });
});
