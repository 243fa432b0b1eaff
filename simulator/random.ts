import { createHash, randomBytes } from 'node:crypto';

/** Where a card gets its challenge bytes; injectable so a session can be replayed. */
export type RandomSource = (length: number) => Buffer;

export const systemRandom: RandomSource = (length) => randomBytes(length);

/**
 * A deterministic source for tests and `--seed`: SHA-256 in counter mode over the seed.
 * Not for production secrets; its only job is to make a session repeat byte for byte.
 */
export function seededRandom(seed: string | Uint8Array): RandomSource {
  const key = createHash('sha256').update(seed).digest();
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (length) => {
    while (pool.length < length) {
      const block = createHash('sha256').update(key).update(u64(counter++)).digest();
      pool = Buffer.concat([pool, block]);
    }
    const out = pool.subarray(0, length);
    pool = pool.subarray(length);
    return Buffer.from(out);
  };
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
