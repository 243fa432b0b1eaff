import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApduFrontEnd } from '../../simulator/apdu.js';
import { VirtualCard } from '../../simulator/card.js';
import { seededRandom } from '../../simulator/random.js';

// Properties of the APDU front end (issue 2): it never throws, whatever the bytes, and no
// sequence of commands made without the secrets ever gives a counter back.

const KEY = Buffer.from('8f1e6d2c4b3a59687f0e1d2c3b4a5968a7b6c5d4e3f20110', 'hex');
// Longer than anything the generators below can produce, so no generated VERIFY hits it.
const PIN = 'a-PIN-no-generator-makes-0123456789';
const SELECT = Buffer.from('00a4040c09a00000039742544659', 'hex');

function freshFrontEnd(seed: string): ApduFrontEnd {
  const card = VirtualCard.create({ adminKey: KEY, pin: PIN, pinTries: 3, adminTries: 5 }, { random: seededRandom(seed) });
  return new ApduFrontEnd(card, { random: seededRandom(`${seed}/z`), transcriptLimit: 50 });
}

function apdu(cla: number, ins: number, p1: number, p2: number, data: Uint8Array, le?: number): Buffer {
  const head = Buffer.from([cla, ins, p1, p2]);
  const body = data.length > 0 ? Buffer.concat([Buffer.from([data.length]), Buffer.from(data)]) : Buffer.alloc(0);
  return Buffer.concat([head, body, le === undefined ? Buffer.alloc(0) : Buffer.from([le])]);
}

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const tlv = (tag: number, value: Uint8Array) => Buffer.concat([Buffer.from([tag, value.length]), Buffer.from(value)]);

/** Commands that reach deep into the dispatcher: right shapes, wrong secrets. */
const plausibleCommand: fc.Arbitrary<Buffer | 'power-off' | 'reset'> = fc.oneof(
  fc.constant(SELECT),
  fc.constant<'power-off'>('power-off'),
  fc.constant<'reset'>('reset'),
  fc.constantFrom(8, 16, 0).map((le) => apdu(0, 0x84, 0, 0, new Uint8Array(), le)),
  fc.constantFrom(0x81, 0xc1).map((p1) => Buffer.from([0, 0x22, p1, 0xa4, 3, 0x83, 1, 0x80])),
  fc.constant(Buffer.from('00870000047c02810000', 'hex')),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((r1) => apdu(0, 0x87, 0, 0, tlv(0x7c, tlv(0x81, r1)), 0)),
  fc.uint8Array({ minLength: 40, maxLength: 40 }).map((c1) => apdu(0, 0x87, 0, 0, tlv(0x7c, tlv(0x82, c1)), 0)),
  fc.uint8Array({ minLength: 8, maxLength: 8 }).map((r) => apdu(0, 0x87, 0, 0, tlv(0x7c, tlv(0x82, r)))),
  fc.uint8Array({ minLength: 1, maxLength: 24 }).map((r) => apdu(0, 0x82, 0, 0x80, r)),
  bytes(20).map((pin) => apdu(0, 0x20, 0, 0x80, pin)),
  fc.constant(Buffer.from('00200082', 'hex')),
  bytes(20).map((pin) => apdu(0, 0x2c, 2, 0x80, pin)),
  bytes(40).map((pins) => apdu(0, 0x24, 0, 0x80, pins)),
  fc
    .uint8Array({ minLength: 24, maxLength: 24 })
    .map((key) => Buffer.concat([Buffer.from('00db3fff267024840180a51f8718', 'hex'), Buffer.from(key), Buffer.from('8803b073dc', 'hex')])),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
    .map(([f, d]) => apdu(0, 0xcb, f >> 8, f & 0xff, Buffer.from([0x5c, 2, d >> 8, d & 0xff]), 0)),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), bytes(40))
    .map(([cla, ins, p1, p2, data]) => apdu(cla, ins, p1, p2, data)),
  bytes(300).map((b) => Buffer.from(b)),
);

describe('APDU front end properties', () => {
  it('never fails inside the card (no 6F00) on any byte string, selected or not, and always ends with a status word', () => {
    const fe = freshFrontEnd('bytes');
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ minLength: 0, maxLength: 600 }), (select, input) => {
        if (select) fe.transmit(SELECT);
        const out = fe.transmit(input);
        expect(out.length).toBeGreaterThanOrEqual(2);
        const sw = out.readUInt16BE(out.length - 2);
        expect(sw >> 8).toBeGreaterThanOrEqual(0x61);
        // transmit turns an exception inside the card into 6F00: that must never happen.
        expect(sw).not.toBe(0x6f00);
      }),
      { numRuns: 3000 },
    );
  });

  it('without the PIN or the admin key, no command sequence raises a counter, changes the PIN or the key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 8 }), fc.array(plausibleCommand, { minLength: 1, maxLength: 40 }), (seed, commands) => {
        const fe = freshFrontEnd(seed);
        const card = fe.card;
        let pinLeft = card.pinTriesLeft;
        let adminLeft = card.adminTriesLeft!;
        for (const command of commands) {
          if (command === 'power-off') fe.powerOff();
          else if (command === 'reset') fe.reset();
          else {
            const out = fe.transmit(command);
            expect(out.readUInt16BE(out.length - 2)).not.toBe(0x6f00); // no exception inside the card
          }
          expect(card.pinTriesLeft).toBeLessThanOrEqual(pinLeft);
          expect(card.adminTriesLeft!).toBeLessThanOrEqual(adminLeft);
          expect(card.pinTriesLeft).toBeGreaterThanOrEqual(0);
          expect(card.adminTriesLeft!).toBeGreaterThanOrEqual(0);
          expect(card.adminAuthenticated).toBe(false);
          pinLeft = card.pinTriesLeft;
          adminLeft = card.adminTriesLeft!;
        }
        const state = card.snapshot();
        expect(state.pin).toBe(PIN);
        expect(state.adminKey).toBe(KEY.toString('hex'));
      }),
      { numRuns: 400 },
    );
  });
});
