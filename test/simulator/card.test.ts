import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CardRefusedError, VirtualCard, atrProblem, describeResult, type CardState } from '../../simulator/card.js';
import { InputError } from '../../simulator/errors.js';
import { seededRandom, type RandomSource } from '../../simulator/random.js';
import { tdesEncrypt } from '../../simulator/tdes.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const b64 = (s: string) => Buffer.from(s, 'base64');
// A non-weak 3-key key (NIST SP 800-67's example key); responses under it are computed by
// tdes.ts, whose own known-answer tests pin it to NIST and the vectors of docs/protocol.md#known-answer-vectors.
const KEY = hex('0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123');
const CARDID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';

/** A random source that hands out these byte strings in turn. */
function fixed(...chunks: Buffer[]): RandomSource {
  let i = 0;
  return (length) => {
    const c = chunks[i++ % chunks.length]!;
    if (c.length !== length) throw new Error(`test source has ${c.length} bytes, card asked for ${length}`);
    return Buffer.from(c);
  };
}

function newCard(extra: Partial<Parameters<typeof VirtualCard.create>[0]> = {}, random?: RandomSource): VirtualCard {
  return VirtualCard.create({ adminKey: KEY, pin: '1234', cardId: CARDID, ...extra }, random ? { random } : {});
}

describe('admin challenge/response: known answers (docs/protocol.md#known-answer-vectors)', () => {
  it('the MIM documented example: all-zero key, 1hFD+cz/0so= answered by F0Zudm4wPLY=', () => {
    const card = newCard({ adminKey: Buffer.alloc(24) }, fixed(b64('1hFD+cz/0so=')));
    expect(card.getChallenge().toString('base64')).toBe('1hFD+cz/0so=');
    expect(card.authenticateAdmin(b64('F0Zudm4wPLY='))).toMatchObject({ ok: true, scard: 'SCARD_S_SUCCESS', sw: 0x9000 });
    expect(card.adminAuthenticated).toBe(true);
  });

  it('a 2-key key (K1 K2 K1): 16 bytes 0102..08 x 2 answers like the 24-byte TPM default key', () => {
    const card = newCard({ adminKey: hex('0102030405060708'.repeat(2)) }, fixed(hex('1603ebdf1c8a2e72')));
    card.getChallenge();
    expect(card.authenticateAdmin(hex('f940671512cd0dff')).ok).toBe(true);
  });

  it('the enrollment flow: default key authenticates, key changed to the diversified key, old key then fails', () => {
    // docs/protocol.md#diversified-keys: starts on DefaultAdminKeyHex, diversified=false response, key change.
    const challenge = b64('1hFD+cz/0so=');
    const card = newCard({ adminKey: Buffer.alloc(24) }, fixed(challenge));
    card.getChallenge();
    expect(card.authenticateAdmin(b64('F0Zudm4wPLY=')).ok).toBe(true);
    expect(card.changeAdminKey(hex('981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408')).ok).toBe(true);
    card.logout();
    card.getChallenge();
    expect(card.authenticateAdmin(b64('F0Zudm4wPLY=')).ok).toBe(false); // the old key's response
    card.getChallenge();
    expect(card.authenticateAdmin(b64('xdUoVecIEg0=')).ok).toBe(true); // documented diversified key
    expect(card.adminTriesLeft).toBe(5);
  });

  it('the admin key cannot be changed without admin authentication', () => {
    const card = newCard();
    expect(card.changeAdminKey(Buffer.alloc(24, 7))).toMatchObject({ ok: false, sw: 0x6982 });
    expect(card.snapshot().adminKey).toBe(KEY.toString('hex'));
  });
});

