import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import { distributionOf, type DriftValue } from "./distribution.ts";
import { type DriftMethod, driftTest } from "./drift-test.ts";
import {
  type DriftColumnKind,
  chiSquarePValue,
  normedWassersteinDistance,
  sturgesEdges,
  zTestPValue,
} from "./statistics.ts";

/*
 * Expected scores were computed with Evidently 0.7.15's own stattest functions
 * (evidently.legacy.calculations.stattests: _ks_stat_test, _chi_stat_test, _z_stat_test,
 * _wasserstein_distance_norm, _jensenshannon, _psi) called on pandas Series of the same inputs,
 * in the venv of scripts/evidently-venv.sh (evidently 0.7.15, pandas 2.3.3, numpy 2.3.5,
 * scipy 1.17.1, Python 3.11). Inputs of the larger cases come from `seq` below, written in
 * Python with the same IEEE-exact operations (*, +, %, floor), so both sides see identical
 * doubles. The KS cases are chosen to reach each branch of scipy's ks_2samp: exact with
 * n1 == n2 and n1 != n2 (ties included), and asymptotic kstwo.sf through the one-sided Smirnov
 * sum, Pomeranz, Durbin (n <= 140) and Pelz-Good (n > 100000).
 */

const TRANSFORMS: Record<string, (x: number) => number> = {
  x: (x) => x,
  x10: (x) => x * 10,
  x4: (x) => x * 4,
  sq1: (x) => x * (0.9 + 0.1 * x),
  sq2: (x) => x * (0.8 + 0.2 * x),
  sq3: (x) => x * (0.7 + 0.3 * x),
  sq15: (x) => x * (0.85 + 0.15 * x),
  sq01: (x) => x * (0.99 + 0.01 * x),
  scale97: (x) => x * 0.97,
  cent: (x) => Math.floor(x * 100) / 100,
  cent2: (x) => Math.floor(x * (0.8 + 0.2 * x) * 100) / 100,
  int50: (x) => Math.floor(x * 50),
  int50b: (x) => Math.floor(x * (0.9 + 0.1 * x) * 50),
  shift10: (x) => x + 10,
  pow15: (x) => x * x * 10,
};

/** n values f((i * a) % 1), i = 0 … n − 1 (Python: [f((i * a) % 1) for i in range(n)]). */
function seq(n: number, a: number, f: string): number[] {
  const t = TRANSFORMS[f]!;
  return Array.from({ length: n }, (_, i) => t((i * a) % 1));
}

function counted(pairs: [DriftValue, number][]): DriftValue[] {
  return pairs.flatMap(([v, k]) => Array<DriftValue>(k).fill(v));
}

interface Case {
  name: string;
  kind: DriftColumnKind;
  ref: DriftValue[];
  cur: DriftValue[];
  expected: Partial<Record<DriftMethod, number>>;
}

