import { describe, expect, it } from 'vitest';
import { formatGuid, isBase64, isGuid, parseBase64, parseBytes, parseGuid, parseHex, toWindowsDisplay } from '../../simulator/bytes.js';

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
  it('rejects what is neither, with one line naming the problem', () => {
    expect(() => parseBytes('zz!!', '--challenge')).toThrow('--challenge is neither hex nor base64: character 3 of 4 is not a base64 character');
    expect(() => parseBytes('abcde', '--challenge')).toThrow(/--challenge is neither hex nor base64: 5 characters is not a whole base64 length/);
    expect(() => parseHex('12g4', '--key')).toThrow('--key is not hex: character 3 of 4 is not a hex digit');
    expect(() => parseBytes('  ', '--key')).toThrow('--key is empty');
    expect(isBase64('abc')).toBe(true);
    expect(isBase64('a')).toBe(false);
    expect(isBase64('ab=c')).toBe(false);
  });
  it('never echoes the value: it may be a key with a typo', () => {
    const key = '0123456789abcdef23456789abcdef01456789abcdef0123';
    const typos = [`${key.slice(0, 30)}!${key.slice(31)}`, `${key.slice(0, 30)}x${key.slice(31)}`, `${key}0`];
    let messages = 0;
    for (const typo of typos) {
      for (const parse of [() => parseBytes(typo, '--admin-key'), () => parseHex(typo, '--key'), () => parseBase64(typo, '--key')]) {
        let message = '';
        try {
          parse();
        } catch (err) {
          message = (err as Error).message;
        }
        // Not even a piece of it: any 8 digits of the key in the message would be a leak.
        for (let at = 0; at + 8 <= key.length; at += 4) expect(message).not.toContain(key.slice(at, at + 8));
        if (message) messages += 1;
      }
    }
    // Every typo fails parseHex; '!' and the odd length fail the others too ('x' is base64).
    expect(messages).toBe(3 + 2 + 2);
  });
  it('shows bytes in groups of four upper-case hex digits', () => {
    expect(toWindowsDisplay(Buffer.from('1603ebdf1c8a2e72', 'hex'))).toBe('1603 EBDF 1C8A 2E72');
  });
  it('round-trips GUIDs and refuses bad ones', () => {
    const id = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
    expect(formatGuid(parseGuid(`{${id.toUpperCase()}}`))).toBe(id);
    expect(() => parseGuid('bc88f13f-83ba')).toThrow(/not a GUID/);
    expect(() => parseGuid(`{${id}`)).toThrow(/not a GUID/); // braces come in pairs
    // isGuid is the strict form URLs and card files carry: no braces.
    expect(isGuid(id)).toBe(true);
    expect(isGuid(id.toUpperCase())).toBe(true);
    expect(isGuid(`{${id}}`)).toBe(false);
    expect(isGuid(`${id} `)).toBe(false);
  });
});
