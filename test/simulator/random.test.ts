import { describe, expect, it } from 'vitest';
import { seededRandom, systemRandom } from '../../simulator/random.js';

describe('systemRandom (pooled)', () => {
  it('hands out the requested lengths, small and large, across pool refills', () => {
    for (const length of [0, 1, 8, 16, 64, 1024, 1025, 5000]) expect(systemRandom(length)).toHaveLength(length);
  });

  it('never hands out the same bytes twice, and its buffers are independent copies', () => {
    const seen = new Set<string>();
    const first = systemRandom(8);
    const copy = Buffer.from(first);
    for (let i = 0; i < 2000; i++) seen.add(systemRandom(8).toString('hex')); // ~4 pool refills
    expect(seen.size).toBe(2000);
    // The pool zeroes what it hands out: a view into it would now read as zeros.
    expect(first.equals(copy)).toBe(true);
    expect(copy.equals(Buffer.alloc(8))).toBe(false);
  });
});

describe('seededRandom', () => {
  it('repeats for the same seed, however the bytes are split', () => {
    const a = seededRandom('seed');
    const b = seededRandom('seed');
    expect(Buffer.concat([a(5), a(40), a(3)]).equals(b(48))).toBe(true);
    expect(seededRandom('other')(48).equals(seededRandom('seed')(48))).toBe(false);
  });
});
