import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import { type Distribution, distributionOf } from "./distribution.ts";
import {
  DEFAULT_DRIFT_THRESHOLDS,
  DRIFT_METHODS,
  chooseDriftMethod,
  driftTest,
  methodApplies,
} from "./drift-test.ts";

/** `rows` values cycling over `nUnique` distinct numbers. */
function cycling(rows: number, nUnique: number): Distribution {
  return distributionOf(Array.from({ length: rows }, (_, i) => i % nUnique));
}

describe("chooseDriftMethod (Evidently 0.7.15's _get_default_stattest)", () => {
  const cur = (nUnique: number) => cycling(50, nUnique);
  it.each([
    [1000, 2, "numerical", "ztest"],
    [1000, 5, "numerical", "chisquare"],
    [1000, 6, "numerical", "ks"],
    [1000, 2, "categorical", "ztest"],
    [1000, 5, "categorical", "chisquare"],
    [1000, 6, "categorical", "chisquare"],
    [1001, 2, "numerical", "jensenshannon"],
    [1001, 5, "numerical", "jensenshannon"],
    [1001, 6, "numerical", "wasserstein"],
    [1001, 2, "categorical", "jensenshannon"],
    [1001, 6, "categorical", "jensenshannon"],
  ] as const)(
    "%i reference rows, n_unique %i, %s -> %s",
    (rows, nUnique, kind, method) => {
      expect(
        chooseDriftMethod(kind, cycling(rows, nUnique), cur(nUnique)),
      ).toBe(method);
    },
  );

  it("counts n_unique over reference ∪ current", () => {
    // 2 values in the reference, 3 more only in the current: 5 → chisquare, 6 → ks.
    const ref = distributionOf([0, 1]);
    expect(chooseDriftMethod("numerical", ref, distributionOf([2, 3, 4]))).toBe(
      "chisquare",
    );
    expect(
      chooseDriftMethod("numerical", ref, distributionOf([2, 3, 4, 5])),
    ).toBe("ks");
  });
});

describe("driftTest thresholds", () => {
  const ref = distributionOf([1, 2, 2, 3, 4, 5, 5, 6, 7, 8]);
  const cur = distributionOf([2, 3, 3, 4, 6, 7, 8, 9, 9, 10]);
  const at = (method: (typeof DRIFT_METHODS)[number]) => {
    const { score } = driftTest(method, ref, cur, { kind: "numerical" });
    return driftTest(method, ref, cur, { kind: "numerical", threshold: score });
  };

  it("uses Evidently's defaults", () => {
    expect(DEFAULT_DRIFT_THRESHOLDS).toEqual({
      ks: 0.05,
      chisquare: 0.05,
      ztest: 0.05,
      wasserstein: 0.1,
      jensenshannon: 0.1,
      psi: 0.1,
    });
    const r = driftTest("ks", ref, cur, { kind: "numerical" });
    expect(r).toMatchObject({ method: "ks", threshold: 0.05, drifted: false });
  });

  it("at equality: ks drifts (p <= t), chisquare and ztest do not (p < t)", () => {
    expect(at("ks").drifted).toBe(true);
    const zRef = distributionOf([0, 0, 1, 1, 1, 0, 1]);
    const zCur = distributionOf([1, 1, 1, 0, 1, 1, 1, 1]);
    for (const m of ["chisquare", "ztest"] as const) {
      const { score } = driftTest(m, zRef, zCur, { kind: "numerical" });
      expect(score).toBeGreaterThan(0);
      const opts = { kind: "numerical", threshold: score } as const;
      expect(driftTest(m, zRef, zCur, opts).drifted).toBe(false);
    }
  });

  it("at equality: the distances drift (d >= t)", () => {
    for (const m of ["wasserstein", "jensenshannon", "psi"] as const) {
      expect(at(m).drifted).toBe(true);
    }
  });
});

describe("methodApplies and errors", () => {
  it("keeps ks and wasserstein to numerical columns", () => {
    const categorical = DRIFT_METHODS.filter((m) =>
      methodApplies(m, "categorical"),
    );
    expect(categorical).toEqual(["jensenshannon", "psi", "chisquare", "ztest"]);
    expect(DRIFT_METHODS.every((m) => methodApplies(m, "numerical"))).toBe(
      true,
    );
  });

  it("throws INVALID_ARGUMENT for a method that does not apply", () => {
    const d = distributionOf(["a", "b"]);
    const run = () => driftTest("ks", d, d, { kind: "categorical" });
    expect(run).toThrow(CoreError);
    expect(run).toThrow(/"ks" does not apply to a categorical column/);
    try {
      run();
    } catch (e) {
      expect((e as CoreError).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("throws INVALID_ARGUMENT for an empty side or a bad threshold", () => {
    const d = distributionOf([1]);
    const empty = distributionOf([]);
    expect(() => chooseDriftMethod("numerical", empty, d)).toThrow(
      /reference distribution is empty/,
    );
    expect(() =>
      driftTest("psi", d, d, { kind: "numerical", threshold: NaN }),
    ).toThrow(/threshold NaN/);
  });
});
