/**
 * The key material the harness knows (every configured admin and diversified key, and
 * the diversified keys fetched from the server), and finding any of it in a text: as hex
 * in any case with any spacing, as base64 (padded or not) and as base64url. What is found
 * is named by label and encoding, never shown.
 */
import type { HarnessConfig } from '../config.js';

export interface KnownKey {
  /** e.g. "card alpha's admin key" */
  label: string;
  key: Buffer;
}

export interface KeyFound {
  label: string;
  /** e.g. "hex", "base64", "base64url" */
  form: string;
}

/** A key in the shapes it may be written: itself, and a 2-key key in its 24-byte K1 K2 K1 form. */
function variants(key: Buffer): Buffer[] {
  return key.length === 16 ? [key, Buffer.concat([key, key.subarray(0, 8)])] : [key];
}

interface Pattern {
  label: string;
  form: string;
  test(text: string, hexDigits: string): boolean;
}

/** Separators people and libraries put between hex digits or bytes: spaces, `:`, `-`, `.`, `,`, `0x`. */
const HEX_NOISE = /0x|[\s:.,-]/gi;

export class KeyRing {
  private readonly keys: KnownKey[] = [];
  private readonly patterns: Pattern[] = [];

  constructor(initial: readonly KnownKey[] = []) {
    for (const k of initial) this.add(k.label, k.key);
  }

  /** The configured keys of every card. */
  static forConfig(config: Pick<HarnessConfig, 'cards'>): KeyRing {
    const ring = new KeyRing();
    for (const card of config.cards) {
      ring.add(`card ${card.name}'s admin key`, card.adminKey);
      if (card.diversifiedKey instanceof Buffer) ring.add(`card ${card.name}'s diversified key`, card.diversifiedKey);
    }
    return ring;
  }

  add(label: string, key: Buffer): void {
    if (this.keys.some((k) => k.key.equals(key))) return;
    this.keys.push({ label, key: Buffer.from(key) });
    for (const v of variants(key)) {
      const hex = v.toString('hex');
      const encodings = [
        ['base64', v.toString('base64')],
        ['base64 without padding', v.toString('base64').replace(/=+$/, '')],
        ['base64url', v.toString('base64url')],
      ] as const;
      this.patterns.push({ label, form: 'hex', test: (_text, digits) => digits.includes(hex) });
      // Padded before unpadded, so a padded key is named as such.
      for (const [form, encoded] of encodings) this.patterns.push({ label, form, test: (text) => text.includes(encoded) });
    }
  }

  all(): readonly KnownKey[] {
    return this.keys;
  }

  /** The first known key in `text`, by label and form; null when there is none. */
  find(text: string): KeyFound | null {
    if (text.length === 0) return null;
    // Hex in any case and with any separators: compare the digits alone.
    const digits = text.replace(HEX_NOISE, '').toLowerCase();
    for (const p of this.patterns) if (p.test(text, digits)) return { label: p.label, form: p.form };
    return null;
  }
}
