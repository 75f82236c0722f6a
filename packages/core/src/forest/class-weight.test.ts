import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import { computeClassWeights } from "./class-weight.ts";

describe("computeClassWeights (balanced)", () => {
  it("gives n_samples / (n_classes · count) per class", () => {
    // scikit-learn: compute_class_weight("balanced", classes=[0, 1], y=[0, 0, 0, 1]) → [0.6667, 2.0]
    const w = computeClassWeights({ y: [0, 0, 0, 1], nClasses: 2 });
    expect(w[0]).toBeCloseTo(4 / 6, 15);
    expect(w[1]).toBe(2);
  });

  it("matches the lab's month_000 counts (5174 stay / 1869 churn)", () => {
    const y = [
      ...new Array<number>(5174).fill(0),
      ...new Array<number>(1869).fill(1),
    ];
    const w = computeClassWeights({ y, nClasses: 2 });
    expect(w[0]).toBeCloseTo(7043 / (2 * 5174), 15);
    expect(w[1]).toBeCloseTo(7043 / (2 * 1869), 15);
    // Balanced means each class carries half the total weight.
    expect(5174 * w[0]!).toBeCloseTo(1869 * w[1]!, 9);
  });

  it("handles three classes and rejects an empty class", () => {
    const w = computeClassWeights({ y: [0, 1, 1, 2, 2, 2], nClasses: 3 });
    expect(Array.from(w)).toEqual([6 / 3, 6 / 6, 6 / 9]);
    expect(() => computeClassWeights({ y: [0, 0, 2], nClasses: 3 })).toThrow(
      CoreError,
    );
  });
});
