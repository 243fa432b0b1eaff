import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../harness/config.js';
import { REQUEST_STATUS, REQUEST_TYPES, ROLES, SMARTCARD_STATUSES } from '../../reference-server/model.js';
import { defaultSeed, validateSeed } from '../../reference-server/seed.js';
import { InputError } from '../../simulator/errors.js';
import { readAdminKey, readAtr, readGuid } from '../../simulator/validate.js';

// The hand-written loaders validate at run time (they expand ${ENV}, read TLS files, check
// an ATR's TCK and references between sections, and word every error as one line naming
// the file and the key). The published schemas serve editors. These tests hold the two to
// one set of rules: on a corpus of files, both accept or both reject, except for rules a
// schema cannot state, which are listed with the loader's reason; and the string rules
// (keys, GUIDs, ATRs) agree on generated text.

const root = resolve(import.meta.dirname, '../..');
const configSchema = JSON.parse(readFileSync(resolve(root, 'schemas/config.schema.json'), 'utf8')) as object;
const seedSchema = JSON.parse(readFileSync(resolve(root, 'schemas/seed.schema.json'), 'utf8')) as object;

const ajv = new Ajv({ strict: true, allErrors: true });
ajv.addSchema(configSchema);
ajv.addSchema(seedSchema);
const schemaOf = (ref: string): ValidateFunction =>
  ajv.getSchema(ref) ??
  (() => {
    throw new Error(`no schema ${ref}`);
  })();
const configValid = schemaOf('urn:cmcard:config:1');
const seedValid = schemaOf('urn:cmcard:seed:1');
const keyValid = schemaOf('urn:cmcard:config:1#/definitions/adminKey');
const keyHexValid = schemaOf('urn:cmcard:seed:1#/definitions/adminKeyHex');
const guidValid = schemaOf('urn:cmcard:config:1#/definitions/guid');
const atrValid = schemaOf('urn:cmcard:config:1#/definitions/atr');

/** What happened: 'accepted', or the loader's one-line error. */
function loaderSays(load: () => unknown): string {
  try {
    load();
    return 'accepted';
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    expect(err.message).not.toContain('\n');
    return err.message;
  }
}

/**
 * `both` the schema and the loader accept (true) or reject (false); a RegExp: a rule only
 * the loader can check (the schema accepts, the loader refuses with this message); `ahead`:
 * keys the schema already documents and the loader does not read yet (it refuses them as
 * unknown: when it learns them, move these rows to `true`).
 */
type Expectation = boolean | RegExp | 'ahead';

function agree(schemaOk: boolean, loader: string, expected: Expectation, label: string): void {
  const loaderOk = loader === 'accepted';
  if (expected === true || expected === false) {
    expect({ schema: schemaOk, loader: loaderOk ? 'accepted' : loader }, label).toEqual({ schema: expected, loader: expected ? 'accepted' : loader });
    expect(loaderOk, `${label}: ${loader}`).toBe(expected);
  } else if (expected === 'ahead') {
    expect(schemaOk, `${label}: the schema documents it`).toBe(true);
    expect(loader, label).toMatch(/is not a known key/);
  } else {
    expect(schemaOk, `${label}: a rule the schema cannot state`).toBe(true);
    expect(loader, label).toMatch(expected);
  }
}

// ---------------------------------------------------------------------------------------
// The config file

const KEY = '0123456789abcdeffedcba987654321089abcdef01234567';
const KEY_BYTES = Buffer.from(KEY, 'hex');
const ATR = '3b8d0180fba000000397425446590301c8';
const ENV = { CM_SERVER: 'https://cm.contoso.com', CM_KEY: KEY, CM_TOKEN: 'Bearer t0ken', NTLM_PASSWORD: 'pw' };

type Doc = Record<string, any>;
const configCard = (extra: Doc = {}): Doc => ({
  name: 'example',
  reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
  scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
  cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
  adminKey: KEY,
  ...extra,
});
const configDoc = (extra: Doc = {}): Doc => ({ $schema: '../schemas/config.schema.json', server: 'https://cm.contoso.com', cards: [configCard()], ...extra });
const withCard = (extra: Doc): Doc => configDoc({ cards: [configCard(extra)] });