describe('challenges', () => {
  it('are single-use: a second attempt with the right answer is refused (6985)', () => {
    const card = newCard();
    const response = tdesEncrypt(KEY, card.getChallenge());
    expect(card.authenticateAdmin(response).ok).toBe(true);
    expect(card.hasPendingChallenge).toBe(false);
    expect(card.authenticateAdmin(response)).toMatchObject({ ok: false, sw: 0x6985, scard: 'SCARD_W_SECURITY_VIOLATION' });
    expect(card.adminAuthenticated).toBe(false);
  });

  it("a new challenge replaces the old: the old one's response fails and costs an attempt", () => {
    const card = newCard({}, fixed(hex('1111111111111111'), hex('2222222222222222')));
    const old = tdesEncrypt(KEY, card.getChallenge());
    card.getChallenge();
    expect(card.authenticateAdmin(old)).toMatchObject({ ok: false, scard: 'SCARD_W_WRONG_CHV', sw: 0x63c4, attemptsRemaining: 4 });
  });

  it('an attempt with no pending challenge is refused and costs nothing', () => {
    const card = newCard();
    expect(card.authenticateAdmin(Buffer.alloc(8))).toMatchObject({ ok: false, sw: 0x6985 });
    expect(card.adminTriesLeft).toBe(5);
  });

  it('are 8 bytes by default, any multiple of 8 up to 64 on request, nothing else', () => {
    const card = newCard();
    expect(card.getChallenge()).toHaveLength(8);
    const sixteen = card.getChallenge(16);
    expect(sixteen).toHaveLength(16);
    expect(card.authenticateAdmin(tdesEncrypt(KEY, sixteen)).ok).toBe(true);
    for (const bad of [0, 7, 9, 72, 8.5]) expect(() => card.getChallenge(bad)).toThrow(InputError);
  });

  it('replay: the same seed gives the same challenges', () => {
    const a = newCard({}, seededRandom('replay me'));
    const b = newCard({}, seededRandom('replay me'));
    const c = newCard({}, seededRandom('another seed'));
    const first = [a.getChallenge(), a.getChallenge(16)].map((x) => x.toString('hex'));
    expect([b.getChallenge(), b.getChallenge(16)].map((x) => x.toString('hex'))).toEqual(first);
    expect(c.getChallenge().toString('hex')).not.toBe(first[0]);
  });
});

describe('the admin attempts counter', () => {
  it('counts down with the SW 63Cx and blocks for good at 0 (SCARD_W_CHV_BLOCKED, 6983)', () => {
    const card = newCard({ adminTries: 3 });
    for (const left of [2, 1]) {
      card.getChallenge();
      const r = card.authenticateAdmin(Buffer.alloc(8));
      expect(r).toMatchObject({ ok: false, scard: 'SCARD_W_WRONG_CHV', sw: 0x63c0 | left, attemptsRemaining: left });
      expect(describeResult(r)).toBe(`wrong admin response, ${left} admin attempt(s) left (SCARD_W_WRONG_CHV, SW 63C${left})`);
    }
    card.getChallenge();
    expect(card.authenticateAdmin(Buffer.alloc(8))).toMatchObject({ ok: false, scard: 'SCARD_W_CHV_BLOCKED', sw: 0x6983, attemptsRemaining: 0 });
    expect(card.adminBlocked).toBe(true);
    // Blocked for good: no challenge to answer, and no answer accepted.
    expect(card.issueChallenge()).toMatchObject({ ok: false, sw: 0x6983 });
    expect(card.authenticateAdmin(tdesEncrypt(KEY, Buffer.alloc(8)))).toMatchObject({ ok: false, sw: 0x6983 });
    expect(card.adminTriesLeft).toBe(0);
  });

  it('a correct response restores the counter', () => {
    const card = newCard();
    card.getChallenge();
    card.authenticateAdmin(Buffer.alloc(8));
    expect(card.adminTriesLeft).toBe(4);
    expect(card.authenticateAdmin(tdesEncrypt(KEY, card.getChallenge())).ok).toBe(true);
    expect(card.adminTriesLeft).toBe(5);
  });

  it('unlimited mode never blocks', () => {
    const card = newCard({ adminTries: null });
    for (let i = 0; i < 100; i++) {
      card.getChallenge();
      expect(card.authenticateAdmin(Buffer.alloc(8))).toMatchObject({ ok: false, scard: 'SCARD_W_WRONG_CHV', sw: 0x6982, attemptsRemaining: null });
    }
    expect(card.adminBlocked).toBe(false);
    expect(card.authenticateAdmin(tdesEncrypt(KEY, card.getChallenge())).ok).toBe(true);
  });

  it('is persisted, challenge consumed, before the response is compared', () => {
    // A persist that fails (disk full, power loss) must stop the operation before the
    // compare: the right answer then authenticates nothing.
    const writes: CardState[] = [];
    let failNext = false;
    const card = VirtualCard.fromState(newCard().snapshot(), {
      persist: (s) => {
        if (failNext) throw new Error('disk gone');
        writes.push(structuredClone(s));
      },
    });
    const response = tdesEncrypt(KEY, card.getChallenge());
    failNext = true;
    expect(() => card.authenticateAdmin(response)).toThrow('disk gone');
    expect(card.adminAuthenticated).toBe(false);
    expect(card.adminTriesLeft).toBe(4);

    failNext = false;
    writes.length = 0;
    card.getChallenge();
    card.authenticateAdmin(Buffer.alloc(8));
    expect(writes.at(-1)).toMatchObject({ adminTriesLeft: 3, pendingChallenge: null });
  });

  it('adminAttempt runs its check only after the counter is persisted', () => {
    const order: string[] = [];
    const card = VirtualCard.fromState(newCard().snapshot(), { persist: (s) => order.push(`persist ${s.adminTriesLeft}`) });
    const challenge = card.getChallenge();
    order.length = 0;
    const r = card.adminAttempt((key, ch) => {
      order.push('check');
      return tdesEncrypt(key, ch).equals(tdesEncrypt(KEY, challenge));
    });
    expect(r.ok).toBe(true);
    expect(order).toEqual(['persist 4', 'check', 'persist 5']);
  });
});

