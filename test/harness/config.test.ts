import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../simulator/errors.js';
import { isDocumentedExample, loadConfig, parseConfig } from '../../harness/config.js';

const KEY = '0123456789abcdeffedcba987654321089abcdef01234567';
const card = (extra: Record<string, unknown> = {}) => ({
  name: 'example',
  reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
  scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
  cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
  adminKey: '00'.repeat(24),
  ...extra,
});
const base = (extra: Record<string, unknown> = {}) => ({ server: 'https://cm.contoso.com', cards: [card()], ...extra });

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an InputError');
}

describe('parseConfig', () => {
  it('reads the documented config example (docs/config.md) with defaults filled in', () => {
    const cfg = parseConfig(JSON.stringify(base({ headers: { Authorization: 'Bearer x' } })), 'cm.json');
    expect(cfg.server).toBe('https://cm.contoso.com');
    expect(cfg.basePath).toBe('/CertificateManagement/api/v1.0');
    expect(cfg.timeoutMs).toBe(5000);
    expect(cfg.lifecycle).toBe(false);
    expect(cfg.headers).toEqual({ Authorization: 'Bearer x' });
    expect(cfg.cards[0]!.adminKey).toEqual(Buffer.alloc(24));
    expect(isDocumentedExample(cfg.cards[0]!)).toBe(true);
  });

  it('expands ${ENV} in string values', () => {
    const cfg = parseConfig(JSON.stringify(base({ headers: { Authorization: 'Bearer ${CM_TOKEN}' } })), 'cm.json', { env: { CM_TOKEN: 's3cret' } });
    expect(cfg.headers.Authorization).toBe('Bearer s3cret');
  });

  it('an unset ${VAR} is an error naming the key path, the variable and the file', () => {
    const msg = errorOf(() => parseConfig(JSON.stringify(base({ forbiddenHeaders: { Authorization: 'Bearer ${NO_RIGHTS}' } })), 'cm.json', { env: {} }));
    expect(msg).toBe('cm.json: forbiddenHeaders.Authorization uses ${NO_RIGHTS}, but environment variable NO_RIGHTS is not set');
  });

  it.each([
    [
      { cards: [card(), card({ name: 'b', adminKey: 'abcd' })] },
      'cm.json: cards[1].adminKey must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 4 hex digits',
    ],
    [{ cards: [card(), card({ name: 'b', adminKey: 'zz'.repeat(24) })] }, 'cm.json: cards[1].adminKey is not hex'],
    [{ cards: [card({ reqid: 'nope' })] }, 'cm.json: cards[0].reqid is not a GUID like a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099, got "nope"'],
    [{ cards: [card({ scid: undefined })] }, 'cm.json: cards[0].scid is missing'],
    [{ cards: [card({ colour: 'red' })] }, 'cm.json: cards[0].colour is not a known key'],
    [{ Server: 'x' }, 'cm.json: Server is not a known key (did you mean server?)'],
    [{ cards: [] }, 'cm.json: cards is empty'],
    [{ cards: [card(), card()] }, 'cm.json: cards[1].name "example" is used by an earlier card'],
    [{ server: 'ftp://cm' }, 'cm.json: server must start with http:// or https://'],
    [{ server: 'https://cm.contoso.com/CertificateManagement' }, 'cm.json: server must be an origin'],
    [{ timeoutMs: -1 }, 'cm.json: timeoutMs must be a positive whole number'],
    [{ lifecycle: 'yes' }, 'cm.json: lifecycle must be true or false'],
    [{ headers: { Authorization: 5 } }, 'cm.json: headers.Authorization must be a string'],
    [{ basePath: 'api' }, 'cm.json: basePath must be a path starting with /'],
    [{ tls: { ca: 'ca.pem', pin: 'x' } }, 'cm.json: tls.pin is not a known key'],
    [{ cards: [card({ diversifiedKey: 'client' })] }, 'cm.json: cards[0].diversifiedKey is not hex'],
  ])('rejects %j with a one-line error naming the key and the file', (extra, expected) => {
    expect(errorOf(() => parseConfig(JSON.stringify(base(extra)), 'cm.json'))).toContain(expected);
  });

  it('rejects text that is not JSON, naming the file', () => {
    expect(errorOf(() => parseConfig('{ "server": ', 'cm.json'))).toMatch(/^cm\.json: is not valid JSON/);
  });

  it('--server replaces or supplies the origin; --timeout replaces timeoutMs', () => {
    const { server: _omit, ...noServer } = base();
    expect(errorOf(() => parseConfig(JSON.stringify(noServer), 'cm.json'))).toContain('server is missing');
    const cfg = parseConfig(JSON.stringify(noServer), 'cm.json', { server: 'http://127.0.0.1:8080', timeoutMs: 250 });
    expect(cfg.server).toBe('http://127.0.0.1:8080');
    expect(cfg.timeoutMs).toBe(250);
  });

  it('diversifiedKey is a key or "server"', () => {
    const cfg = parseConfig(
      JSON.stringify(base({ cards: [card({ diversifiedKey: 'server' }), card({ name: 'b', adminKey: KEY, diversifiedKey: KEY })] })),
      'cm.json',
    );
    expect(cfg.cards[0]!.diversifiedKey).toBe('server');
    expect(cfg.cards[1]!.diversifiedKey).toEqual(Buffer.from(KEY, 'hex'));
    expect(isDocumentedExample(cfg.cards[1]!)).toBe(false);
  });

  it('accepts a "$schema" key (a string) and ignores it', () => {
    const withSchema = parseConfig(JSON.stringify(base({ $schema: './node_modules/cmcard/schemas/config.schema.json' })), 'cm.json');
    expect(withSchema).toEqual(parseConfig(JSON.stringify(base()), 'cm.json'));
    expect(errorOf(() => parseConfig(JSON.stringify(base({ $schema: 7 })), 'cm.json'))).toBe(
      "cm.json: $schema must be a string (the schema's path or URL), got 7",
    );
  });

  it('checks an ATR as the card and the seed do: structure and TCK', () => {
    expect(parseConfig(JSON.stringify(base({ cards: [card({ atr: '3B 8D 01 80 FB A0 00 00 03 97 42 54 46 59 03 01 C8' })] })), 'cm.json').cards[0]!.atr).toBe(
      '3b8d0180fba000000397425446590301c8',
    );
    expect(errorOf(() => parseConfig(JSON.stringify(base({ cards: [card({ atr: '3b8d0180fba000000397425446590301c9' })] })), 'cm.json'))).toBe(
      'cm.json: cards[0].atr has a wrong TCK byte C9 (expected C8)',
    );
  });

  it('reads a key in base64 as well as hex, and says which reading failed', () => {
    const cfg = parseConfig(JSON.stringify(base({ cards: [card({ adminKey: Buffer.from(KEY, 'hex').toString('base64') })] })), 'cm.json');
    expect(cfg.cards[0]!.adminKey).toEqual(Buffer.from(KEY, 'hex'));
    expect(errorOf(() => parseConfig(JSON.stringify(base({ cards: [card({ adminKey: KEY.slice(1) })] })), 'cm.json'))).toBe(
      'cm.json: cards[0].adminKey must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 47 hex digits',
    );
    expect(errorOf(() => parseConfig(JSON.stringify(base({ cards: [card({ diversifiedKey: KEY.slice(1) })] })), 'cm.json'))).toBe(
      'cm.json: cards[0].diversifiedKey must be 48 or 32 hex digits (or base64 of 24 or 16 bytes), got 47 hex digits (or "server")',
    );
  });

  it('a mistyped admin key is never echoed', () => {
    const typo = '0123456789abcdeffedcba98765432108gabcdef01234567';
    const msg = errorOf(() => parseConfig(JSON.stringify(base({ cards: [card({ adminKey: typo })] })), 'cm.json'));
    expect(msg).toContain('cm.json: cards[0].adminKey is not hex');
    expect(msg).not.toContain('0123456789');
  });

  it('an error never prints a long secret value', () => {
    const msg = errorOf(() => parseConfig(JSON.stringify(base({ headers: { Authorization: ['Bearer a-very-long-secret-token-value'] } })), 'cm.json'));
    expect(msg).not.toContain('secret-token');
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-config-'));

  it('reads TLS files relative to the config file', () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    writeFileSync(join(dir, 'client.pem'), 'CERT PEM');
    writeFileSync(join(dir, 'client-key.pem'), 'KEY PEM');
    const path = join(dir, 'cm.json');
    writeFileSync(path, JSON.stringify(base({ tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' } })));
    const cfg = loadConfig(path);
    expect(cfg.tls?.ca?.toString()).toBe('CA PEM');
    expect(cfg.tls?.cert?.toString()).toBe('CERT PEM');
    expect(cfg.tls?.key?.toString()).toBe('KEY PEM');
    expect(cfg.source).toBe(path);
  });

  it('a missing TLS file names the key, the resolved path and the file', () => {
    const path = join(dir, 'missing-ca.json');
    writeFileSync(path, JSON.stringify(base({ tls: { ca: 'nope.pem' } })));
    expect(errorOf(() => loadConfig(path))).toBe(`${path}: tls.ca names ${join(dir, 'nope.pem')}, which cannot be read (ENOENT)`);
  });

  it('a cert without its key is an error', () => {
    const path = join(dir, 'half.json');
    writeFileSync(path, JSON.stringify(base({ tls: { cert: 'client.pem' } })));
    expect(errorOf(() => loadConfig(path))).toContain('tls.key is missing');
  });

  it('TLS with an http:// server is an error', () => {
    const path = join(dir, 'http.json');
    writeFileSync(path, JSON.stringify(base({ server: 'http://cm', tls: { ca: 'ca.pem' } })));
    expect(errorOf(() => loadConfig(path))).toContain('tls is set but server http://cm is not https://');
  });

  it('a missing config file is one line naming it', () => {
    expect(errorOf(() => loadConfig(join(dir, 'absent.json')))).toBe(`${join(dir, 'absent.json')}: cannot read the config file (ENOENT)`);
  });
});