const CONFIG_CORPUS: Array<[string, Doc, Expectation]> = [
  ['the smallest config', configDoc(), true],
  [
    'no $schema',
    (() => {
      const d = configDoc();
      delete d.$schema;
      return d;
    })(),
    true,
  ],
  [
    'every key set',
    configDoc({
      basePath: '/CertificateManagement/api/v1.0/',
      headers: { Authorization: 'Bearer x', 'X-Trace': 'on' },
      forbiddenHeaders: { Authorization: 'Bearer nobody' },
      tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' },
      timeoutMs: 250,
      lifecycle: true,
      cards: [configCard({ atr: ATR, diversifiedKey: 'server' }), configCard({ name: 'two', diversifiedKey: KEY.toUpperCase() })],
    }),
    true,
  ],
  ['an http origin with a port and a trailing slash', configDoc({ server: 'http://127.0.0.1:8080/' }), true],
  [
    'values from the environment',
    configDoc({ server: '${CM_SERVER}', headers: { Authorization: '${CM_TOKEN}' }, cards: [configCard({ adminKey: '${CM_KEY}' })] }),
    true,
  ],
  ['a key in upper case with spaces', withCard({ adminKey: KEY.toUpperCase().replace(/(..)(?=.)/g, '$1 ') }), true],
  ['a key with colons', withCard({ adminKey: KEY.replace(/(..)(?=.)/g, '$1:') }), true],
  ['a 2-key key', withCard({ adminKey: KEY.slice(0, 32) }), true],
  ['a key in base64', withCard({ adminKey: KEY_BYTES.toString('base64') }), true],
  ['a key in base64url', withCard({ adminKey: Buffer.from('fb'.repeat(24), 'hex').toString('base64url') }), true],
  ['a 2-key key in base64 without padding', withCard({ adminKey: KEY_BYTES.subarray(0, 16).toString('base64').replace(/=+$/, '') }), true],
  ['a key with b64: in front', withCard({ adminKey: `b64:${KEY_BYTES.toString('base64')}` }), true],
  ['a key with hex: in front', withCard({ adminKey: `hex: ${KEY}` }), true],
  [
    'GUIDs with braces, in upper case, with spaces around',
    withCard({ reqid: '{A9B4B42C-CC50-4C9B-89D1-BBC0BCD5A099}', cardid: ' bc88f13f-83ba-4037-8262-46eba1291c6e ' }),
    true,
  ],
  ['an ATR with spaces', withCard({ atr: '3B 8D 01 80 FB A0 00 00 03 97 42 54 46 59 03 01 C8' }), true],

  ['a key one hex digit short', withCard({ adminKey: KEY.slice(1) }), false],
  ['a 2-key key one hex digit short', withCard({ adminKey: KEY.slice(1, 32) }), false],
  ['a key with a mistyped digit', withCard({ adminKey: `${KEY.slice(0, 30)}g${KEY.slice(31)}` }), false],
  ['a key with a stray character', withCard({ adminKey: `${KEY.slice(0, 30)}!${KEY.slice(31)}` }), false],
  ['base64 of 36 bytes', withCard({ adminKey: Buffer.alloc(36, 1).toString('base64') }), false],
  ['base64 with one padding character too many', withCard({ adminKey: `${KEY_BYTES.subarray(0, 16).toString('base64')}=` }), false],
  ['b64: then hex digits', withCard({ adminKey: `b64:${KEY.slice(3)}` }), false],
  ['an empty key', withCard({ adminKey: '' }), false],
  ['a key as a number', withCard({ adminKey: 12 }), false],
  [
    'a missing key',
    (() => {
      const d = configDoc();
      delete d.cards[0].adminKey;
      return d;
    })(),
    false,
  ],
  ['diversifiedKey neither a key nor "server"', withCard({ diversifiedKey: 'client' }), false],
  ['a GUID with one brace', withCard({ scid: '{17cf063d-e337-4aa9-a822-346554ddd3c9' }), false],
  ['a GUID without dashes', withCard({ scid: '17cf063de3374aa9a822346554ddd3c9' }), false],
  ['an ATR that is not hex', withCard({ atr: '3b8z' }), false],
  ['an ATR with an odd number of digits', withCard({ atr: '3b0' }), false],
  ['an ATR with a wrong TS byte', withCard({ atr: '3c00' }), false],
  ['an ATR of 34 bytes', withCard({ atr: `3b${'00'.repeat(33)}` }), false],
  ['a blank card name', withCard({ name: '  ' }), false],
  ['an unknown card key', withCard({ colour: 'red' }), false],
  ['an unknown top-level key', configDoc({ Server: 'https://cm' }), false],
  ['$schema not a string', configDoc({ $schema: 1 }), false],
  ['no cards', configDoc({ cards: [] }), false],
  [
    'cards missing',
    (() => {
      const d = configDoc();
      delete d.cards;
      return d;
    })(),
    false,
  ],
  ['cards not a list', configDoc({ cards: configCard() }), false],
  ['timeoutMs zero', configDoc({ timeoutMs: 0 }), false],
  ['timeoutMs a fraction', configDoc({ timeoutMs: 1.5 }), false],
  ['timeoutMs a string', configDoc({ timeoutMs: '5000' }), false],
  ['lifecycle "yes"', configDoc({ lifecycle: 'yes' }), false],
  ['basePath without a leading /', configDoc({ basePath: 'api' }), false],
  ['basePath with a query', configDoc({ basePath: '/api?x=1' }), false],
  ['a header name with a space', configDoc({ headers: { 'Bad Header': 'x' } }), false],
  ['a header value that is a number', configDoc({ headers: { Authorization: 5 } }), false],
  ['a header value with a line break', configDoc({ headers: { Authorization: 'a\r\nX-Evil: 1' } }), false],
  ['an unknown TLS key', configDoc({ tls: { ca: 'ca.pem', pin: 'x' } }), false],
  ['a client certificate without its key', configDoc({ tls: { cert: 'client.pem' } }), false],
  ['TLS files with an http server', configDoc({ server: 'http://cm', tls: { ca: 'ca.pem' } }), false],
  ['an ftp server', configDoc({ server: 'ftp://cm' }), false],
  ['a server with a path', configDoc({ server: 'https://cm.contoso.com/CertificateManagement' }), false],
  ['a server with credentials', configDoc({ server: 'https://me:pw@cm.contoso.com' }), false],
  ['a server as a number', configDoc({ server: 8080 }), false],

  ['an ATR with a wrong TCK', withCard({ atr: '3b8d0180fba000000397425446590301c9' }), /cards\[0\]\.atr has a wrong TCK byte C9 \(expected C8\)$/],
  ['an ATR cut short of its TCK', withCard({ atr: ATR.slice(0, -2) }), /cards\[0\]\.atr should be 17 bytes/],
  ['two cards with one name', configDoc({ cards: [configCard(), configCard()] }), /cards\[1\]\.name "example" is used by an earlier card/],
  [
    'no server in the file (it may come from --server)',
    (() => {
      const d = configDoc();
      delete d.server;
      return d;
    })(),
    /server is missing \(give it in the file or with --server\)/,
  ],
  ['an unset environment variable', withCard({ adminKey: '${NO_SUCH_KEY}' }), /uses \$\{NO_SUCH_KEY\}, but environment variable NO_SUCH_KEY is not set/],
  ['a TLS file that cannot be read', configDoc({ tls: { ca: 'missing.pem' } }), /tls\.ca names .*missing\.pem, which cannot be read/],

  ['auth: negotiate', configDoc({ auth: { type: 'negotiate', spn: 'HTTP/cm.contoso.com' } }), true],
  ['auth: ntlm', configDoc({ auth: { type: 'ntlm', username: 'helpdesk', password: '${NTLM_PASSWORD}', domain: 'CONTOSO' } }), true],
  [
    'auth: oauth2',
    configDoc({
      auth: {
        type: 'oauth2',
        tokenUrl: 'https://adfs.contoso.com/adfs/oauth2/token',
        clientId: 'cmcard',
        clientSecret: 's',
        resource: 'https://cm.contoso.com',
        scope: 'openid',
      },
    }),
    true,
  ],
  ['auth: headers', configDoc({ auth: { type: 'headers', headers: { Authorization: 'Bearer x' } } }), true],
  ['forbiddenAuth: ntlm', configDoc({ forbiddenAuth: { type: 'ntlm', username: 'nobody', password: 'x' } }), true],
  ['auth of an unknown type', configDoc({ auth: { type: 'basic', username: 'u' } }), false],
  ['ntlm auth without its password', configDoc({ auth: { type: 'ntlm', username: 'u' } }), false],
  ['auth with a key of another type', configDoc({ auth: { type: 'negotiate', clientId: 'x' } }), false],
];

