/**
 * NTLMv2 against a strict real acceptor: Apache mod_auth_gssapi with gss-ntlmssp (it
 * refuses NEGOTIATE messages without the Version field, which IIS tolerates), in front of
 * the reference server. Skipped, with the install line, where the packages are missing.
 */
import * as codec from 'httpntlm/ntlm.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, startReferenceServer, type RunningServer } from '../../../../reference-server/index.js';
import { chooseNtlmScheme, createNtlmAuthenticator, readChallenge } from '../../../../harness/wire/auth/ntlm.js';
import { parseChallenges } from '../../../../harness/wire/auth/challenges.js';
import { AuthFailure, type ConnectionSend } from '../../../../harness/wire/auth/types.js';
import { announceSkip, NTLM_DOMAIN, startTestBed, WHOAMI_PATH, wiaSkipReason, type TestBed } from '../../../support/wia/testbed.js';
import { openConnection } from './support/connection.js';

describe('the NTLM codec and scheme choice', () => {
  it('computes the NT hash with its own MD4 (MS-NLMP 4.2.2.1.2: NTOWFv1("Password"))', () => {
    // Node's OpenSSL 3 refuses MD4; the codec must not need it.
    const ntlm = codec as unknown as { create_NT_hashed_password(p: string): Buffer };
    expect(ntlm.create_NT_hashed_password('Password').toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });

  it('writes a 40-byte NEGOTIATE message with the Version field (strict servers refuse shorter ones)', () => {
    const raw = Buffer.from(codec.createType1Message({ domain: 'CMCARD' }).replace(/^NTLM /, ''), 'base64');
    expect(raw.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(raw.readUInt32LE(8)).toBe(1);
    expect(raw.readUInt32LE(12) & 0x02000000).not.toBe(0); // NEGOTIATE_VERSION set...
    expect(raw.length).toBeGreaterThanOrEqual(40); // ...and the Version field present
  });

  it('carries NTLM in NTLM when offered, else in Negotiate, else not at all', () => {
    expect(chooseNtlmScheme(parseChallenges(['Negotiate', 'NTLM']))).toBe('NTLM');
    expect(chooseNtlmScheme(parseChallenges(['Negotiate']))).toBe('Negotiate');
    expect(chooseNtlmScheme(parseChallenges(['Bearer realm="x"']))).toBeNull();
  });

  it('refuses a challenge that would make it answer with NTLMv1', () => {
    const challenge = Buffer.alloc(48);
    challenge.write('NTLMSSP\0', 0, 'latin1');
    challenge.writeUInt32LE(2, 8);
    challenge.writeUInt32LE(0x00000201, 20); // unicode + NTLM, no extended security, no target info
    const err = (() => {
      try {
        readChallenge(challenge.toString('base64'), 'NTLM');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AuthFailure);
    expect((err as AuthFailure).kind).toBe('handshake');
    expect((err as AuthFailure).message).toMatch(/NTLMv1/);
  });

  it('refuses a challenge that is not an NTLM message', () => {
    expect(() => readChallenge(Buffer.from('not ntlm at all').toString('base64'), 'Negotiate')).toThrow(/not a raw NTLM message/);
  });
});

const reason = wiaSkipReason();
announceSkip('ntlm against Apache with gss-ntlmssp', reason);

describe.skipIf(reason !== null)(`ntlm through Apache mod_auth_gssapi (gss-ntlmssp) to the reference server${reason ? ` [skipped: ${reason}]` : ''}`, () => {
  let bed: TestBed;
  let backend: RunningServer;
  const CARD_PATH = `${BASE_PATH}/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099`;

  beforeAll(async () => {
    backend = await startReferenceServer({ quiet: true });
    bed = await startTestBed({ backend: backend.url, backendAuthorization: { [`${NTLM_DOMAIN}\\alice`]: 'Bearer demo-helpdesk' } });
  });
  afterAll(async () => {
    await bed?.stop();
    await backend?.close();
  });
  const credentials = (password?: string) => ({ username: 'alice', password: password ?? bed.user('alice').password, domain: NTLM_DOMAIN });

  it('gets 200 with the three messages on one connection; the backend sees DOMAIN\\user; the connection stays authenticated', async () => {
    const secrets: string[] = [];
    const conn = openConnection(bed.apache.ntlmUrl);
    try {
      const auth = createNtlmAuthenticator(credentials(), { onSecret: (s) => secrets.push(s) });
      expect(auth.binding).toBe('connection');
      const res = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn.send);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).user).toBe(`${NTLM_DOMAIN}\\alice`);
      expect(conn.sent.map((r) => r.headers.Authorization?.split(' ')[0])).toEqual(['NTLM', 'NTLM']);
      // A second request without Authorization on the same connection: no new handshake.
      const again = await conn.send({ method: 'GET', path: CARD_PATH, headers: {} });
      expect(again.status).toBe(200);
      expect(conn.connects()).toBe(1);
      expect(secrets).toContain(bed.user('alice').password);
    } finally {
      await conn.close();
    }
  });

  it('a wrong password: the server answers 401 after the complete handshake (an answer, not a throw)', async () => {
    const conn = openConnection(bed.apache.ntlmUrl);
    try {
      const auth = createNtlmAuthenticator(credentials(`${bed.user('alice').password}-wrong`), { onSecret: () => {} });
      const res = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn.send);
      expect(res.status).toBe(401);
      expect(conn.sent).toHaveLength(2);
    } finally {
      await conn.close();
    }
  });

  it('wraps the messages in Negotiate when the server offers only Negotiate', async () => {
    const conn = openConnection(bed.apache.ntlmUrl);
    // The real server as IIS with only the Negotiate provider: the NTLM scheme is refused
    // with a bare Negotiate offer (without reaching Apache, which would start an NTLM
    // exchange on the connection), and NTLM offers never show.
    const refused = { status: 401, headers: { 'www-authenticate': 'Negotiate' }, multi: { 'www-authenticate': ['Negotiate'] }, body: '' };
    const negotiateOnly: ConnectionSend = async (req) => {
      if (/^NTLM /i.test(req.headers.Authorization ?? '')) return refused;
      const res = await conn.send(req);
      const offers = (res.multi['www-authenticate'] ?? []).filter((v) => !/^NTLM\b/i.test(v));
      return { ...res, multi: { ...res.multi, 'www-authenticate': offers } };
    };
    try {
      const auth = createNtlmAuthenticator(credentials(), { onSecret: () => {} });
      const res = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, negotiateOnly);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).user).toBe(`${NTLM_DOMAIN}\\alice`);
      // NTLM refused, then NEGOTIATE and AUTHENTICATE inside Negotiate, on the one connection.
      expect(conn.sent.map((r) => r.headers.Authorization?.split(' ')[0])).toEqual(['Negotiate', 'Negotiate']);
      expect(conn.connects()).toBe(1);
      // The next connection starts with what worked.
      const conn2 = openConnection(bed.apache.ntlmUrl);
      try {
        expect((await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, conn2.send)).status).toBe(200);
        expect(conn2.sent.map((r) => r.headers.Authorization?.split(' ')[0])).toEqual(['Negotiate', 'Negotiate']);
      } finally {
        await conn2.close();
      }
    } finally {
      await conn.close();
    }
  });

  it('reaches the reference server behind Apache for the mapped user', async () => {
    const conn = openConnection(bed.apache.ntlmUrl);
    try {
      const auth = createNtlmAuthenticator(credentials(), { onSecret: () => {} });
      const res = await auth.send({ method: 'GET', path: CARD_PATH, headers: {} }, conn.send);
      expect(res.status).toBe(200);
    } finally {
      await conn.close();
    }
  });

  it('a server that does not offer NTLM at all: its 401 comes back for the first-minute check', async () => {
    const conn = openConnection(bed.apache.negotiateUrl);
    const bearerOnly: ConnectionSend = async (req) => {
      const res = await conn.send(req);
      return res.status === 401 ? { ...res, multi: { ...res.multi, 'www-authenticate': ['Bearer realm="cm"'] } } : res;
    };
    try {
      const auth = createNtlmAuthenticator(credentials(), { onSecret: () => {} });
      const res = await auth.send({ method: 'GET', path: WHOAMI_PATH, headers: {} }, bearerOnly);
      expect(res.status).toBe(401);
      expect(res.multi['www-authenticate']).toEqual(['Bearer realm="cm"']);
    } finally {
      await conn.close();
    }
  });
});
