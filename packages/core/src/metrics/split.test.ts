import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import { stratifiedSplit } from "./split.ts";

describe("stratifiedSplit", () => {
  // The lab's month_000 labels: 5174 stay, 1869 churn, 7043 rows.
  const y = Array.from({ length: 7043 }, (_, i) => (i % 7043 < 1869 ? 1 : 0));

  it("allocates like scikit-learn: ceil(0.25 n) validation rows, shared by class", () => {
    const { trainIndex, testIndex } = stratifiedSplit({
      y,
      testSize: 0.25,
      seed: 42,
    });
    expect(trainIndex.length).toBe(5282);
    expect(testIndex.length).toBe(1761);
    // Train: 5282·1869/7043 = 1401.66 → 1402 churn (largest remainder), 3880 stay; test gets the rest.
    expect(Array.from(trainIndex).filter((i) => y[i] === 1).length).toBe(1402);
    expect(Array.from(testIndex).filter((i) => y[i] === 1).length).toBe(467);
  });

  it("is a deterministic, disjoint, complete partition that depends on the seed", () => {
    const a = stratifiedSplit({ y, seed: 42 });
    const b = stratifiedSplit({ y, seed: 42 });
    const c = stratifiedSplit({ y, seed: 43 });
    expect(Array.from(a.testIndex)).toEqual(Array.from(b.testIndex));
    expect(Array.from(a.testIndex)).not.toEqual(Array.from(c.testIndex));
    const all = new Set([...a.trainIndex, ...a.testIndex]);
    expect(all.size).toBe(y.length);
    expect(Array.from(a.testIndex)).toEqual(
      Array.from(a.testIndex).sort((p, q) => p - q),
    );
  });

  it("keeps picking the same rows for seed 42", () => {
    // Pinned on purpose: the lab-data test compares with a scikit-learn AUC measured on the rows
    // this split picks. If this fails, re-measure SKLEARN_AUC_SAME_SPLIT in
    // packages/core/test/forest-lab.int.test.ts (see its comment), then update these values.
    const { testIndex } = stratifiedSplit({ y, testSize: 0.25, seed: 42 });
    expect(Array.from(testIndex.slice(0, 6))).toEqual([5, 14, 15, 27, 32, 34]);
    expect(testIndex.reduce((a, b) => a + b, 0)).toBe(6198263);
  });

  it("rejects impossible sizes", () => {
    expect(() => stratifiedSplit({ y, testSize: 1 })).toThrow(CoreError);
    expect(() => stratifiedSplit({ y: [0, 1, 0], testSize: 0.25 })).toThrow(
      CoreError,
    );
  });
});