const loadConfigDoc = (doc: Doc): string =>
  loaderSays(() =>
    parseConfig(doc, 'cm.json', {
      env: ENV,
      baseDir: '/config',
      readFile: (path) => {
        if (path.endsWith('missing.pem')) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        return Buffer.from('PEM');
      },
    }),
  );

describe('schemas/config.schema.json and the config loader take the same files', () => {
  it.each(CONFIG_CORPUS)('%s', (name, doc, expected) => {
    agree(configValid(doc) as boolean, loadConfigDoc(doc), expected, name);
  });

  it("the loader names the file and the key in one line, with the kit's wording", () => {
    expect(loadConfigDoc(withCard({ adminKey: KEY.slice(1) }))).toBe(
      'cm.json: cards[0].adminKey must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 47 hex digits',
    );
    expect(loadConfigDoc(configDoc({ cards: [configCard(), configCard({ name: 'b', adminKey: KEY.slice(1) })] }))).toMatch(/^cm\.json: cards\[1\]\.adminKey /);
  });
});

// ---------------------------------------------------------------------------------------
// The seed file

const seedDoc = (): Doc => ({ $schema: '../schemas/seed.schema.json', ...JSON.parse(JSON.stringify(defaultSeed())) });
const seedWith = (change: (s: Doc) => void): Doc => {
  const s = seedDoc();
  change(s);
  return s;
};

