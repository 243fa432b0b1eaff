import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../reference-server/auth.js';
import { applySeed, defaultSeed, describeSeed, Store, validateSeed } from '../../reference-server/index.js';
import { sp800108Diversifier } from '../../simulator/diversify.js';
import { parseGuid } from '../../simulator/bytes.js';

describe('the default seed', () => {
  const described = describeSeed(defaultSeed());

  it('describes the documented example as "example"', () => {
    expect(described.cards.find((c) => c.name === 'example')).toEqual({
      name: 'example',
      reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
      scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
      cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
      atr: '3b8d0180fba000000397425446590301c8',
      adminKey: '00'.repeat(24),
      diversifiedKey: Buffer.from('mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI', 'base64').toString('hex'),
    });
    expect(described.tokens).toEqual({ helpdesk: 'demo-helpdesk', user: 'demo-user' });
  });

  it('derives the other diversified keys with the simulator derivation and the template secret', () => {
    const seed = defaultSeed();
    for (const name of ['tpm-1', 'tpm-2']) {
      const c = described.cards.find((x) => x.name === name)!;
      const sc = seed.smartcards.find((s) => s.name === name)!;
      const request = seed.requests.find((r) => r.uuid === sc.requests[0])!;
      const t = seed.templates.find((x) => x.uuid === request.profileTemplateUuid)!;
      const expected = sp800108Diversifier(Buffer.from(t.diversificationSecretHex!, 'hex')).deriveKey(parseGuid(c.cardid)).toString('hex');
      expect(c.diversifiedKey).toBe(expected);
    }
  });

  it('lists no card without a Base CSP admin key, and at least three non-weak cards', () => {
    expect(described.cards.map((c) => c.name)).not.toContain('no-admin-key');
    expect(described.cards.filter((c) => c.adminKey !== '00'.repeat(24)).length).toBeGreaterThanOrEqual(3);
  });

  it('passes its own validation', () => {
    expect(validateSeed(JSON.parse(JSON.stringify(defaultSeed())))).toEqual(JSON.parse(JSON.stringify(defaultSeed())));
  });
});

describe('seed validation names the file and the key', () => {
  const base = () => JSON.parse(JSON.stringify(defaultSeed())) as Record<string, any>;
  it.each([
    ['missing section', (s: any) => delete s.principals, /seed.json: seed\.principals is required/],
    ['unknown key', (s: any) => (s.templates[0].colour = 'red'), /templates\[0\]\.colour is not a known key/],
    ['short key', (s: any) => (s.templates[1].defaultAdminKeyHex = '0102'), /templates\[1\]\.defaultAdminKeyHex must be 48 or 32 hex digits/],
    ['bad GUID', (s: any) => (s.smartcards[0].cardid = 'x'), /smartcards\[0\]\.cardid is not a GUID/],
    ['ATR the card would refuse', (s: any) => (s.smartcards[0].atr = '3b8d0180fba000000397425446590301c9'), /seed.json: smartcards\[0\]\.atr has a wrong TCK/],
    ['ATR not hex', (s: any) => (s.smartcards[0].atr = '3b8z'), /seed.json: smartcards\[0\]\.atr is not hex/],
    ['dangling request', (s: any) => (s.smartcards[1].requests = ['00000000-0000-0000-0000-000000000009']), /smartcards\[1\]\.requests\[0\] names no request/],
    ['unknown role', (s: any) => (s.principals[0].roles = ['root']), /principals\[0\]\.roles\[0\] must be one of/],
    ['short real token', (s: any) => (s.principals[0].loopbackOnly = false), /principals\[0\]\.token must be at least 16 characters/],
    ['missing secret', (s: any) => delete s.templates[1].diversificationSecretHex, /templates\[1\]\.diversificationSecretHex is required/],
    ['bad status', (s: any) => (s.requests[0].status = 42), /requests\[0\]\.status must be/],
    ['duplicate id', (s: any) => (s.requests[1].uuid = s.requests[0].uuid), /requests\[1\]\.uuid repeats/],
  ])('%s', (_name, mutate, message) => {
    const s = base();
    mutate(s);
    expect(() => validateSeed(s, 'seed.json')).toThrow(message);
  });
});

describe('bearer authentication', () => {
  const store = new Store();
  applySeed(store, defaultSeed());
  store.upsertPrincipal({ name: 'ops', token: 'a-long-production-token-123', roles: ['sensitive'], loopbackOnly: false });

  it('accepts the demo tokens only while listening on loopback', () => {
    const onLoopback = new Authenticator(store, () => true);
    const elsewhere = new Authenticator(store, () => false);
    expect(onLoopback.authenticate('Bearer demo-helpdesk').name).toBe('demo-helpdesk');
    expect(() => elsewhere.authenticate('Bearer demo-helpdesk')).toThrow(/only while the server listens on loopback/);
    expect(() => elsewhere.authenticate('Bearer demo-user')).toThrow(/loopback/);
    expect(elsewhere.authenticate('Bearer a-long-production-token-123').name).toBe('ops');
  });

  it('keeps tokens only as digests', () => {
    const dump = JSON.stringify(store.db.prepare('SELECT * FROM principals').all());
    expect(dump).not.toContain('a-long-production-token-123');
    const rows = store.db.prepare('SELECT token_sha256 FROM principals').all() as { token_sha256: Buffer }[];
    for (const r of rows) expect(r.token_sha256).toHaveLength(32);
  });

  it('follows changes to principals (a replaced token stops working)', () => {
    const auth = new Authenticator(store, () => true);
    expect(auth.authenticate('bearer a-long-production-token-123').name).toBe('ops');
    store.upsertPrincipal({ name: 'ops', token: 'another-long-token-4567', roles: ['sensitive'], loopbackOnly: false });
    expect(() => auth.authenticate('Bearer a-long-production-token-123')).toThrow(/not valid/);
    expect(auth.authenticate('Bearer another-long-token-4567').name).toBe('ops');
  });
});
