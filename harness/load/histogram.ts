/**
 * A fixed-size, HDR-style latency histogram (log-linear buckets, after Gil Tene's
 * HdrHistogram): values are whole microseconds; below 2^SUB_BITS every value has its own
 * bucket, above it each power of two is split into 2^(SUB_BITS-1) equal buckets, so a
 * bucket is never wider than 1/128 (0.8%) of the values it holds. Memory is one typed
 * array allocated up front: a run of a billion samples takes as much as a run of ten.
 *
 * Written here rather than taken from `hdr-histogram-js` because the HTML report needs to
 * walk the buckets, and the whole thing is smaller than the glue to that package.
 */

const SUB_BITS = 8;
const SUB_COUNT = 1 << SUB_BITS; // 256: exact values 0..255
const HALF = SUB_COUNT >> 1; // 128 buckets per power of two above that

/** The largest value tracked exactly to bucket precision: 2^26 us, about 67 s (>= 60 s). */
export const MAX_TRACKABLE_US = 2 ** 26 - 1;
const TOP_EXPONENT = 25; // floor(log2(MAX_TRACKABLE_US))
const BUCKETS = SUB_COUNT + (TOP_EXPONENT - SUB_BITS + 1) * HALF;

/** The bucket index of a value in [0, MAX_TRACKABLE_US]. */
function indexOf(value: number): number {
  if (value < SUB_COUNT) return value;
  const exponent = 31 - Math.clz32(value); // floor(log2(value)), >= SUB_BITS
  const shift = exponent - (SUB_BITS - 1);
  return SUB_COUNT + (exponent - SUB_BITS) * HALF + ((value >>> shift) - HALF);
}

/** The lowest and highest values that land in bucket `index`. */
function boundsOf(index: number): { low: number; high: number } {
  if (index < SUB_COUNT) return { low: index, high: index };
  const above = index - SUB_COUNT;
  const exponent = SUB_BITS + Math.floor(above / HALF);
  const shift = exponent - (SUB_BITS - 1);
  const low = (HALF + (above % HALF)) * 2 ** shift;
  return { low, high: low + 2 ** shift - 1 };
}

export interface HistogramBucket {
  /** Inclusive bounds in microseconds. */
  lowUs: number;
  highUs: number;
  count: number;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS); // Float64: exact counts up to 2^53
  #total = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #sum = 0;

  /** Fixed for the life of the histogram (the memory-flat promise). */
  get bucketCount(): number {
    return this.#counts.length;
  }
  get count(): number {
    return this.#total;
  }
  /** Exact, not bucketed. 0 when empty. */
  get maxUs(): number {
    return this.#max;
  }
  get minUs(): number {
    return this.#total === 0 ? 0 : this.#min;
  }
  get meanUs(): number {
    return this.#total === 0 ? 0 : this.#sum / this.#total;
  }

  /** Records one latency in microseconds (rounded; negatives count as 0; huge values go in the top bucket). */
  record(us: number): void {
    const v = us > 0 ? Math.round(us) : 0;
    const clamped = v > MAX_TRACKABLE_US ? MAX_TRACKABLE_US : v;
    this.#counts[indexOf(clamped)]! += 1;
    this.#total += 1;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /**
   * The value at percentile p (0 < p <= 100): the highest value of the bucket holding the
   * ceil(p% * n)-th smallest sample, capped at the exact maximum, as HdrHistogram reports
   * it. 0 when empty.
   *
   * `padLow` and `padHigh` count samples not yet recorded as 0 and as Infinity: the bounds
   * of what the percentile can still become when that many more samples may come.
   */
  percentileUs(p: number, padLow = 0, padHigh = 0): number {
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
    const total = this.#total + padLow + padHigh;
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    if (rank <= padLow) return 0;
    if (rank > padLow + this.#total) return Number.POSITIVE_INFINITY;
    let seen = padLow;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(boundsOf(i).high, this.#max);
    }
    return this.#max;
  }

  /** Forgets every sample (a new interval of a timeline), keeping the memory. */
  reset(): void {
    this.#counts.fill(0);
    this.#total = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
    this.#sum = 0;
  }

  /** The non-empty buckets in ascending order (for pictures). */
  buckets(): HistogramBucket[] {
    const out: HistogramBucket[] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const count = this.#counts[i]!;
      if (count > 0) {
        const { low, high } = boundsOf(i);
        out.push({ lowUs: low, highUs: high, count });
      }
    }
    return out;
  }
}