const SEED_CORPUS: Array<[string, Doc, Expectation]> = [
  ['the default seed', seedDoc(), true],
  ['no $schema', seedWith((s) => delete s.$schema), true],
  [
    'GUIDs with braces and in upper case',
    seedWith((s) => {
      s.smartcards[1].cardid = `{${s.smartcards[1].cardid.toUpperCase()}}`;
    }),
    true,
  ],
  [
    'a 2-key default key with spaces',
    seedWith((s) => {
      s.templates[2].defaultAdminKeyHex = '01 02 03 04 05 06 07 08 '.repeat(2);
    }),
    true,
  ],
  [
    'a 2-key stored diversified key',
    seedWith((s) => {
      s.smartcards[0].diversifiedKeyHex = KEY.slice(0, 32);
    }),
    true,
  ],
  [
    'a comment and a real token',
    seedWith((s) => {
      s.requests[0].comment = 'help desk';
      s.principals.push({ name: 'ops', token: 'a-long-production-token', roles: ['sensitive'], loopbackOnly: false });
    }),
    true,
  ],
  [
    'an ATR with spaces',
    seedWith((s) => {
      s.smartcards[0].atr = '3B 8D 01 80 FB A0 00 00 03 97 42 54 46 59 03 01 C8';
    }),
    true,
  ],

  ['a missing section', seedWith((s) => delete s.principals), false],
  [
    'an unknown key',
    seedWith((s) => {
      s.templates[0].colour = 'red';
    }),
    false,
  ],
  [
    '$schema not a string',
    seedWith((s) => {
      s.$schema = true;
    }),
    false,
  ],
  [
    'a short key',
    seedWith((s) => {
      s.templates[1].defaultAdminKeyHex = '0102';
    }),
    false,
  ],
  [
    'a key one hex digit short',
    seedWith((s) => {
      s.templates[1].defaultAdminKeyHex = KEY.slice(1);
    }),
    false,
  ],
  [
    'a key in base64 where hex is asked',
    seedWith((s) => {
      s.templates[1].defaultAdminKeyHex = KEY_BYTES.toString('base64');
    }),
    false,
  ],
  [
    'a GUID that is not one',
    seedWith((s) => {
      s.smartcards[0].cardid = 'x';
    }),
    false,
  ],
  [
    'an ATR that is not hex',
    seedWith((s) => {
      s.smartcards[0].atr = '3b8z';
    }),
    false,
  ],
  [
    'an unknown request type',
    seedWith((s) => {
      s.requests[0].type = 'Unlock';
    }),
    false,
  ],
  [
    'an unknown request status',
    seedWith((s) => {
      s.requests[0].status = 42;
    }),
    false,
  ],
  [
    'a request status as text',
    seedWith((s) => {
      s.requests[0].status = 'Approved';
    }),
    false,
  ],
  [
    'an unknown card status',
    seedWith((s) => {
      s.smartcards[0].status = 'Lost';
    }),
    false,
  ],
  [
    'baseCspAdminKey as text',
    seedWith((s) => {
      s.smartcards[0].baseCspAdminKey = 'no';
    }),
    false,
  ],
  [
    'a card in no request',
    seedWith((s) => {
      s.smartcards[0].requests = [];
    }),
    false,
  ],
  [
    'an empty name',
    seedWith((s) => {
      s.templates[0].name = '';
    }),
    false,
  ],
  [
    'a short diversification secret',
    seedWith((s) => {
      s.templates[0].diversificationSecretHex = '00'.repeat(15);
    }),
    false,
  ],
  [
    'an unknown role',
    seedWith((s) => {
      s.principals[0].roles = ['root'];
    }),
    false,
  ],
  [
    'a short token valid beyond loopback',
    seedWith((s) => {
      s.principals[0].loopbackOnly = false;
    }),
    false,
  ],
  [
    'a short token without loopbackOnly',
    seedWith((s) => {
      delete s.principals[0].loopbackOnly;
    }),
    false,
  ],
  [
    'a token with a space',
    seedWith((s) => {
      s.principals[0].token = 'demo helpdesk token';
    }),
    false,
  ],

  [
    'a request naming no template of the seed',
    seedWith((s) => {
      s.requests[0].profileTemplateUuid = '00000000-0000-0000-0000-000000000001';
    }),
    /requests\[0\]\.profileTemplateUuid names no template/,
  ],
  [
    'a card naming no request of the seed',
    seedWith((s) => {
      s.smartcards[1].requests = ['00000000-0000-0000-0000-000000000009'];
    }),
    /smartcards\[1\]\.requests\[0\] names no request/,
  ],
  [
    'an id used twice',
    seedWith((s) => {
      s.requests[1].uuid = s.requests[0].uuid;
    }),
    /requests\[1\]\.uuid repeats/,
  ],
  [
    'a principal name used twice',
    seedWith((s) => {
      s.principals[1].name = s.principals[0].name;
    }),
    /principals\[1\]\.name repeats/,
  ],
  [
    'a diversifying template without its secret',
    seedWith((s) => delete s.templates[1].diversificationSecretHex),
    /templates\[1\]\.diversificationSecretHex is required/,
  ],
  [
    'an ATR with a wrong TCK',
    seedWith((s) => {
      s.smartcards[0].atr = '3b8d0180fba000000397425446590301c9';
    }),
    /smartcards\[0\]\.atr has a wrong TCK/,
  ],
];