const CASES: Case[] = [
  {
    name: "ks_equal_ties",
    kind: "numerical",
    ref: [1, 2, 2, 3, 4, 5, 5, 6, 7, 8],
    cur: [2, 3, 3, 4, 6, 7, 8, 9, 9, 10],
    expected: {
      ks: 0.7869297884777761,
      wasserstein: 0.8207293546575958,
      jensenshannon: 0.4742721347997617,
      psi: 4.5576397441775445,
    },
  },
  {
    name: "ks_unequal_ties",
    kind: "numerical",
    ref: [0.1, 0.5, 0.5, 0.9, 1.3, 1.3, 2.0],
    cur: [0.4, 0.5, 1.1, 1.3, 1.7, 2.2, 2.5, 3.0, 3.0, 3.1, 4.0],
    expected: { ks: 0.10532931121166415, wasserstein: 1.8993369663292021 },
  },
  {
    name: "ks_exact_300_250",
    kind: "numerical",
    ref: seq(300, 0.37, "x"),
    cur: seq(250, 0.61, "sq1"),
    expected: {
      ks: 0.9916436760362264,
      wasserstein: 0.064487476020207,
      jensenshannon: 0.03397787821814505,
      psi: 0.00924227532009404,
    },
  },
  {
    name: "ks_exact_equal_2000_ties",
    kind: "numerical",
    ref: seq(2000, 0.37, "cent"),
    cur: seq(2000, 0.61, "cent2"),
    expected: { ks: 0.013464654930116565 },
  },
  {
    name: "ks_exact_unequal_3000_2000_ties",
    kind: "numerical",
    ref: seq(3000, 0.37, "int50"),
    cur: seq(2000, 0.61, "int50b"),
    expected: { ks: 0.22711814205593855 },
  },
  {
    name: "ks_asymp_smirnov",
    kind: "numerical",
    ref: seq(12000, 0.6180339887, "x"),
    cur: seq(11000, 0.4142135623, "scale97"),
    expected: { ks: 5.935386769019066e-5, wasserstein: 0.05184944664181754 },
  },
  {
    name: "ks_asymp_pomeranz",
    kind: "numerical",
    ref: seq(100, 0.6180339887, "x"),
    cur: seq(20000, 0.4142135623, "sq3"),
    expected: { ks: 0.5416257640822111 },
  },
  {
    name: "ks_asymp_durbin",
    kind: "numerical",
    ref: seq(100, 0.6180339887, "x"),
    cur: seq(20000, 0.4142135623, "sq15"),
    expected: { ks: 0.9924829611960383 },
  },
  {
    name: "ks_asymp_pelzgood",
    kind: "numerical",
    ref: seq(300000, 0.6180339887, "x"),
    cur: seq(250000, 0.4142135623, "sq01"),
    expected: { ks: 0.35579664453786264 },
  },
  {
    name: "chi_absent",
    kind: "categorical",
    ref: ["a", "a", "b", "b", "b", "c"],
    cur: ["a", "b", "d"],
    expected: {
      chisquare: 0.0,
      jensenshannon: 0.42623537212762314,
      psi: 4.006363998680134,
    },
  },
  {
    name: "cat_several",
    kind: "categorical",
    ref: counted([
      ["a", 30],
      ["b", 50],
      ["c", 20],
      ["d", 5],
    ]),
    cur: counted([
      ["a", 25],
      ["b", 60],
      ["c", 10],
      ["d", 9],
    ]),
    expected: {
      chisquare: 0.011044270526850782,
      jensenshannon: 0.11899590389585349,
      psi: 0.11488588018740856,
    },
  },
  {
    name: "cat_new_value",
    kind: "categorical",
    ref: counted([
      ["a", 30],
      ["b", 50],
      ["c", 20],
    ]),
    cur: counted([
      ["a", 20],
      ["b", 50],
      ["d", 30],
    ]),
    expected: { jensenshannon: 0.42228032576436536, psi: 3.9610765460115878 },
  },
  {
    name: "z_bool",
    kind: "categorical",
    ref: counted([
      [true, 40],
      [false, 60],
    ]),
    cur: counted([
      [true, 55],
      [false, 45],
    ]),
    expected: {
      ztest: 0.03367206885634566,
      chisquare: 0.00219964706111306,
      jensenshannon: 0.10640215619834743,
      psi: 0.0909203705355473,
    },
  },
  {
    name: "z_numbers",
    kind: "numerical",
    ref: [0, 0, 1, 1, 1, 0, 1],
    cur: [1, 1, 1, 0, 1, 1, 1, 1],
    expected: {
      ztest: 0.18470755633593683,
      chisquare: 0.08273102231510268,
      ks: 0.7986013986013987,
      wasserstein: 0.6134346610139774,
      jensenshannon: 0.24505658646737377,
      psi: 0.5033906661117866,
    },
  },
  {
    name: "z_strings_disjoint",
    kind: "categorical",
    ref: ["no", "no", "no", "yes"],
    cur: ["yes", "yes", "yes"],
    expected: { ztest: 0.04722090400357715 },
  },
  {
    name: "sturges_200_150",
    kind: "numerical",
    ref: seq(200, 0.37, "x10"),
    cur: seq(150, 0.53, "pow15"),
    expected: {
      jensenshannon: 0.2218112552102371,
      psi: 0.410223634199527,
      wasserstein: 0.5859820880374589,
      ks: 1.4370638921050762e-5,
    },
  },
  {
    name: "sturges_empty_bins",
    kind: "numerical",
    ref: seq(200, 0.37, "x10"),
    cur: seq(60, 0.53, "shift10"),
    expected: { jensenshannon: 0.8155344336992492, psi: 11.485850529413899 },
  },
  {
    name: "numeric_few_values",
    kind: "numerical",
    ref: [1, 1, 2, 2, 2, 3, 4, 4, 5],
    cur: [1, 2, 2, 3, 3, 3, 4, 6],
    expected: {
      jensenshannon: 0.3693659114970746,
      psi: 2.1260261187501834,
      chisquare: 0.0,
    },
  },
  {
    name: "w_constant_ref",
    kind: "numerical",
    ref: [5, 5, 5, 5],
    cur: [5, 6, 7],
    expected: { wasserstein: 1000.0 },
  },
  {
    name: "w_50_40",
    kind: "numerical",
    ref: seq(50, 0.37, "x4"),
    cur: seq(40, 0.53, "pow15"),
    expected: { wasserstein: 1.1350568661596063 },
  },
];

