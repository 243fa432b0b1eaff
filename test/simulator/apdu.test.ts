import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApduFrontEnd, parseCommandApdu, type ApduExchange } from '../../simulator/apdu.js';
import { VirtualCard } from '../../simulator/card.js';
import { checkCardCryptogram, hostCryptogram } from '../../simulator/gids.js';
import { seededRandom, type RandomSource } from '../../simulator/random.js';

// Known answers from docs/protocol.md#known-answer-vectors; APDU bytes from docs/protocol.md#apdu-commands.
const KEY = Buffer.from('0102030405060708'.repeat(3), 'hex');
const KAT_CHALLENGE = '1603ebdf1c8a2e72';
const KAT_RESPONSE = 'f940671512cd0dff';
const NEW_KEY = Buffer.from('9b1c4a27e55d3f86c2749d1b0a66e8f3417c28d5b9e0a36f', 'hex');
const OTHER_KEY = Buffer.from('5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a99887', 'hex');
const PIN = '1234';
const CARD_ID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';

const SELECT_LONG = '00a4040009a0000003974254465900';
const SELECT_SHORT = '00a4040c09a00000039742544659';
const MSE_MUTUAL = '0022c1a403830180';
const MSE_EXTERNAL = '002281a403830180';
const GA_GET_CHALLENGE = '00870000047c02810000';

function makeCard(options: { random?: RandomSource; adminTries?: number | null } = {}): VirtualCard {
  return VirtualCard.create(
    {
      adminKey: KEY,
      pin: PIN,
      cardId: CARD_ID,
      pinTries: 3,
      adminTries: options.adminTries === undefined ? 5 : options.adminTries,
    },
    { random: options.random ?? seededRandom('apdu tests') },
  );
}

function frontEnd(options: { random?: RandomSource; adminTries?: number | null; select?: boolean } = {}): ApduFrontEnd {
  const fe = new ApduFrontEnd(makeCard(options), { random: seededRandom('z2') });
  if (options.select !== false) expect(tx(fe, SELECT_SHORT).sw).toBe(0x9000);
  return fe;
}