describe('the card refuses a challenge while its admin key is blocked', () => {
  function blockedCard(): VirtualCard {
    const card = newCard({ adminTries: 1 });
    card.getChallenge();
    expect(card.authenticateAdmin(Buffer.alloc(8))).toMatchObject({ ok: false, sw: 0x6983 });
    return card;
  }

  it('issueChallenge answers 6983 (SCARD_W_CHV_BLOCKED) and leaves nothing pending', () => {
    const card = blockedCard();
    const answer = card.issueChallenge();
    expect(answer).toMatchObject({ ok: false, scard: 'SCARD_W_CHV_BLOCKED', sw: 0x6983, attemptsRemaining: 0 });
    expect('challenge' in answer).toBe(false);
    expect(describeResult(answer)).toBe('admin key is blocked: no challenge issued (SCARD_W_CHV_BLOCKED, SW 6983)');
    expect(card.hasPendingChallenge).toBe(false);
    expect(card.snapshot().pendingChallenge).toBeNull();
  });

  it("getChallenge throws the card's refusal; a length the card never hands out is still bad input", () => {
    const card = blockedCard();
    let thrown: unknown;
    try {
      card.getChallenge(16);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CardRefusedError);
    expect((thrown as CardRefusedError).result).toMatchObject({ ok: false, sw: 0x6983 });
    expect(() => card.getChallenge(7)).toThrow(InputError);
    expect(card.issueChallenge(7)).toMatchObject({ ok: false, sw: 0x6700 });
  });

  it('an unblocked card hands out challenges through issueChallenge as getChallenge does', () => {
    const card = newCard({}, fixed(hex('1603ebdf1c8a2e72')));
    const answer = card.issueChallenge();
    expect(answer).toMatchObject({ ok: true, sw: 0x9000 });
    expect('challenge' in answer && answer.challenge.toString('hex')).toBe('1603ebdf1c8a2e72');
    expect(card.snapshot().pendingChallenge).toBe('1603ebdf1c8a2e72');
  });

  it('unlimited mode never refuses', () => {
    const card = newCard({ adminTries: null });
    for (let i = 0; i < 20; i++) {
      card.getChallenge();
      card.authenticateAdmin(Buffer.alloc(8));
    }
    expect(card.issueChallenge().ok).toBe(true);
  });
});

describe('the user PIN', () => {
  it('wrong PINs count down (63C2, 63C1) and block (6983); the right PIN is then refused', () => {
    const card = newCard();
    expect(card.verifyPin('0000')).toMatchObject({ ok: false, sw: 0x63c2, attemptsRemaining: 2 });
    expect(card.verifyPin('0000')).toMatchObject({ ok: false, sw: 0x63c1, attemptsRemaining: 1 });
    expect(card.verifyPin('0000')).toMatchObject({ ok: false, scard: 'SCARD_W_CHV_BLOCKED', sw: 0x6983 });
    expect(card.verifyPin('1234')).toMatchObject({ ok: false, sw: 0x6983 });
    expect(card.pinBlocked).toBe(true);
  });

  it('unblock: admin response plus new PIN resets the counter; admin rights drop after', () => {
    const card = newCard();
    card.blockPin();
    const r = card.unblockPin(tdesEncrypt(KEY, card.getChallenge()), '5678');
    expect(r).toMatchObject({ ok: true, sw: 0x9000, attemptsRemaining: 3 });
    expect(card.adminAuthenticated).toBe(false);
    expect(card.pinBlocked).toBe(false);
    expect(card.verifyPin('1234').ok).toBe(false);
    expect(card.verifyPin('5678').ok).toBe(true);
    expect(card.pinTriesLeft).toBe(3);
  });

  it('unblock with a wrong response changes no PIN; with a bad new PIN it costs no attempt', () => {
    const card = newCard();
    card.blockPin();
    card.getChallenge();
    expect(card.unblockPin(Buffer.alloc(8), '5678')).toMatchObject({ ok: false, sw: 0x63c4 });
    expect(card.pinBlocked).toBe(true);
    const challenge = card.getChallenge();
    expect(card.unblockPin(tdesEncrypt(KEY, challenge), '12')).toMatchObject({ ok: false, scard: 'SCARD_E_INVALID_CHV' });
    expect(card.adminTriesLeft).toBe(4);
    expect(card.hasPendingChallenge).toBe(true);
  });

  it('resetPin needs admin authentication', () => {
    const card = newCard();
    card.blockPin();
    expect(card.resetPin('5678')).toMatchObject({ ok: false, sw: 0x6982 });
    expect(card.pinBlocked).toBe(true);
  });

  it('changePin needs the old PIN', () => {
    const card = newCard();
    expect(card.changePin('9999', '5678')).toMatchObject({ ok: false, sw: 0x63c2 });
    expect(card.changePin('1234', '5678').ok).toBe(true);
    expect(card.verifyPin('5678').ok).toBe(true);
  });
});

