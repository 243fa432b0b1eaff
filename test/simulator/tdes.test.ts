import { describe, expect, it } from 'vitest';
import { InputError } from '../../simulator/errors.js';
import { constantTimeEqual, ecbEncryptor, expandKey, hasOddParity, keyCheckValue, tdesDecrypt, tdesEncrypt } from '../../simulator/tdes.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const b64 = (s: string) => Buffer.from(s, 'base64');

describe('3DES-EDE ECB known answers', () => {
  // docs/protocol.md#known-answer-vectors: each row comes from a source outside this project.
  const domain: Array<[string, Buffer, Buffer, Buffer]> = [
    ['MIM documented example', Buffer.alloc(24), b64('1hFD+cz/0so='), b64('F0Zudm4wPLY=')],
    ['minidriver spec sample', Buffer.alloc(24), hex('a892d75601617c5d'), hex('1951ec3ef81bbabb')],
    ['TPM virtual smart card default key', hex('0102030405060708'.repeat(3)), hex('1603ebdf1c8a2e72'), hex('f940671512cd0dff')],
    ['documented diversified key', hex('981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408'), b64('1hFD+cz/0so='), b64('xdUoVecIEg0=')],
  ];
  it.each(domain)('%s', (_name, key, challenge, response) => {
    expect(tdesEncrypt(key, challenge).toString('hex')).toBe(response.toString('hex'));
  });

  it.each(domain)('%s, through a kept ecbEncryptor context used again and again', (_name, key, challenge, response) => {
    const encrypt = ecbEncryptor(key);
    for (let i = 0; i < 3; i++) expect(encrypt(challenge).toString('hex')).toBe(response.toString('hex'));
    // Two blocks in one call: block by block, as ECB is.
    expect(encrypt(Buffer.concat([challenge, challenge])).toString('hex')).toBe(response.toString('hex').repeat(2));
  });

  it('ecbEncryptor refuses what tdesEncrypt refuses, with an InputError', () => {
    expect(() => ecbEncryptor(hex('0102030405060708'))).toThrow(InputError);
    const encrypt = ecbEncryptor(Buffer.alloc(24));
    expect(() => encrypt(hex('01020304050607'))).toThrow(InputError);
    expect(() => encrypt(Buffer.alloc(0))).toThrow(/got 0 bytes/);
    // A refused call leaves the context as it was.
    expect(encrypt(hex('a892d75601617c5d')).toString('hex')).toBe('1951ec3ef81bbabb');
  });

  // NIST SP 800-67 Rev. 2, appendix example (3-key TDEA, ECB): "The qufck brown fox jump".
  it('NIST SP 800-67 three-key example', () => {
    const key = hex('0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123');
    expect(tdesEncrypt(key, Buffer.from('The qufck brown fox jump', 'ascii')).toString('hex')).toBe('a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900');
  });

  // NIST CAVP TDES ECB, keying option 3: TECBvartext.rsp COUNT=0 and TECBvarkey.rsp COUNT=0.
  it('NIST CAVP variable-plaintext and variable-key first rows', () => {
    expect(tdesEncrypt(hex('0101010101010101'.repeat(3)), hex('8000000000000000')).toString('hex')).toBe('95f8a5e5dd31d900');
    expect(tdesEncrypt(hex('8001010101010101'.repeat(3)), hex('0000000000000000')).toString('hex')).toBe('95a8d72813daa94d');
  });

  it('key check values (docs/protocol.md#known-answer-vectors)', () => {
    expect(keyCheckValue(Buffer.alloc(24)).toString('hex')).toBe('8ca64d');
    expect(keyCheckValue(hex('0102030405060708'.repeat(3))).toString('hex')).toBe('b073dc');
  });

  it('answers a multi-block challenge block by block (ECB)', () => {
    const key = hex('0102030405060708'.repeat(3));
    const two = tdesEncrypt(key, hex('1603ebdf1c8a2e72 1603ebdf1c8a2e72'));
    expect(two.toString('hex')).toBe('f940671512cd0dff'.repeat(2));
  });

  it('2-key keys are K1 K2 K1', () => {
    const k16 = hex('0123456789abcdef fedcba9876543210');
    expect(expandKey(k16).toString('hex')).toBe('0123456789abcdeffedcba98765432100123456789abcdef');
    const challenge = hex('1603ebdf1c8a2e72');
    expect(tdesEncrypt(k16, challenge)).toEqual(tdesEncrypt(expandKey(k16), challenge));
  });

  it('decryption is not encryption under a non-weak key (the zero key hides the difference)', () => {
    const challenge = b64('1hFD+cz/0so=');
    expect(tdesDecrypt(Buffer.alloc(24), challenge)).toEqual(tdesEncrypt(Buffer.alloc(24), challenge));
    const key = hex('0102030405060708'.repeat(3));
    expect(tdesDecrypt(key, challenge)).not.toEqual(tdesEncrypt(key, challenge));
  });

  it('refuses single DES keys and partial blocks with a message that names the problem', () => {
    expect(() => tdesEncrypt(hex('0102030405060708'), hex('1603ebdf1c8a2e72'))).toThrow(/24 bytes .* or 16 bytes/);
    expect(() => tdesEncrypt(Buffer.alloc(24), hex('01020304050607'))).toThrow(/8-byte blocks, got 7 bytes/);
    expect(() => tdesEncrypt(Buffer.alloc(24), Buffer.alloc(0))).toThrow(/got 0 bytes/);
  });

  it('the documented diversified key has odd parity in every byte', () => {
    expect(hasOddParity(b64('mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI'))).toBe(true);
    expect(hasOddParity(Buffer.alloc(24))).toBe(false);
  });

  it('constant-time comparison', () => {
    expect(constantTimeEqual(hex('0102'), hex('0102'))).toBe(true);
    expect(constantTimeEqual(hex('0102'), hex('0103'))).toBe(false);
    expect(constantTimeEqual(hex('0102'), hex('010203'))).toBe(false);
  });
});
