/**
 * The forest as one ai.onnx.ml TreeEnsemble node (ml opset 5) in double precision.
 *
 * Why TreeEnsemble and not TreeEnsembleClassifier: the classifier's score output is float32 by
 * definition, so p_churn would differ from predictProba by up to 3e-8 and a probability just above
 * 0.5 could round onto it and flip the label. TreeEnsemble keeps the input's type end to end:
 * double thresholds, double leaf weights, a double average.
 */
import { CoreError } from "../../errors.ts";
import type { RandomForestClassifier } from "../../forest/random-forest.ts";
import { decodeTypedArray } from "../../internal/base64.ts";
import {
  doubleTensor,
  ML_DOMAIN,
  uint8Tensor,
  type GraphBuilder,
} from "./graph-builder.ts";

const BRANCH_LEQ = 0;
const AGGREGATE_AVERAGE = 0;
const POST_TRANSFORM_NONE = 0;

/** What the exported ensemble holds, for callers that report on it. */
export interface ForestGraphStats {
  trees: number;
  /** Split nodes plus one stand-in split per single-leaf tree. */
  splitNodes: number;
  leaves: number;
}

interface ForestGraphOptions {
  builder: GraphBuilder;
  forest: RandomForestClassifier;
  /** [N, nFeatures] double. */
  features: string;
}

function decode<T extends Int32Array | Float64Array>(
  ctor: { new (length: number): T; readonly BYTES_PER_ELEMENT: number },
  text: string,
): T {
  const a = decodeTypedArray(ctor, text);
  // The forest wrote this text itself a moment ago, so a failure here is a bug, not bad input.
  if (a === undefined) throw new Error("forest JSON holds invalid base64");
  return a;
}

/**
 * Adds the ensemble; returns the [N, 1] double value holding P(class 1) per row.
 * A split node `feature << 8 | bin` sends x left when its bin code is ≤ bin, i.e. when
 * x ≤ edges[feature][bin]; a bin past the last edge sends every value left (threshold +∞).
 */
export function buildForestGraph({
  builder: b,
  forest,
  features,
}: ForestGraphOptions): { output: string; stats: ForestGraphStats } {
  const json = forest.toJSON();
  if (json.classes.length !== 2) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `ONNX export handles two-class forests; this one has ${json.classes.length} classes (${json.classes.join(", ")})`,
    );
  }
  const edges = json.edges.map((e) => decode(Float64Array, e));
  const treeNodes = decode(Int32Array, json.treeNodes);
  const nodes = decode(Int32Array, json.nodes);
  const nodesF32 = new Float32Array(nodes.buffer);

  const roots: number[] = [];
  const featureIds: number[] = [];
  const splits: number[] = [];
  const trueIds: number[] = [];
  const trueLeafs: number[] = [];
  const falseIds: number[] = [];
  const falseLeafs: number[] = [];
  const leafWeights: number[] = [];

  let base = 0;
  for (const count of treeNodes) {
    // Children follow their parent, so one pass numbers every node before anyone points at it.
    const index = new Int32Array(count);
    let interior = featureIds.length;
    let leaf = leafWeights.length;
    for (let u = 0; u < count; u++) {
      const split = nodes[2 * (base + u)] as number;
      if (split === -1) {
        index[u] = leaf++;
        // The float32 leaf probability widened to double: exactly the value predictProba adds.
        leafWeights.push(nodesF32[2 * (base + u) + 1] as number);
      } else index[u] = interior++;
    }
    if (count === 1) {
      // TreeEnsemble has no single-leaf tree; its spec's stand-in is a split whose two branches
      // reach the same leaf.
      roots.push(featureIds.length);
      featureIds.push(0);
      splits.push(0);
      trueIds.push(index[0] as number);
      falseIds.push(index[0] as number);
      trueLeafs.push(1);
      falseLeafs.push(1);
    } else {
      roots.push(index[0] as number);
      for (let u = 0; u < count; u++) {
        const split = nodes[2 * (base + u)] as number;
        if (split === -1) continue;
        const f = split >> 8;
        const bin = split & 255;
        const e = edges[f] as Float64Array;
        featureIds.push(f);
        splits.push(bin < e.length ? (e[bin] as number) : Infinity);
        const left = nodes[2 * (base + u) + 1] as number;
        for (const [child, ids, leafs] of [
          [left, trueIds, trueLeafs],
          [left + 1, falseIds, falseLeafs],
        ] as const) {
          ids.push(index[child] as number);
          leafs.push(nodes[2 * (base + child)] === -1 ? 1 : 0);
        }
      }
    }
    base += count;
  }

  const output = b.add({
    op: "TreeEnsemble",
    domain: ML_DOMAIN,
    inputs: [features],
    output: "forest_mean",
    attributes: {
      aggregate_function: AGGREGATE_AVERAGE,
      post_transform: POST_TRANSFORM_NONE,
      n_targets: 1,
      tree_roots: roots,
      nodes_featureids: featureIds,
      nodes_splits: doubleTensor(splits),
      nodes_modes: uint8Tensor(
        new Uint8Array(featureIds.length).fill(BRANCH_LEQ),
      ),
      nodes_truenodeids: trueIds,
      nodes_trueleafs: trueLeafs,
      nodes_falsenodeids: falseIds,
      nodes_falseleafs: falseLeafs,
      leaf_targetids: new Array<number>(leafWeights.length).fill(0),
      leaf_weights: doubleTensor(leafWeights),
    },
  });
  return {
    output,
    stats: {
      trees: roots.length,
      splitNodes: featureIds.length,
      leaves: leafWeights.length,
    },
  };
}
