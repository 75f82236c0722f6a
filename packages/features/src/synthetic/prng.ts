/**
 * Seeded randomness for the synthetic generator. Every draw uses integer arithmetic or plain
 * IEEE-754 additions and multiplications, never `Math.random` and never transcendental functions
 * for printed values, so the bytes of a generated file do not depend on the machine or the V8
 * build (`Math.log`/`Math.cos` may differ in the last bit between engines; `+`, `*` and `sqrt`
 * may not).
 */

const TWO_POW_32 = 4294967296;

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Four 32-bit keys for one (seed, stream family) pair. Streams are then keyed per user index, so a
 * user's values never depend on how many users come before it or how the work is chunked.
 */
export function streamKeys(seed: number, family: number): Uint32Array {
  // Safe integers exceed 32 bits: fold the high part in so seeds 1 and 2**32 + 1 differ.
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  const base = mix32(
    mix32(lo ^ 0x9e3779b9) ^
      mix32(hi ^ 0x7f4a7c15) ^
      mix32(family ^ 0x2545f491),
  );
  const keys = new Uint32Array(4);
  for (let i = 0; i < 4; i++)
    keys[i] = mix32(base + Math.imul(i + 1, 0x61c88647));
  return keys;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator): 128-bit state, passes PractRand,
 * and needs only 32-bit integer operations, which V8 compiles to machine integers. One instance is
 * reseeded per user so the hot loop allocates nothing.
 */
export class Sfc32 {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  /** Positions the generator at the start of stream `index` of the family `keys` belongs to. */
  reseed(keys: Uint32Array, index: number): void {
    // mix32 is a bijection, so distinct indices always give distinct starting states.
    this.a = mix32((keys[0] ?? 0) ^ index) | 0;
    this.b = mix32((keys[1] ?? 0) ^ index) | 0;
    this.c = mix32((keys[2] ?? 0) ^ index) | 0;
    this.d = 1;
    // sfc32's author recommends discarding the first outputs after seeding: they are correlated
    // with the seed words.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    const c = (this.c << 21) | (this.c >>> 11);
    this.c = (c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** True with probability `threshold / 2**32` (see {@link probabilityThreshold}). */
  chance(threshold: number): boolean {
    return this.nextU32() < threshold;
  }

  /** Uniform integer in [0, n) for n ≤ 2**32 (multiply-shift; bias below 2**-32 · n). */
  nextInt(n: number): number {
    return Math.floor((this.nextU32() * n) / TWO_POW_32);
  }

  /**
   * Approximately standard normal: Irwin–Hall sum of six uniforms, rescaled. Bounded to about
   * ±4.24, which suits values that are truncated anyway, and uses only exact-by-spec arithmetic.
   */
  nextNormal(): number {
    const sum =
      this.nextU32() +
      this.nextU32() +
      this.nextU32() +
      this.nextU32() +
      this.nextU32() +
      this.nextU32();
    return (sum / TWO_POW_32 - 3) * Math.SQRT2;
  }

  /** Index drawn from a cumulative table built by {@link cumulativeThresholds}. */
  pick(cumulative: Uint32Array | readonly number[]): number {
    const u = this.nextU32();
    const last = cumulative.length - 1;
    for (let i = 0; i < last; i++) {
      if (u < (cumulative[i] ?? 0)) return i;
    }
    return last;
  }
}

/** `p` as a uint32 threshold for {@link Sfc32.chance}. */
export function probabilityThreshold(p: number): number {
  return Math.min(TWO_POW_32, Math.round(p * TWO_POW_32));
}

/**
 * Cumulative uint32 thresholds for relative weights; the last entry is a catch-all so rounding
 * can never make the draw fall off the end.
 */
export function cumulativeThresholds(weights: readonly number[]): Uint32Array {
  const total = weights.reduce((s, w) => s + w, 0);
  const out = new Uint32Array(weights.length);
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w;
    out[i] =
      i === weights.length - 1
        ? 0xffffffff
        : Math.round((acc / total) * 0xffffffff);
  });
  return out;
}
