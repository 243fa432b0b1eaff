import { createHash, randomBytes } from 'node:crypto';

/** Where a card gets its challenge bytes; injectable so a session can be replayed. */
export type RandomSource = (length: number) => Buffer;

// Drawn 4 KiB at a time: one call into the CSPRNG costs about as much as a 3DES block, so
// a card that asked for 8 bytes per challenge spent most of its time there (bench/card.bench.ts).
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

export const systemRandom: RandomSource = (length) => {
  if (length > POOL_SIZE / 4) return randomBytes(length);
  if (poolOffset + length > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  pool.fill(0, poolOffset, poolOffset + length); // bytes handed out do not linger in the pool
  poolOffset += length;
  return out;
};

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
