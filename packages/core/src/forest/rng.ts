/**
 * Deterministic pseudo-random numbers for tree building.
 *
 * xoshiro128** on 32-bit integers: fast in V8 (no BigInt), good statistical quality, and the
 * same sequence on every platform. Not for cryptography.
 */

/** splitmix32 finaliser: spreads every input bit over the output; used to seed and to mix. */
export function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Seed of tree `treeIndex` in a forest seeded with `seed`. A pure function of the two numbers, so
 * a tree is the same whichever worker builds it and in whatever order.
 */
export function deriveTreeSeed(seed: number, treeIndex: number): number {
  return mix32(mix32(seed >>> 0) ^ mix32((treeIndex + 0x632be5ab) >>> 0));
}

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    // Four splitmix32 draws fill the state; an all-zero state (impossible here) would be stuck.
    let s = seed >>> 0;
    this.#a = mix32(s);
    s = (s + 0x6d2b79f5) >>> 0;
    this.#b = mix32(s);
    s = (s + 0x6d2b79f5) >>> 0;
    this.#c = mix32(s);
    s = (s + 0x6d2b79f5) >>> 0;
    this.#d = mix32(s) | 1;
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /**
   * Uniform integer in [0, n) for 0 < n ≤ 2^32, from 53 random bits (bias below 2^-21 for any
   * n here). Going through nextFloat also keeps V8's type feedback stable: a raw uint32 above
   * 2^30 is not a small integer and deoptimised every caller the first few times it appeared.
   */
  below(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
