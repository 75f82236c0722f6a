import { describe, expect, it } from "vitest";
import { deriveTreeSeed, Rng } from "./rng.ts";

describe("Rng", () => {
  it("repeats its sequence for a seed and differs across seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
  });

  it("draws integers below n roughly uniformly", () => {
    const rng = new Rng(7);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.below(10)]! += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });

  it("derives distinct tree seeds from (seed, index) alone", () => {
    const seeds = new Set(
      Array.from({ length: 1000 }, (_, i) => deriveTreeSeed(42, i)),
    );
    expect(seeds.size).toBe(1000);
    expect(deriveTreeSeed(42, 5)).toBe(deriveTreeSeed(42, 5));
    expect(deriveTreeSeed(42, 5)).not.toBe(deriveTreeSeed(43, 5));
  });
});
