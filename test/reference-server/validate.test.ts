import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atrParam, challengeParam, guidParam } from '../../reference-server/validate.js';
import { formatGuid, parseGuid } from '../../simulator/bytes.js';
import { DEFAULT_ATR, MAX_CHALLENGE, VirtualCard } from '../../simulator/card.js';

/** What the card side makes of a text: its canonical GUID, or null when it refuses it. */
function simulatorGuid(text: string): string | null {
  try {
    return formatGuid(parseGuid(text));
  } catch {
    return null;
  }
}

function serverGuid(text: string): string | null {
  try {
    return guidParam(text, 'id');
  } catch {
    return null;
  }
}

describe('the server reads input as the simulator does', () => {
  it('takes exactly the GUIDs the simulator takes, in the same canonical form', () => {
    const guid = fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u));
    const wrapped = fc
      .tuple(fc.constantFrom('', '{', ' ', '{ ', '('), guid, fc.constantFrom('', '}', ' ', ' }', ')'), fc.nat(40), fc.constantFrom('', 'x', '-', 'g'))
      .map(([pre, g, post, at, insert]) => pre + g.slice(0, at) + insert + g.slice(at) + post);
    fc.assert(
      fc.property(wrapped, (text) => {
        expect(serverGuid(text), JSON.stringify(text)).toBe(simulatorGuid(text));
      }),
      { numRuns: 500, seed: 7 },
    );
    // The cases that differed before: one brace only, and surrounding spaces.
    const g = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
    expect(serverGuid(`{${g}`)).toBeNull();
    expect(serverGuid(`${g}}`)).toBeNull();
    expect(serverGuid(`{${g.toUpperCase()}}`)).toBe(g);
  });

  it('refuses the ATRs the virtual card refuses, and takes those it takes', () => {
    const refusedByCard = (atr: string): boolean => {
      try {
        VirtualCard.create({ atr, adminKey: Buffer.alloc(24, 1), pin: '12345678' });
        return false;
      } catch (err) {
        if (!/ATR/.test(String(err))) throw err;
        return true;
      }
    };
    const wrongTck = `${DEFAULT_ATR.slice(0, -2)}c9`;
    const cutShort = DEFAULT_ATR.slice(0, -4);
    for (const atr of [wrongTck, cutShort, '3f', '008d0180fba000000397425446590301c8']) {
      expect(refusedByCard(atr), atr).toBe(true);
      expect(() => atrParam(atr), atr).toThrow(/^atr /);
    }
    expect(() => atrParam(wrongTck)).toThrow(/TCK/);
    for (const atr of [DEFAULT_ATR, '3b00', DEFAULT_ATR.toUpperCase().replace(/(..)(?=.)/g, '$1 ')]) {
      expect(refusedByCard(atr.replace(/ /g, '')), atr).toBe(false);
      expect(atrParam(atr)).toBe(atr.replace(/ /g, '').toLowerCase());
    }
  });

  it('takes challenges up to the longest a card hands out, no longer', () => {
    const b64 = (n: number): string => Buffer.alloc(n, 1).toString('base64');
    expect(challengeParam(b64(MAX_CHALLENGE))).toHaveLength(MAX_CHALLENGE);
    expect(() => challengeParam(b64(MAX_CHALLENGE + 8))).toThrow(
      `challenge length in bytes must be a multiple of 8 from 8 to ${MAX_CHALLENGE}, got ${MAX_CHALLENGE + 8}`,
    );
  });
});

describe('the server checks input with the validation kit, not the card', () => {
  it('validate.ts and seed.ts import the kit and ISO 7816 helpers, never the card module', () => {
    for (const file of ['validate.ts', 'seed.ts']) {
      const source = readFileSync(resolve(import.meta.dirname, '../../reference-server', file), 'utf8');
      const imports = [...source.matchAll(/from '(\.\.\/simulator\/[^']+)'/g)].map((m) => m[1]);
      expect(imports, file).toContain('../simulator/validate.js');
      expect(imports, file).not.toContain('../simulator/card.js');
    }
  });

  it("a GUID the config, seed and card file would refuse is refused with the kit's wording", () => {
    expect(() => guidParam('nope', 'cardid')).toThrow('cardid is not a GUID like a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099, got "nope"');
  });
});