/** Relative closeness, exact for zeros. */
function expectClose(got: number, want: number, rel = 1e-9): void {
  if (want === 0 || Number.isNaN(want)) expect(got).toBe(want);
  else expect(Math.abs(got - want) / Math.abs(want)).toBeLessThan(rel);
}

describe("drift scores against Evidently 0.7.15", () => {
  for (const c of CASES) {
    const ref = distributionOf(c.ref);
    const cur = distributionOf(c.cur);
    for (const [method, want] of Object.entries(c.expected)) {
      it(`${c.name}: ${method}`, () => {
        const got = driftTest(method as DriftMethod, ref, cur, {
          kind: c.kind,
        }).score;
        expectClose(got, want);
      });
    }
  }
});

describe("chi-square", () => {
  it("is 0 when a current value is absent from the reference", () => {
    expect(
      chiSquarePValue(distributionOf(["a", "b"]), distributionOf(["c"])),
    ).toBe(0);
  });

  it("is NaN with one value on both sides, as scipy's chisquare with 0 degrees of freedom", () => {
    expect(
      chiSquarePValue(distributionOf(["a", "a"]), distributionOf(["a"])),
    ).toBeNaN();
  });
});

describe("z-test", () => {
  it("is 1 when both sides hold one same value", () => {
    expect(zTestPValue(distributionOf([7, 7]), distributionOf([7]))).toBe(1);
  });

  it("maps false (the first sorted key) to 0 whatever the input order", () => {
    const a = zTestPValue(
      distributionOf(
        counted([
          [true, 40],
          [false, 60],
        ]),
      ),
      distributionOf(
        counted([
          [false, 45],
          [true, 55],
        ]),
      ),
    );
    expectClose(a, 0.03367206885634566);
  });
});

describe("normed Wasserstein", () => {
  it("is the lab's W / std_ref (ddof 0): a shift by 1 of 0 … 9 gives 1 / sqrt(8.25)", () => {
    const ref = Array.from({ length: 10 }, (_, i) => i);
    const got = normedWassersteinDistance(
      distributionOf(ref),
      distributionOf(ref.map((v) => v + 1)),
    );
    expectClose(got, 1 / Math.sqrt(8.25), 1e-14);
  });

  it("divides by 0.001 when the reference is constant", () => {
    const got = normedWassersteinDistance(
      distributionOf([2, 2, 2]),
      distributionOf([2, 2.5]),
    );
    expectClose(got, 0.25 / 0.001, 1e-14);
  });
});

describe("Sturges edges", () => {
  it("match numpy.histogram_bin_edges(range(0, 21), 'sturges'): 6 bins", () => {
    // np.histogram_bin_edges(np.arange(21.0), "sturges") -> linspace(0, 20, 7) (numpy 2.3.5)
    const values = Float64Array.from({ length: 21 }, (_, i) => i);
    expect([...sturgesEdges(values, 21)]).toEqual([
      0, 3.3333333333333335, 6.666666666666667, 10, 13.333333333333334,
      16.666666666666668, 20,
    ]);
  });
});

describe("errors", () => {
  it("rejects an empty distribution", () => {
    expect(() =>
      driftTest("psi", distributionOf([]), distributionOf([1]), {
        kind: "numerical",
      }),
    ).toThrow(CoreError);
    expect(() =>
      chiSquarePValue(distributionOf(["a"]), distributionOf([null, NaN])),
    ).toThrow(/current distribution is empty/);
  });

  it("rejects a numerical statistic on strings", () => {
    expect(() =>
      normedWassersteinDistance(distributionOf([1, 2]), distributionOf(["x"])),
    ).toThrow(/non-numeric value "x"/);
  });
});
