import { describe, expect, it } from "vitest";
import { binMatrix } from "./binning.ts";
import { computeClassWeights } from "./class-weight.ts";
import { Rng } from "./rng.ts";
import { buildTree, type TreeArrays, type TreeParams } from "./tree-builder.ts";

const EXACT: TreeParams = {
  maxFeatures: 1,
  maxDepth: 0,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  bootstrap: false,
};

interface TinyOptions {
  columns: number[][];
  y: number[];
  rowWeight?: number[];
}

function tiny({ columns, y, rowWeight }: TinyOptions) {
  const nRows = y.length;
  const nCols = columns.length;
  const data = new Float64Array(nRows * nCols);
  columns.forEach((col, c) => col.forEach((v, r) => (data[r * nCols + c] = v)));
  const binned = binMatrix({ data, nRows, nCols });
  return {
    binned,
    data: {
      codes: binned.codes,
      nRows,
      nFeatures: nCols,
      y: Uint8Array.from(y),
      nClasses: 2,
      rowWeight: Float64Array.from(rowWeight ?? y.map(() => 1)),
    },
  };
}

/** Readable view of a two-class tree: [feature, threshold] for splits, P(class 1) for leaves. */
function describeTree(
  tree: TreeArrays,
  edges: readonly Float64Array[],
): unknown[] {
  const f32 = new Float32Array(tree.nodes.buffer);
  const out: unknown[] = [];
  for (let u = 0; u < tree.nodes.length / 2; u++) {
    const split = tree.nodes[2 * u] as number;
    if (split < 0) out.push(Number((f32[2 * u + 1] as number).toFixed(6)));
    else
      out.push([
        split >> 8,
        edges[split >> 8]?.[split & 255],
        tree.nodes[2 * u + 1],
      ]);
  }
  return out;
}

describe("buildTree on hand-checked data", () => {
  it("picks the lowest weighted Gini split and keeps the first of two equal ones", () => {
    // x = 1..6, y = 0 0 1 0 1 1. Weighted child Gini per threshold (worked by hand):
    // 1.5 → 5/6·0.48 = 0.40; 2.5 → 4/6·0.375 = 0.25; 3.5 → 4/9 ≈ 0.444; 4.5 → 0.25; 5.5 → 0.40.
    // 2.5 and 4.5 tie; scikit-learn keeps the first (strict improvement), so the root is x ≤ 2.5.
    // Right child {3,4,5,6} → y 1 0 1 1: 3.5 → 0.333, 4.5 → 0.25, 5.5 → 0.333, so x ≤ 4.5;
    // then {3,4} splits at 3.5.
    const { binned, data } = tiny({
      columns: [[1, 2, 3, 4, 5, 6]],
      y: [0, 0, 1, 0, 1, 1],
    });
    const tree = buildTree(data, EXACT, 1);
    expect(describeTree(tree, binned.edges)).toEqual([
      [0, 2.5, 1],
      0,
      [0, 4.5, 3],
      [0, 3.5, 5],
      1,
      1,
      0,
    ]);
  });

  it("computes impurity importances like scikit-learn and ignores a constant feature", () => {
    // Decreases (weight·impurity − children): root 6·0.5 − 4·0.375 = 1.5; node {3..6}
    // 4·0.375 − 2·0.5 = 0.5; node {3,4} 2·0.5 = 1. All on feature 0, none on the constant one.
    const { data } = tiny({
      columns: [
        [7, 7, 7, 7, 7, 7],
        [1, 2, 3, 4, 5, 6],
      ],
      y: [0, 0, 1, 0, 1, 1],
    });
    const tree = buildTree(data, { ...EXACT, maxFeatures: 2 }, 1);
    expect(Array.from(tree.importance)).toEqual([0, 3]);
    expect(tree.rootWeight).toBe(6);
  });

  it("weighs classes: balanced weights move the leaf probability", () => {
    // One feature that cannot split (constant): the root is a leaf whose P(1) is the weighted share.
    const y = [0, 0, 0, 1];
    const cw = computeClassWeights({ y, nClasses: 2 });
    const { data } = tiny({
      columns: [[1, 1, 1, 1]],
      y,
      rowWeight: y.map((c) => cw[c] as number),
    });
    const tree = buildTree(data, EXACT, 1);
    // Unweighted P(1) would be 1/4; balanced weights 4/6 and 2 make it 2 / (3·4/6 + 2) = 0.5.
    expect(describeTree(tree, [])).toEqual([0.5]);
  });

  it("multiplies weights by bootstrap draw counts, as scikit-learn does", () => {
    const y = [0, 1, 0, 1, 1, 0, 0, 0];
    const rowWeight = [1, 3, 1, 3, 3, 1, 1, 1];
    const { data } = tiny({ columns: [y.map(() => 5)], y, rowWeight });
    const seed = 12345;
    const tree = buildTree(data, { ...EXACT, bootstrap: true }, seed);
    // Replay the bootstrap the builder draws first with the same seed.
    const rng = new Rng(seed);
    const draws = new Array<number>(y.length).fill(0);
    for (let i = 0; i < y.length; i++) draws[rng.below(y.length)]! += 1;
    let w1 = 0;
    let w = 0;
    y.forEach((c, r) => {
      w += draws[r]! * rowWeight[r]!;
      if (c === 1) w1 += draws[r]! * rowWeight[r]!;
    });
    expect(describeTree(tree, [])).toEqual([
      Number(Math.fround(w1 / w).toFixed(6)),
    ]);
    expect(tree.rootWeight).toBe(w);
  });

  it("stops at maxDepth and respects minSamplesLeaf", () => {
    const x = Array.from({ length: 40 }, (_, i) => i);
    const y = x.map((i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const { data } = tiny({ columns: [x], y });
    const stump = buildTree(data, { ...EXACT, maxDepth: 1 }, 3);
    expect(stump.nodes.length / 2).toBe(3);
    // With minSamplesLeaf 8 no leaf may hold fewer than 8 of the 40 rows: at most 5 leaves.
    const coarse = buildTree(data, { ...EXACT, minSamplesLeaf: 8 }, 3);
    const leaves = Array.from(
      { length: coarse.nodes.length / 2 },
      (_, u) => coarse.nodes[2 * u],
    ).filter((s) => s === -1);
    expect(leaves.length).toBeGreaterThan(1);
    expect(leaves.length).toBeLessThanOrEqual(5);
  });
});