describe('schemas/seed.schema.json and the seed loader take the same files', () => {
  it.each(SEED_CORPUS)('%s', (name, doc, expected) => {
    agree(
      seedValid(doc) as boolean,
      loaderSays(() => validateSeed(doc, 'seed.json')),
      expected,
      name,
    );
  });

  it('lists exactly the request types, statuses, card statuses and roles the server knows', () => {
    const defs = (seedSchema as { definitions: Record<string, { properties: Record<string, any> }> }).definitions;
    expect(defs.request!.properties.type.enum).toEqual(Object.keys(REQUEST_TYPES));
    expect(defs.request!.properties.status.enum).toEqual(Object.values(REQUEST_STATUS));
    expect(defs.smartcard!.properties.status.enum).toEqual([...SMARTCARD_STATUSES]);
    expect(defs.principal!.properties.roles.items.enum).toEqual([...ROLES]);
  });
});

// ---------------------------------------------------------------------------------------
// The string rules, on generated text

const HEX = '0123456789abcdefABCDEF';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_';
const from = (alphabet: string, min: number, max: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
/** Inserts characters at random places, and puts something in front. */
const decorate = (base: fc.Arbitrary<string>, inserts: string[], prefixes: string[]) =>
  fc
    .tuple(base, fc.array(fc.tuple(fc.nat(60), fc.constantFrom(...inserts)), { maxLength: 3 }), fc.constantFrom(...prefixes))
    .map(([s, ins, pre]) => pre + ins.reduce((t, [at, c]) => t.slice(0, at % (t.length + 1)) + c + t.slice(at % (t.length + 1)), s));

const keyText = decorate(
  fc.oneof(
    from(HEX, 30, 50),
    fc.constantFrom(48, 32).chain((n) => from(HEX, n, n)),
    fc
      .integer({ min: 14, max: 26 })
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .chain((b) =>
        fc.constantFrom(Buffer.from(b).toString('base64'), Buffer.from(b).toString('base64url'), Buffer.from(b).toString('base64').replace(/=+$/, '')),
      ),
    from(B64, 20, 34),
    fc.string({ maxLength: 50 }),
  ),
  [' ', ':', '-', '=', '!', 'g', '\t'],
  ['', '', '', ' ', 'hex:', 'HEX:', 'b64:', 'B64:'],
);

describe("the schemas' string rules are the kit's", () => {
  it('admin keys: the schema takes a text exactly when readAdminKey does', () => {
    fc.assert(
      fc.property(keyText, (text) => {
        expect(keyValid(text), JSON.stringify(text)).toBe(readAdminKey(text).ok);
        expect(keyHexValid(text), `hex only: ${JSON.stringify(text)}`).toBe(readAdminKey(text, { hexOnly: true }).ok);
      }),
      { numRuns: 3000 },
    );
  });

  it('GUIDs: the schema takes a text exactly when readGuid does', () => {
    const guidText = decorate(
      fc.tuple(fc.uuid(), fc.boolean()).map(([u, up]) => (up ? u.toUpperCase() : u)),
      ['-', 'g', ' ', '{', '}', 'a'],
      ['', '', '{', ' ', '('],
    );
    fc.assert(
      fc.property(
        fc.tuple(guidText, fc.constantFrom('', '', '}', ' ', ')')).map(([g, post]) => g + post),
        (text) => {
          expect(guidValid(text), JSON.stringify(text)).toBe(readGuid(text).ok);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('ATRs: the schema takes every ATR readAtr takes, and refuses only what readAtr refuses for its form', () => {
    const atrText = decorate(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 34 }).map((b) => `3b${Buffer.from(b).toString('hex')}`),
        fc.uint8Array({ minLength: 1, maxLength: 35 }).map((b) => Buffer.from(b).toString('hex')),
        fc.constantFrom(ATR, '3B 02 14 50', '3b8c800159756269 6b65794e454f723358'),
      ),
      [' ', ':', '-', 'g', '0'],
      ['', '', ' ', '3f'],
    );
    fc.assert(
      fc.property(atrText, (text) => {
        const read = readAtr(text);
        const schemaOk = atrValid(text) as boolean;
        if (read.ok) expect(schemaOk, JSON.stringify(text)).toBe(true);
        // The schema states the form (hex, 2 to 33 bytes, TS 3B or 3F); structure and TCK are the loader's.
        else expect(schemaOk, `${JSON.stringify(text)}: ${read.problem}`).toBe(/should be|cut short|TCK/.test(read.problem));
      }),
      { numRuns: 3000 },
    );
  });
});
