import { describe, expect, it } from "vitest";
import type { CoreError } from "../errors.ts";
import { binCode, binMatrix, computeBinEdges } from "./binning.ts";

describe("binning", () => {
  it("puts thresholds at midpoints between distinct values, like scikit-learn", () => {
    expect(
      Array.from(computeBinEdges(Float64Array.from([3, 1, 2, 2, 10]))),
    ).toEqual([1.5, 2.5, 6.5]);
    expect(computeBinEdges(Float64Array.from([4, 4, 4])).length).toBe(0);
  });

  it("caps a many-valued feature at 256 bins, never splitting one value across bins", () => {
    const col = Float64Array.from({ length: 5000 }, (_, i) => (i % 1000) / 7);
    const edges = computeBinEdges(col);
    expect(edges.length).toBeLessThanOrEqual(255);
    expect(edges.length).toBeGreaterThan(200);
    // Binned and raw comparisons agree on every training value.
    for (const v of col) {
      const code = binCode(edges, v);
      expect(code === 0 || (edges[code - 1] as number) < v).toBe(true);
      expect(code === edges.length || v <= (edges[code] as number)).toBe(true);
    }
  });

  it("sends NaN to the last bin and encodes row-major", () => {
    const edges = Float64Array.from([1.5, 2.5]);
    expect(binCode(edges, Number.NaN)).toBe(2);
    expect(binCode(edges, 1.5)).toBe(0);
    expect(binCode(edges, 1.6)).toBe(1);
    const m = binMatrix({
      data: Float64Array.from([1, 10, 2, 20, 3, 30]),
      nRows: 3,
      nCols: 2,
    });
    expect(Array.from(m.codes)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it("rejects non-finite training values with the row and feature", () => {
    let error: CoreError | undefined;
    try {
      binMatrix({
        data: Float64Array.from([1, Number.NaN]),
        nRows: 1,
        nCols: 2,
      });
    } catch (e) {
      error = e as CoreError;
    }
    expect(error?.code).toBe("DATA_INVALID");
    expect(error?.message).toContain("feature 1 of training row 0");
  });
});