describe('authentication state', () => {
  it('admin rights drop on logout, reset, a failed attempt and a reload', () => {
    const card = newCard();
    const auth = () => expect(card.authenticateAdmin(tdesEncrypt(KEY, card.getChallenge())).ok).toBe(true);
    auth();
    card.logout();
    expect(card.adminAuthenticated).toBe(false);
    auth();
    card.reset();
    expect(card.adminAuthenticated).toBe(false);
    auth();
    card.getChallenge();
    card.authenticateAdmin(Buffer.alloc(8));
    expect(card.adminAuthenticated).toBe(false);
    auth();
    expect(VirtualCard.fromState(card.snapshot()).adminAuthenticated).toBe(false);
  });

  it('reset clears the pending challenge', () => {
    const card = newCard();
    card.getChallenge();
    card.reset();
    expect(card.hasPendingChallenge).toBe(false);
  });
});

describe('creation', () => {
  it('makes a GUID cardid, a serial and the default ATR', () => {
    const card = VirtualCard.create({ adminKey: KEY, pin: '1234' });
    expect(card.cardId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(card.snapshot().serial).toBe(card.cardId.replace(/-/g, '').toUpperCase());
    expect(card.atr).toBe('3b8d0180fba000000397425446590301c8');
  });

  it.each([
    [{ adminKey: Buffer.alloc(8) }, /admin key must be 24 bytes/],
    [{ pin: '123' }, /PIN must be 4 to 127 bytes, got 3/],
    [{ cardId: 'not-a-guid' }, /cardid is not a GUID/],
    [{ adminTries: 0 }, /admin tries must be a whole number from 1 to 15, got 0/],
    [{ pinTries: 16 }, /PIN tries must be a whole number from 1 to 15, got 16/],
    [{ atr: '3b8z' }, /ATR is not hex/],
    [{ atr: '3b8d0180fba000000397425446590301c9' }, /ATR has a wrong TCK byte C9 \(expected C8\)/],
  ])('refuses bad options: %o', (extra, message) => {
    expect(() => newCard(extra)).toThrow(message);
  });
});

describe('ATR checks (ISO 7816-3)', () => {
  it('accepts the documented GIDS ATR (docs/protocol.md#request-lifecycle) and a T=0-only ATR without TCK', () => {
    expect(atrProblem(hex('3b8d0180fba000000397425446590301c8'))).toBeNull();
    expect(atrProblem(hex('3b00'))).toBeNull();
  });
  it('refuses a wrong TCK, a cut-short ATR, a bad TS and extra bytes', () => {
    expect(atrProblem(hex('3b8d0180fba000000397425446590301c9'))).toMatch(/wrong TCK byte C9 \(expected C8\)/);
    expect(atrProblem(hex('3b8d0180fba0000003974254465903'))).toMatch(/should be 17 bytes/);
    expect(atrProblem(hex('3c00'))).toMatch(/TS 3B or 3F/);
    expect(atrProblem(hex('3b0000'))).toMatch(/should be 2 bytes/);
    expect(atrProblem(hex('3b80'))).toMatch(/cut short/);
  });
  it('a custom ATR is kept in lower-case hex', () => {
    expect(newCard({ atr: '3B 00' }).atr).toBe('3b00');
  });
});

describe('properties (fast-check)', () => {
  const keyArb = fc.oneof(fc.uint8Array({ minLength: 24, maxLength: 24 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
  const blocksArb = fc.integer({ min: 1, max: 8 });

  it('every correct response verifies', () => {
    fc.assert(
      fc.property(keyArb, blocksArb, fc.uint8Array({ minLength: 32, maxLength: 32 }), (key, blocks, seed) => {
        const card = VirtualCard.create({ adminKey: key, pin: '1234', cardId: CARDID }, { random: seededRandom(seed) });
        const challenge = card.getChallenge(blocks * 8);
        return card.authenticateAdmin(tdesEncrypt(key, challenge)).ok && card.adminAuthenticated;
      }),
    );
  });

  it('every other response of the right length fails and costs exactly one attempt', () => {
    fc.assert(
      fc.property(keyArb, blocksArb, fc.uint8Array({ minLength: 64, maxLength: 64 }), (key, blocks, noise) => {
        const card = VirtualCard.create({ adminKey: key, pin: '1234', cardId: CARDID });
        const challenge = card.getChallenge(blocks * 8);
        const correct = tdesEncrypt(key, challenge);
        const other = Buffer.from(noise.subarray(0, blocks * 8));
        fc.pre(!other.equals(correct));
        const r = card.authenticateAdmin(other);
        return !r.ok && !card.adminAuthenticated && card.adminTriesLeft === 4;
      }),
    );
  });

  type Step =
    | 'challenge'
    | 'right-response'
    | 'wrong-response'
    | 'right-pin'
    | 'wrong-pin'
    | 'reset-pin'
    | 'change-key'
    | 'unblock-right'
    | 'unblock-wrong'
    | 'block'
    | 'logout'
    | 'power';
  const steps: Step[] = [
    'challenge',
    'right-response',
    'wrong-response',
    'right-pin',
    'wrong-pin',
    'reset-pin',
    'change-key',
    'unblock-right',
    'unblock-wrong',
    'block',
    'logout',
    'power',
  ];

  it('counters stay within 0..limit, and go up only through a successful authentication', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...steps), { maxLength: 60 }),
        fc.option(fc.integer({ min: 1, max: 15 }), { nil: null }),
        fc.integer({ min: 1, max: 15 }),
        (plan, adminTries, pinTries) => {
          let key: Buffer = Buffer.from(KEY);
          let pin = '1234';
          const card = VirtualCard.create({ adminKey: key, pin, cardId: CARDID, adminTries, pinTries });
          for (const step of plan) {
            const beforeAdmin = card.adminTriesLeft;
            const beforePin = card.pinTriesLeft;
            const wasAdmin = card.adminAuthenticated;
            const pending = card.snapshot().pendingChallenge;
            const right = () => (pending ? tdesEncrypt(key, Buffer.from(pending, 'hex')) : Buffer.alloc(8));
            let ok = false;
            switch (step) {
              case 'challenge':
                card.issueChallenge();
                break; // refused (6983) once the admin key is blocked
              case 'right-response':
                ok = card.authenticateAdmin(right()).ok;
                break;
              case 'wrong-response':
                ok = card.authenticateAdmin(Buffer.alloc(8, 0xee)).ok;
                break;
              case 'right-pin':
                ok = card.verifyPin(pin).ok;
                break;
              case 'wrong-pin':
                ok = card.verifyPin('wrong-pin').ok;
                break;
              case 'reset-pin':
                ok = card.resetPin('4321').ok;
                if (ok) pin = '4321';
                break;
              case 'change-key': {
                const k = Buffer.alloc(24, 0x5b);
                ok = card.changeAdminKey(k).ok;
                if (ok) key = k;
                break;
              }
              case 'unblock-right':
                ok = card.unblockPin(right(), '8765').ok;
                if (ok) pin = '8765';
                break;
              case 'unblock-wrong':
                ok = card.unblockPin(Buffer.alloc(8, 0xee), '8765').ok;
                break;
              case 'block':
                card.blockPin();
                break;
              case 'logout':
                card.logout();
                break;
              case 'power':
                card.reset();
                break;
            }
            const a = card.adminTriesLeft;
            const p = card.pinTriesLeft;
            if (adminTries === null) {
              if (a !== null) return false;
            } else if (a === null || a < 0 || a > adminTries) return false;
            if (p < 0 || p > pinTries) return false;
            // Admin counter up: only a successful admin authentication.
            if (a !== null && beforeAdmin !== null && a > beforeAdmin && !(ok && (step === 'right-response' || step === 'unblock-right'))) return false;
            // PIN counter up: only the right PIN, or a reset/unblock after admin authentication.
            if (p > beforePin && !(ok && (step === 'right-pin' || step === 'unblock-right' || (step === 'reset-pin' && wasAdmin)))) return false;
            // A wrong answer never succeeds.
            if (ok && (step === 'wrong-response' || step === 'wrong-pin' || step === 'unblock-wrong')) return false;
            // Any attempt consumes the challenge.
            if ((step === 'right-response' || step === 'wrong-response') && card.hasPendingChallenge) return false;
          }
          return true;
        },
      ),
    );
  });
});
