import { describe, expect, it } from 'vitest';
import { formatGuid, isBase64, parseBytes, parseGuid, toWindowsDisplay } from '../../simulator/bytes.js';

describe('byte strings as people type them', () => {
  it('reads hex with spaces and any case, as the Windows unblock screen shows it', () => {
    expect(parseBytes('1603 EBDF 1C8A 2E72').toString('hex')).toBe('1603ebdf1c8a2e72');
    expect(parseBytes('16:03:eb:df').toString('hex')).toBe('1603ebdf');
  });
  it('reads base64, standard and URL-safe', () => {
    expect(parseBytes('1hFD+cz/0so=').toString('hex')).toBe('d61143f9ccffd2ca');
    expect(parseBytes('1hFD-cz_0so').toString('hex')).toBe('d61143f9ccffd2ca');
  });
  it('prefixes force a reading', () => {
    expect(parseBytes('b64:AAAA').toString('hex')).toBe('000000');
    expect(parseBytes('hex:AAAA').toString('hex')).toBe('aaaa');
  });
  it('rejects what is neither, with one line naming the value', () => {
    expect(() => parseBytes('zz!!', '--challenge')).toThrow('--challenge is neither hex nor base64: "zz!!"');
    expect(() => parseBytes('  ', '--key')).toThrow('--key is empty');
    expect(isBase64('abc')).toBe(true);
    expect(isBase64('a')).toBe(false);
    expect(isBase64('ab=c')).toBe(false);
  });
  it('shows bytes in groups of four upper-case hex digits', () => {
    expect(toWindowsDisplay(Buffer.from('1603ebdf1c8a2e72', 'hex'))).toBe('1603 EBDF 1C8A 2E72');
  });
  it('round-trips GUIDs and refuses bad ones', () => {
    const id = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
    expect(formatGuid(parseGuid(`{${id.toUpperCase()}}`))).toBe(id);
    expect(() => parseGuid('bc88f13f-83ba')).toThrow(/not a GUID/);
  });
});