function tx(fe: ApduFrontEnd, hex: string): { data: string; sw: number } {
  const r = fe.transmit(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
  return { data: r.subarray(0, r.length - 2).toString('hex'), sw: r.readUInt16BE(r.length - 2) };
}

function lc(hexData: string): string {
  return (hexData.length / 2).toString(16).padStart(2, '0');
}
function verifyApdu(pin: string): string {
  const d = Buffer.from(pin, 'utf8').toString('hex');
  return `00200080${lc(d)}${d}`;
}
function rrcApdu(pin: string): string {
  const d = Buffer.from(pin, 'utf8').toString('hex');
  return `002c0280${lc(d)}${d}`;
}
/** PUT DATA 3FFF of a 3-key admin key, with the fixed KCV bytes OpenSC's gids-tool sends. */
function putKeyApdu(key: Buffer, kcv = 'b073dc'): string {
  return `00db3fff267024840180a51f8718${key.toString('hex')}8803${kcv}`;
}

/** 3DES-ECB by Node's crypto directly, independent of simulator/tdes.ts. */
function ecb(key: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('des-ede3', key, null).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}
function cbc(key: Buffer, data: Buffer, decrypt = false): Buffer {
  const c = (decrypt ? createDecipheriv : createCipheriv)('des-ede3-cbc', key, Buffer.alloc(8)).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** GENERAL AUTHENTICATE 7C/82 with an 8-byte response (external flow, step 2). */
function gaResponse(hex8: string): string {
  return `008700000c7c0a8208${hex8}`;
}

/** External admin authentication as the GIDS applet's flow: MSE, GA 81 (challenge), GA 82 (response). */
function externalAuth(fe: ApduFrontEnd, key: Buffer): number {
  expect(tx(fe, MSE_EXTERNAL).sw).toBe(0x9000);
  const c = tx(fe, GA_GET_CHALLENGE);
  expect(c.sw).toBe(0x9000);
  expect(c.data.slice(0, 8)).toBe('7c0a8108');
  const response = ecb(key, Buffer.from(c.data.slice(8), 'hex')).toString('hex');
  return tx(fe, gaResponse(response)).sw;
}

describe('parseCommandApdu', () => {
  it('reads the four ISO cases, short and extended', () => {
    expect(parseCommandApdu(Buffer.from('00208082', 'hex'))).toMatchObject({ cla: 0, ins: 0x20, p1: 0x80, p2: 0x82, le: null });
    expect(parseCommandApdu(Buffer.from('0084000008', 'hex'))).toMatchObject({ ins: 0x84, le: 8 });
    expect(parseCommandApdu(Buffer.from('0084000000', 'hex'))?.le).toBe(256);
    const c3 = parseCommandApdu(Buffer.from('0020008004aabbccdd', 'hex'));
    expect(c3?.data.toString('hex')).toBe('aabbccdd');
    expect(c3?.le).toBeNull();
    const c4 = parseCommandApdu(Buffer.from(SELECT_LONG, 'hex'));
    expect(c4?.data.toString('hex')).toBe('a00000039742544659');
    expect(c4?.le).toBe(256);
    expect(parseCommandApdu(Buffer.from('00840000000010', 'hex'))?.le).toBe(16);
    const e3 = parseCommandApdu(Buffer.from('00200080000004aabbccdd', 'hex'));
    expect(e3?.data.toString('hex')).toBe('aabbccdd');
    const e4 = parseCommandApdu(Buffer.from('00200080000004aabbccdd0000', 'hex'));
    expect(e4?.le).toBe(65536);
  });

  it('refuses what no case fits', () => {
    for (const hex of ['', '00', '002000', '0020008004aabb', '0020008002aabbccdd', '002000800000', '0020008000000001']) {
      expect(parseCommandApdu(Buffer.from(hex, 'hex')), hex).toBeNull();
    }
  });
});

describe('SELECT and the probes of other drivers', () => {
  it('selects the GIDS AID in both forms OpenSC sends; the long form answers the FCI', () => {
    const fe = frontEnd({ select: false });
    const long = tx(fe, SELECT_LONG);
    expect(long.sw).toBe(0x9000);
    expect(long.data).toBe('610b4f09a00000039742544659');
    expect(tx(fe, SELECT_SHORT)).toEqual({ data: '', sw: 0x9000 });
    expect(fe.applicationSelected).toBe(true);
  });

  it('matches the 9-byte prefix, so version bytes may follow', () => {
    const fe = frontEnd({ select: false });
    expect(tx(fe, '00a4040c0ba000000397425446590201').sw).toBe(0x9000);
  });

  it('answers 6A82 to other AIDs and 6D00 to other instructions before the GIDS select', () => {
    const fe = frontEnd({ select: false });
    expect(tx(fe, '00a4040009a00000030800001000').sw).toBe(0x6a82); // PIV
    expect(tx(fe, '00a4040006d2760001240100').sw).toBe(0x6a82); // OpenPGP
    expect(tx(fe, '00a4040008a000000397425446').sw).toBe(0x6a82); // 8 bytes: a prefix of the AID is not enough
    expect(tx(fe, '00cb3fff055c035fc10700').sw).toBe(0x6d00); // PIV GET DATA
    expect(tx(fe, '00ca7f6800').sw).toBe(0x6d00);
    expect(tx(fe, '0084000008').sw).toBe(0x6d00);
    expect(fe.applicationSelected).toBe(false);
  });

  it('answers 6E00 to proprietary classes, 6D00 to unknown instructions, 6700 to bad lengths, 6A86 to bad P1/P2', () => {
    const fe = frontEnd();
    expect(tx(fe, '80ca9f7f00').sw).toBe(0x6e00);
    expect(tx(fe, '00ee000000').sw).toBe(0x6d00);
    expect(tx(fe, '0084').sw).toBe(0x6700);
    expect(tx(fe, '0020008004313233').sw).toBe(0x6700);
    expect(tx(fe, '0084000000').sw).toBe(0x9000); // Le 00: one block
    expect(tx(fe, '0084000007').sw).toBe(0x6700);
    expect(tx(fe, '0084010008').sw).toBe(0x6a86);
    expect(tx(fe, '00a4040109a00000039742544659').sw).toBe(0x6a86);
    expect(tx(fe, '10a4040c09a00000039742544659').sw).toBe(0x6884); // chaining
    expect(tx(fe, '0ca4040c09a00000039742544659').sw).toBe(0x6882); // secure messaging
    expect(tx(fe, '01a4040c09a00000039742544659').sw).toBe(0x6881); // logical channel
  });
});

describe('admin authentication, external flow (what a CM server response serves)', () => {
  it('GENERAL AUTHENTICATE 7C/81 hands out the challenge; 7C/82 with 3DES(K, challenge) authenticates (known answer)', () => {
    const fe = frontEnd({ random: () => Buffer.from(KAT_CHALLENGE, 'hex') });
    expect(tx(fe, MSE_EXTERNAL).sw).toBe(0x9000);
    expect(tx(fe, GA_GET_CHALLENGE)).toEqual({ data: `7c0a8108${KAT_CHALLENGE}`, sw: 0x9000 });
    expect(tx(fe, `008700000c7c0a8208${KAT_RESPONSE}`).sw).toBe(0x9000);
    expect(fe.card.adminAuthenticated).toBe(true);
  });

  it('GET CHALLENGE then EXTERNAL AUTHENTICATE works the same way (known answer)', () => {
    const fe = frontEnd({ random: () => Buffer.from(KAT_CHALLENGE, 'hex') });
    expect(tx(fe, '0084000008')).toEqual({ data: KAT_CHALLENGE, sw: 0x9000 });
    expect(tx(fe, `0082008008${KAT_RESPONSE}`).sw).toBe(0x9000);
    expect(fe.card.adminAuthenticated).toBe(true);
  });

  it('a wrong response gets 6982 (GENERAL AUTHENTICATE) or 63Cx (EXTERNAL AUTHENTICATE), and costs an admin attempt', () => {
    const fe = frontEnd();
    expect(externalAuth(fe, OTHER_KEY)).toBe(0x6982);
    expect(fe.card.adminTriesLeft).toBe(4);
    tx(fe, '0084000008');
    expect(tx(fe, '00820080080000000000000000').sw).toBe(0x63c3);
    expect(fe.card.adminTriesLeft).toBe(3);
    expect(fe.card.adminAuthenticated).toBe(false);
  });

  it('one answer per challenge: a second answer, even the right one, gets 6985', () => {
    const fe = frontEnd({ random: () => Buffer.from(KAT_CHALLENGE, 'hex') });
    tx(fe, GA_GET_CHALLENGE);
    expect(tx(fe, gaResponse('ffffffffffffffff')).sw).toBe(0x6982);
    expect(tx(fe, gaResponse(KAT_RESPONSE)).sw).toBe(0x6985);
    expect(fe.card.adminAuthenticated).toBe(false);
  });

  it('without a challenge the response is refused with 6985 and nothing is counted', () => {
    const fe = frontEnd();
    expect(tx(fe, gaResponse(KAT_RESPONSE)).sw).toBe(0x6985);
    expect(fe.card.adminTriesLeft).toBe(5);
  });

  it('a blocked admin key answers 6983, even to the right response', () => {
    const fe = frontEnd({ adminTries: 2 });
    expect(externalAuth(fe, OTHER_KEY)).toBe(0x6982);
    expect(externalAuth(fe, OTHER_KEY)).toBe(0x6983);
    expect(fe.card.adminBlocked).toBe(true);
    // No challenge is handed out for a blocked key, in either flow, and none is left pending.
    expect(tx(fe, GA_GET_CHALLENGE)).toEqual({ data: '', sw: 0x6983 });
    expect(tx(fe, `00870000147c128110${'11'.repeat(16)}00`)).toEqual({ data: '', sw: 0x6983 });
    // GET CHALLENGE agrees with GENERAL AUTHENTICATE: 6983 and nothing pending.
    expect(tx(fe, '0084000008')).toEqual({ data: '', sw: 0x6983 });
    expect(fe.card.hasPendingChallenge).toBe(false);
    expect(tx(fe, `0082008008${KAT_RESPONSE}`).sw).toBe(0x6983);
  });

  it("the refusal is the card's: a card blocked through its own API refuses GET CHALLENGE and GA 81 with its own status word", () => {
    const fe = frontEnd({ adminTries: 1 });
    // Block through the card API, not through APDUs: the front end holds no rule of its own.
    fe.card.getChallenge();
    fe.card.authenticateAdmin(Buffer.alloc(8));
    const cardAnswer = fe.card.issueChallenge();
    expect(cardAnswer.ok).toBe(false);
    for (const command of ['0084000008', '0084000010', '0084000000', GA_GET_CHALLENGE, `00870000147c128110${'22'.repeat(16)}00`]) {
      expect(tx(fe, command), command).toEqual({ data: '', sw: cardAnswer.sw });
    }
    expect(fe.card.hasPendingChallenge).toBe(false);
    // A length the card never hands out is refused for its length first (6700), blocked or not.
    expect(tx(fe, '0084000007').sw).toBe(0x6700);
  });

  it('malformed templates get 6A80 and MSE SET of another key reference 6A88', () => {
    const fe = frontEnd();
    expect(tx(fe, '00870000047d02810000').sw).toBe(0x6a80);
    expect(tx(fe, '00870000047c03810000').sw).toBe(0x6a80);
    expect(tx(fe, '00870000047c02830000').sw).toBe(0x6a80);
    expect(tx(fe, MSE_MUTUAL).sw).toBe(0x9000);
    expect(tx(fe, '0022c1a403830181').sw).toBe(0x6a88);
    expect(tx(fe, '0022c1a4028301').sw).toBe(0x6a80);
  });
});

describe('admin authentication, mutual flow (what OpenSC gids-tool does)', () => {
  function mutual(fe: ApduFrontEnd, key: Buffer): { sw: number; r1: Buffer; r2: Buffer; c2: Buffer | null } {
    expect(tx(fe, MSE_MUTUAL).sw).toBe(0x9000);
    const r1 = randomBytes(16);
    const step1 = tx(fe, `00870000147c128110${r1.toString('hex')}00`);
    expect(step1.sw).toBe(0x9000);
    expect(step1.data.slice(0, 8)).toBe('7c128110');
    const r2 = Buffer.from(step1.data.slice(8), 'hex');
    expect(r2.length).toBe(16);
    const z1 = Buffer.concat([randomBytes(7), Buffer.from([0x80])]);
    const c1 = cbc(key, Buffer.concat([r2, r1, z1]));
    const step2 = tx(fe, `008700002c7c2a8228${c1.toString('hex')}00`);
    if (step2.sw !== 0x9000) return { sw: step2.sw, r1, r2, c2: null };
    // OpenSC requires exactly 44 bytes: 7C 2A 82 28 and the 40-byte C2.
    expect(step2.data.length).toBe(88);
    expect(step2.data.slice(0, 8)).toBe('7c2a8228');
    return { sw: step2.sw, r1, r2, c2: Buffer.from(step2.data.slice(8), 'hex') };
  }

  it('answers C2 = 3DES-CBC(K, R1 | R2 | Z2) to a correct C1, and authenticates', () => {
    const fe = frontEnd();
    const { sw, r1, r2, c2 } = mutual(fe, KEY);
    expect(sw).toBe(0x9000);
    const plain = cbc(KEY, c2!, true);
    expect(plain.subarray(0, 16)).toEqual(r1);
    expect(plain.subarray(16, 32)).toEqual(r2);
    expect(plain[39]).toBe(0x80);
    expect(fe.card.adminAuthenticated).toBe(true);
  });

  it('the host-side helpers in gids.ts agree with the card (what a PC/SC client of this library would use)', () => {
    const fe = frontEnd();
    tx(fe, MSE_MUTUAL);
    const r1 = randomBytes(16);
    const r2 = Buffer.from(tx(fe, `00870000147c128110${r1.toString('hex')}00`).data.slice(8), 'hex');
    const c1 = hostCryptogram(KEY, r1, r2, randomBytes(7));
    const plain = cbc(KEY, c1, true);
    expect([plain.subarray(0, 16), plain.subarray(16, 32), plain[39]]).toEqual([r2, r1, 0x80]);
    const answer = tx(fe, `008700002c7c2a8228${c1.toString('hex')}00`);
    expect(answer.sw).toBe(0x9000);
    const c2 = Buffer.from(answer.data.slice(8), 'hex');
    expect(checkCardCryptogram(KEY, c2, r1, r2)).toBe(true);
    expect(checkCardCryptogram(OTHER_KEY, c2, r1, r2)).toBe(false);
    expect(checkCardCryptogram(KEY, c2, r2, r1)).toBe(false);
  });

  it('a C1 under another key gets 6982 and costs an admin attempt; the next right one restores the counter', () => {
    const fe = frontEnd();
    expect(mutual(fe, OTHER_KEY).sw).toBe(0x6982);
    expect(fe.card.adminTriesLeft).toBe(4);
    expect(fe.card.adminAuthenticated).toBe(false);
    expect(mutual(fe, KEY).sw).toBe(0x9000);
    expect(fe.card.adminTriesLeft).toBe(5);
  });

  it('a C1 whose R1 or padding is wrong is refused', () => {
    const fe = frontEnd();
    tx(fe, MSE_MUTUAL);
    const r1 = randomBytes(16);
    const r2 = Buffer.from(tx(fe, `00870000147c128110${r1.toString('hex')}00`).data.slice(8), 'hex');
    const otherR1 = Buffer.from(r1.map((b) => b ^ 1));
    const c1 = cbc(KEY, Buffer.concat([r2, otherR1, randomBytes(7), Buffer.from([0x80])]));
    expect(tx(fe, `008700002c7c2a8228${c1.toString('hex')}00`).sw).toBe(0x6982);
    const r1b = randomBytes(16);
    const r2b = Buffer.from(tx(fe, `00870000147c128110${r1b.toString('hex')}00`).data.slice(8), 'hex');
    const noPad = cbc(KEY, Buffer.concat([r2b, r1b, randomBytes(7), Buffer.from([0x00])]));
    expect(tx(fe, `008700002c7c2a8228${noPad.toString('hex')}00`).sw).toBe(0x6982);
    expect(fe.card.adminTriesLeft).toBe(3);
  });

  it('a C1 with no R2 handed out gets 6985; one replayed after its answer gets 6985', () => {
    const fe = frontEnd();
    const c1 = cbc(KEY, randomBytes(40));
    expect(tx(fe, `008700002c7c2a8228${c1.toString('hex')}00`).sw).toBe(0x6985);
    tx(fe, MSE_MUTUAL);
    const r1 = randomBytes(16);
    const r2 = Buffer.from(tx(fe, `00870000147c128110${r1.toString('hex')}00`).data.slice(8), 'hex');
    const good = cbc(KEY, Buffer.concat([r2, r1, randomBytes(7), Buffer.from([0x80])])).toString('hex');
    expect(tx(fe, `008700002c7c2a8228${good}00`).sw).toBe(0x9000);
    expect(tx(fe, `008700002c7c2a8228${good}00`).sw).toBe(0x6985);
    expect(fe.card.adminAuthenticated).toBe(false);
  });
});

describe('admin rights drop', () => {
  const cases: Array<[string, (fe: ApduFrontEnd) => void]> = [
    ['on SELECT', (fe) => tx(fe, SELECT_SHORT)],
    ['on logout (VERIFY P2 82)', (fe) => expect(tx(fe, '00200082').sw).toBe(0x9000)],
    ['on a failed authentication', (fe) => externalAuth(fe, OTHER_KEY)],
    ['on power off', (fe) => fe.powerOff()],
    ['on reset', (fe) => fe.reset()],
    ['after an unblock', (fe) => expect(tx(fe, rrcApdu('4321')).sw).toBe(0x9000)],
  ];
  for (const [when, act] of cases) {
    it(when, () => {
      const fe = frontEnd();
      expect(externalAuth(fe, KEY)).toBe(0x9000);
      act(fe);
      expect(fe.card.adminAuthenticated).toBe(false);
      if (!fe.applicationSelected) tx(fe, SELECT_SHORT);
      expect(tx(fe, rrcApdu('9999')).sw).toBe(0x6982);
    });
  }

  it('power off also drops the pending challenge and the selection', () => {
    const fe = frontEnd({ random: () => Buffer.from(KAT_CHALLENGE, 'hex') });
    tx(fe, GA_GET_CHALLENGE);
    fe.powerOff();
    fe.powerOn();
    expect(fe.applicationSelected).toBe(false);
    expect(tx(fe, gaResponse(KAT_RESPONSE)).sw).toBe(0x6d00);
    tx(fe, SELECT_SHORT);
    expect(tx(fe, gaResponse(KAT_RESPONSE)).sw).toBe(0x6985);
  });
});

describe('VERIFY, RESET RETRY COUNTER, CHANGE REFERENCE DATA', () => {
  it('counts wrong PINs down with 63Cx, blocks with 6983, and the right PIN then gets 6983 too', () => {
    const fe = frontEnd();
    expect(tx(fe, '00200080').sw).toBe(0x63c3);
    expect(tx(fe, verifyApdu('9999')).sw).toBe(0x63c2);
    expect(tx(fe, verifyApdu('0000')).sw).toBe(0x63c1);
    expect(tx(fe, '00200080').sw).toBe(0x63c1);
    expect(tx(fe, verifyApdu('1111')).sw).toBe(0x6983);
    expect(tx(fe, verifyApdu(PIN)).sw).toBe(0x6983);
    expect(tx(fe, '00200080').sw).toBe(0x6983);
    expect(fe.card.pinTriesLeft).toBe(0);
  });

  it('the right PIN verifies (9000), restores the tries and VERIFY without data then says 9000', () => {
    const fe = frontEnd();
    tx(fe, verifyApdu('9999'));
    expect(tx(fe, verifyApdu(PIN)).sw).toBe(0x9000);
    expect(fe.card.pinTriesLeft).toBe(3);
    expect(tx(fe, '00200080').sw).toBe(0x9000);
    expect(tx(fe, '00200082').sw).toBe(0x9000);
    expect(tx(fe, '00200080').sw).toBe(0x63c3);
  });

  it('unblocks: RESET RETRY COUNTER P1 02 P2 80 after admin authentication sets the PIN and restores its tries', () => {
    const fe = frontEnd();
    for (const p of ['0000', '1111', '2222']) tx(fe, verifyApdu(p));
    expect(fe.card.pinBlocked).toBe(true);
    expect(tx(fe, rrcApdu('5678')).sw).toBe(0x6982);
    expect(externalAuth(fe, KEY)).toBe(0x9000);
    expect(tx(fe, rrcApdu('5678')).sw).toBe(0x9000);
    expect(fe.card.pinTriesLeft).toBe(3);
    expect(tx(fe, verifyApdu(PIN)).sw).toBe(0x63c2);
    expect(tx(fe, verifyApdu('5678')).sw).toBe(0x9000);
  });

  it('refuses other RESET RETRY COUNTER forms and a too short new PIN', () => {
    const fe = frontEnd();
    expect(externalAuth(fe, KEY)).toBe(0x9000);
    expect(tx(fe, '002c000008313233343536373800').sw).not.toBe(0x9000);
    expect(tx(fe, '002c0281043536373800').sw).toBe(0x6a88);
    expect(tx(fe, '002c0280').sw).toBe(0x6700);
    expect(tx(fe, rrcApdu('12')).sw).toBe(0x6a80);
    expect(fe.card.adminAuthenticated).toBe(true); // a refused command leaves the rights alone
  });

  it('CHANGE REFERENCE DATA: old PIN then new PIN, no separator', () => {
    const fe = frontEnd();
    const data = Buffer.from(`${PIN}87654321`).toString('hex');
    expect(tx(fe, `00240080${lc(data)}${data}`).sw).toBe(0x9000);
    expect(tx(fe, verifyApdu('87654321')).sw).toBe(0x9000);
    const wrong = Buffer.from('0000abcdefgh').toString('hex');
    expect(tx(fe, `00240080${lc(wrong)}${wrong}`).sw).toBe(0x63c2);
    expect(fe.card.pinTriesLeft).toBe(2);
  });

  it('CHANGE REFERENCE DATA counts every attempt, short or long, so its answer never tells the PIN length', () => {
    const fe = frontEnd();
    const stored = Buffer.byteLength(PIN, 'utf8');
    // Wrong data no longer than the PIN and longer than it: both cost a try, both answer 63Cx.
    const short = Buffer.from('9'.repeat(stored - 1)).toString('hex');
    expect(tx(fe, `00240080${lc(short)}${short}`).sw).toBe(0x63c2);
    const long = Buffer.from('9'.repeat(stored + 4)).toString('hex');
    expect(tx(fe, `00240080${lc(long)}${long}`).sw).toBe(0x63c1);
    expect(fe.card.pinTriesLeft).toBe(1);
    // The right old PIN with no room for a new one: 6A80, the try given back, the PIN kept.
    const noNew = Buffer.from(PIN).toString('hex');
    expect(tx(fe, `00240080${lc(noNew)}${noNew}`).sw).toBe(0x6a80);
    expect(fe.card.pinTriesLeft).toBe(3);
    expect(tx(fe, verifyApdu(PIN)).sw).toBe(0x9000);
  });
});

describe('PUT DATA: admin key import', () => {
  it('needs admin authentication (6982), then the new key works and the old one fails', () => {
    const fe = frontEnd();
    expect(tx(fe, putKeyApdu(NEW_KEY)).sw).toBe(0x6982);
    expect(externalAuth(fe, KEY)).toBe(0x9000);
    expect(tx(fe, putKeyApdu(NEW_KEY)).sw).toBe(0x9000);
    expect(fe.card.snapshot().adminKey).toBe(NEW_KEY.toString('hex'));
    tx(fe, '00200082');
    expect(externalAuth(fe, KEY)).toBe(0x6982);
    expect(externalAuth(fe, NEW_KEY)).toBe(0x9000);
  });

  it('refuses a malformed template (6A80), another key reference (6A88) and other files', () => {
    const fe = frontEnd();
    expect(externalAuth(fe, KEY)).toBe(0x9000);
    expect(tx(fe, '00db3fff0470028401').sw).toBe(0x6a80);
    // a 20-byte key: neither 3-key (24) nor 2-key (16)
    expect(tx(fe, `00db3fff1d701b840180a5168714${'11'.repeat(20)}`).sw).toBe(0x6a80);
    const otherRef = putKeyApdu(NEW_KEY).replace('7024840180', '7024840181');
    expect(tx(fe, otherRef).sw).toBe(0x6a88);
    expect(tx(fe, '00dba01008df2205000000000000').sw).toBe(0x6985);
    expect(fe.card.snapshot().adminKey).toBe(KEY.toString('hex'));
  });

  it('takes the key whatever its KCV bytes say, as gids-tool sends a fixed KCV for every key', () => {
    const fe = frontEnd();
    expect(externalAuth(fe, KEY)).toBe(0x9000);
    const realKcv = ecb(NEW_KEY, Buffer.alloc(8)).subarray(0, 3).toString('hex');
    expect(realKcv).not.toBe('b073dc');
    expect(tx(fe, putKeyApdu(NEW_KEY)).sw).toBe(0x9000);
    expect(fe.card.snapshot().adminKey).toBe(NEW_KEY.toString('hex'));
    expect(tx(fe, putKeyApdu(KEY, realKcv)).sw).toBe(0x9000); // a true KCV of another key is no error either
  });
});

describe('GET DATA: the objects pkcs15-tool reads', () => {
  function getData(fe: ApduFrontEnd, file: string, dataObject: string): { data: string; sw: number } {
    return tx(fe, `00cb${file}045c02${dataObject}00`);
  }

  it('the master file lists cardid, cardapps, cardcf and cmapfile in 28-byte records', () => {
    const fe = frontEnd();
    const r = getData(fe, 'a000', 'df1f');
    expect(r.sw).toBe(0x9000);
    const bytes = Buffer.from(r.data, 'hex');
    expect(bytes.subarray(0, 3).toString('hex')).toBe('df1f81');
    const mf = bytes.subarray(4);
    expect(mf.length).toBe(bytes[3]);
    expect(mf[0]).toBe(1);
    const records = [];
    for (let at = 1; at + 28 <= mf.length; at += 28) {
      const rec = mf.subarray(at, at + 28);
      records.push([
        rec.subarray(0, 9).toString('latin1').replace(/\0+$/, ''),
        rec.subarray(9, 18).toString('latin1').replace(/\0+$/, ''),
        rec.readInt32LE(20).toString(16),
        rec.readInt32LE(24).toString(16),
      ]);
    }
    expect(records).toEqual([
      ['mscp', '', '0', 'a000'],
      ['', 'cardid', 'df20', 'a012'],
      ['', 'cardapps', 'df21', 'a010'],
      ['', 'cardcf', 'df22', 'a010'],
      ['mscp', 'cmapfile', 'df23', 'a010'],
    ]);
  });

  it('the card id is the 16 bytes of the card GUID; the container map is empty', () => {
    const fe = frontEnd();
    expect(getData(fe, 'a012', 'df20')).toEqual({ data: `df2010${CARD_ID.replace(/-/g, '')}`, sw: 0x9000 });
    expect(getData(fe, 'a010', 'df23')).toEqual({ data: 'df2300', sw: 0x9000 });
  });

  it('the PIN status object tells tries left and limit (97 01 tries 93 01 limit)', () => {
    const fe = frontEnd();
    expect(getData(fe, '3fff', '7f71')).toEqual({ data: '7f7106970103930103', sw: 0x9000 });
    tx(fe, verifyApdu('0000'));
    expect(getData(fe, '3fff', '7f71').data).toBe('7f7106970102930103');
  });

  it('unknown objects get 6A88, unknown files 6A82, no PUK here', () => {
    const fe = frontEnd();
    expect(getData(fe, '3fff', '7f73').sw).toBe(0x6a88);
    expect(getData(fe, 'a000', 'df20').sw).toBe(0x6a88);
    expect(getData(fe, 'b000', 'df20').sw).toBe(0x6a82);
    expect(tx(fe, '00cba000025c00').sw).toBe(0x6a80);
  });
});

describe('transcript', () => {
  it('keeps every exchange with PINs and keys masked', () => {
    const seen: ApduExchange[] = [];
    const fe = new ApduFrontEnd(makeCard(), { onExchange: (e) => seen.push(e) });
    tx(fe, SELECT_SHORT);
    tx(fe, verifyApdu('8642'));
    expect(externalAuth(fe, KEY)).toBe(0x9000);
    tx(fe, rrcApdu('97531'));
    tx(fe, putKeyApdu(NEW_KEY));
    tx(fe, '00a4');
    expect(fe.transcript.length).toBe(seen.length);
    expect(fe.transcript.map((e) => e.name)).toEqual([
      'SELECT',
      'VERIFY',
      'MANAGE SECURITY ENVIRONMENT',
      'GENERAL AUTHENTICATE',
      'GENERAL AUTHENTICATE',
      'RESET RETRY COUNTER',
      'PUT DATA',
      '(malformed)',
    ]);
    const text = JSON.stringify(fe.transcript).replace(/\s/g, '');
    for (const secret of ['8642', '97531', NEW_KEY.toString('hex')]) {
      expect(text).not.toContain(Buffer.from(secret, /^[0-9a-f]{48}$/.test(secret) ? 'hex' : 'utf8').toString('hex'));
    }
    expect(fe.transcript[1]!.command).toBe('00 20 00 80 04 ** ** ** **');
    expect(fe.transcript[1]!.sw).toBe(0x63c2);
  });

  it('is bounded by transcriptLimit, oldest first out', () => {
    const fe = new ApduFrontEnd(makeCard(), { transcriptLimit: 3 });
    for (let i = 0; i < 10; i++) tx(fe, '0084000008');
    expect(fe.transcript.map((e) => e.index)).toEqual([8, 9, 10]);
  });
});
