import { describe, expect, it } from "vitest";
import { DistributionBuilder, distributionOf } from "./distribution.ts";

describe("DistributionBuilder", () => {
  it("drops null, undefined, NaN and ±Infinity and counts them", () => {
    const b = new DistributionBuilder();
    for (const v of [1, null, NaN, undefined, Infinity, -Infinity, 1, 2]) {
      b.add(v);
    }
    expect(b.dropped).toBe(5);
    expect(b.build()).toEqual({ values: [1, 2], counts: [2, 1], n: 3 });
  });

  it("sorts numbers numerically, not as strings, and merges -0 with 0", () => {
    const d = distributionOf([10, -0, 2, 0, -3.5, 2, 1e-300]);
    expect(d.values).toEqual([-3.5, 0, 1e-300, 2, 10]);
    expect(Object.is(d.values[1], 0)).toBe(true);
    expect(d.counts).toEqual([1, 2, 1, 2, 1]);
    expect(d.n).toBe(7);
  });

  it("sorts strings by UTF-16 code unit", () => {
    const d = distributionOf(["b", "B", "a", "é", "a", "Z", "10", "9"]);
    expect(d.values).toEqual(["10", "9", "B", "Z", "a", "b", "é"]);
    expect(d.counts).toEqual([1, 1, 1, 1, 2, 1, 1]);
  });

  it("puts false before true", () => {
    const d = distributionOf([true, false, true, null]);
    expect(d).toEqual({ values: [false, true], counts: [1, 2], n: 3 });
  });

  it("streams batches past its initial capacity", () => {
    const b = new DistributionBuilder();
    for (let batch = 0; batch < 5; batch++) {
      for (let i = 0; i < 1000; i++) b.add(i % 250);
    }
    const d = b.build();
    expect(d.values.length).toBe(250);
    expect(d.counts.every((c) => c === 20)).toBe(true);
    expect(d.n).toBe(5000);
  });

  it("builds an empty distribution from nothing", () => {
    expect(distributionOf([null])).toEqual({ values: [], counts: [], n: 0 });
  });
});
