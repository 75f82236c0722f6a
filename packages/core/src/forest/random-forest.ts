import { availableParallelism } from "node:os";
import { z } from "zod";
import { CoreError } from "../errors.ts";
import { decodeTypedArray, encodeTypedArray } from "../internal/base64.ts";
import type { ProgressListener } from "../logger.ts";
import { toDenseMatrix, type MatrixInput } from "../matrix.ts";
import {
  BATCH_MIN_ROWS,
  leafProba,
  predictBatch,
  predictBatchSteps,
  type ForestTree,
} from "./batch-predict.ts";
import { binCode, binMatrix, MAX_BINS } from "./binning.ts";
import { computeClassWeights } from "./class-weight.ts";
import {
  openForestPredictor,
  type ForestPredictor,
} from "./parallel-predict.ts";
import { buildTrees } from "./pool.ts";
import type { TreeArrays, TreeParams } from "./tree-builder.ts";

/** How many features each split may look at: a rule, a count (integer ≥ 1) or a fraction in (0, 1). */
export type MaxFeatures = "sqrt" | "log2" | "all" | number;

/** Parameters of a forest; every one is stored in the model. */
export interface RandomForestOptions {
  /** @default 100 */
  nEstimators?: number;
  /** @default "sqrt" */
  maxFeatures?: MaxFeatures;
  /** Deepest level a tree may reach; undefined grows trees until leaves are pure. */
  maxDepth?: number | undefined;
  /** @default 2 */
  minSamplesSplit?: number;
  /** @default 1 */
  minSamplesLeaf?: number;
  /** @default true */
  bootstrap?: boolean;
  /** `"balanced"` weighs class c by n_samples / (n_classes × count(c)), as scikit-learn. @default undefined (all 1) */
  classWeight?: "balanced" | undefined;
  /** @default 42 */
  seed?: number;
  /** Bins per feature for split search (2–256). @default 256 */
  maxBins?: number;
}

/** Per-call training options that do not change the model. */
export interface TrainOptions {
  /** Worker threads; 1 trains in the calling thread. The model is the same for every value. @default os.availableParallelism() */
  jobs?: number | undefined;
  /** Receives `{ phase: "trees", done, total }` after each tree. */
  onProgress?: ProgressListener | undefined;
  signal?: AbortSignal | undefined;
}

export interface PredictProbaOptions {
  /** Index into `classes` of the class whose probability is returned. @default the last class (the positive one for 0/1 labels) */
  classIndex?: number;
  /** Where to write the probabilities; allocated when absent. */
  out?: Float64Array;
}

export interface PredictProbaInSlicesOptions extends PredictProbaOptions {
  /** Longest stretch of forest work between two pauses, ms. @default 2 */
  sliceMs?: number;
  /** Called between slices; its promise is awaited. @default one turn of the event loop (setImmediate) */
  pause?: () => Promise<void>;
}

/** Forest parameters with defaults filled in, as stored in the model. */
export interface RandomForestParams {
  nEstimators: number;
  maxFeatures: MaxFeatures;
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  bootstrap: boolean;
  classWeight: "balanced" | null;
  seed: number;
  maxBins: number;
}

/** Trained state. Trees stay separate arrays: concatenating them would briefly double a large forest's memory. */
interface ForestState {
  nFeatures: number;
  classes: number[];
  edges: Float64Array[];
  trees: ForestTree[];
  importances: Float64Array;
}

const FOREST_JSON_NAME = "RandomForestClassifier";

const maxFeaturesSchema = z.union([
  z.enum(["sqrt", "log2", "all"]),
  z.number().positive(),
]);

const paramsSchema = z.strictObject({
  nEstimators: z.number().int().min(1),
  maxFeatures: maxFeaturesSchema,
  maxDepth: z.number().int().min(1).nullable(),
  minSamplesSplit: z.number().int().min(2),
  minSamplesLeaf: z.number().int().min(1),
  bootstrap: z.boolean(),
  classWeight: z.literal("balanced").nullable(),
  seed: z.number().int(),
  maxBins: z.number().int().min(2).max(MAX_BINS),
});

/** JSON form of a trained forest (typed arrays as little-endian base64). */
export const randomForestJsonSchema = z.strictObject({
  name: z.literal(FOREST_JSON_NAME),
  params: paramsSchema,
  nFeatures: z.number().int().min(1),
  classes: z.array(z.number()).min(2),
  /** Per feature, base64 Float64 bin thresholds. */
  edges: z.array(z.string()),
  /** Base64 Int32: node count of each tree. */
  treeNodes: z.string(),
  /** Base64 Int32: all trees' nodes, concatenated (layout of TreeArrays.nodes). */
  nodes: z.string(),
  /** Base64 Float64 leaf probabilities for more than two classes, concatenated; "" otherwise. */
  leafValues: z.string(),
  featureImportances: z.array(z.number()),
});

export type RandomForestJSON = z.infer<typeof randomForestJsonSchema>;

function invalid(message: string, hint?: string): CoreError {
  return new CoreError(
    "INVALID_ARGUMENT",
    message,
    hint === undefined ? {} : { hint },
  );
}

function resolveParams(options: RandomForestOptions): RandomForestParams {
  const p: RandomForestParams = {
    nEstimators: options.nEstimators ?? 100,
    maxFeatures: options.maxFeatures ?? "sqrt",
    maxDepth: options.maxDepth ?? null,
    minSamplesSplit: options.minSamplesSplit ?? 2,
    minSamplesLeaf: options.minSamplesLeaf ?? 1,
    bootstrap: options.bootstrap ?? true,
    classWeight: options.classWeight ?? null,
    seed: options.seed ?? 42,
    maxBins: options.maxBins ?? MAX_BINS,
  };
  const parsed = paramsSchema.safeParse(p);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join(".")}: ${i.message}`)
      .join("; ");
    throw invalid(`invalid random forest options: ${issues}`);
  }
  const mf = p.maxFeatures;
  if (typeof mf === "number" && !Number.isInteger(mf) && mf >= 1) {
    throw invalid(
      `maxFeatures ${mf} is neither a whole count nor a fraction below 1`,
      'Use an integer count, a fraction such as 0.5, or "sqrt".',
    );
  }
  return p;
}

/** Number of features examined per split, scikit-learn's rounding. */
export function resolveMaxFeatures(
  maxFeatures: MaxFeatures,
  nFeatures: number,
): number {
  let count: number;
  if (maxFeatures === "sqrt") count = Math.floor(Math.sqrt(nFeatures));
  else if (maxFeatures === "log2") count = Math.floor(Math.log2(nFeatures));
  else if (maxFeatures === "all") count = nFeatures;
  else if (Number.isInteger(maxFeatures)) count = maxFeatures;
  else count = Math.floor(maxFeatures * nFeatures);
  return Math.min(nFeatures, Math.max(1, count));
}

/**
 * Random forest of CART trees on Gini impurity with scikit-learn's semantics (bootstrap counts
 * times class weights, `maxFeatures` drawn per node), trained on pre-binned features, in
 * parallel worker threads, reproducibly: same data, options and seed give the same model bytes
 * whatever `jobs` is.
 */
export class RandomForestClassifier {
  readonly #params: RandomForestParams;
  #state: ForestState | undefined;
  // Per-instance scratch for one row's bin codes, so predicting a row allocates nothing.
  #rowCodes: Uint8Array = new Uint8Array(0);

  constructor(options: RandomForestOptions = {}) {
    this.#params = resolveParams(options);
  }

  /** Options the forest was created with, defaults filled in. */
  get params(): Readonly<RandomForestParams> {
    return { ...this.#params };
  }

  /** Whether `train` (or `load`) has produced trees. */
  get isTrained(): boolean {
    return this.#state !== undefined;
  }

  /** Distinct training labels in ascending order; column i of the probabilities is `classes[i]`. */
  get classes(): readonly number[] {
    return this.#trained().classes;
  }

  get nFeatures(): number {
    return this.#trained().nFeatures;
  }

  get nTrees(): number {
    return this.#trained().trees.length;
  }

  /** Total node count over all trees (a size indicator). */
  get nNodes(): number {
    let total = 0;
    for (const t of this.#trained().trees) total += t.nodes.length / 2;
    return total;
  }

  /**
   * Grows the trees on `x` (rows × features, finite numbers) and labels `y` (numbers, 2+ classes).
   * @throws CoreError DATA_INVALID on empty data, a single class, non-finite values or mismatched lengths.
   */
  async train(
    x: MatrixInput,
    y: ArrayLike<number>,
    options: TrainOptions = {},
  ): Promise<this> {
    const matrix = toDenseMatrix(x);
    const { nRows, nCols } = matrix;
    if (nRows === 0 || nCols === 0) {
      throw new CoreError(
        "DATA_INVALID",
        `cannot train on ${nRows} rows × ${nCols} features`,
        {
          hint: "Check that the dataset query returned rows and that the feature schema lists features.",
        },
      );
    }
    if (y.length !== nRows) {
      throw new CoreError(
        "DATA_INVALID",
        `x has ${nRows} rows but y has ${y.length} labels`,
      );
    }
    if (nCols > 32767)
      throw invalid(
        `${nCols} features is more than the 32767 a forest supports`,
      );
    const jobs = options.jobs ?? availableParallelism();
    if (!Number.isInteger(jobs) || jobs < 1)
      throw invalid(`jobs must be a whole number ≥ 1, got ${jobs}`);

    const classes = Array.from(new Set(Array.from(y))).sort((a, b) => a - b);
    if (classes.some((c) => !Number.isFinite(c))) {
      throw new CoreError("DATA_INVALID", "labels must be finite numbers");
    }
    if (classes.length < 2) {
      throw new CoreError(
        "DATA_INVALID",
        `the labels hold a single class (${classes[0]}); a classifier needs two or more`,
        {
          hint: "Check the label date: every training row has the same label.",
        },
      );
    }
    if (classes.length > 255)
      throw new CoreError(
        "DATA_INVALID",
        `${classes.length} classes is more than the 255 supported`,
      );

    const shared = jobs > 1;
    const codeOf = new Map(classes.map((c, i) => [c, i]));
    const yCodes = new Uint8Array(
      shared ? new SharedArrayBuffer(nRows) : new ArrayBuffer(nRows),
    );
    for (let r = 0; r < nRows; r++)
      yCodes[r] = codeOf.get(y[r] as number) as number;
    const classWeight =
      this.#params.classWeight === "balanced"
        ? computeClassWeights({ y: yCodes, nClasses: classes.length })
        : new Float64Array(classes.length).fill(1);
    const rowWeight = new Float64Array(
      shared ? new SharedArrayBuffer(nRows * 8) : new ArrayBuffer(nRows * 8),
    );
    for (let r = 0; r < nRows; r++)
      rowWeight[r] = classWeight[yCodes[r] as number] as number;

    const binned = binMatrix(matrix, { maxBins: this.#params.maxBins, shared });
    const treeParams: TreeParams = {
      maxFeatures: resolveMaxFeatures(this.#params.maxFeatures, nCols),
      maxDepth: this.#params.maxDepth ?? 0,
      minSamplesSplit: this.#params.minSamplesSplit,
      minSamplesLeaf: this.#params.minSamplesLeaf,
      bootstrap: this.#params.bootstrap,
    };
    const total = this.#params.nEstimators;
    const onProgress = options.onProgress;
    onProgress?.({ phase: "trees", done: 0, total });
    const trees = await buildTrees({
      data: {
        codes: binned.codes,
        nRows,
        nFeatures: nCols,
        y: yCodes,
        nClasses: classes.length,
        rowWeight,
      },
      params: treeParams,
      seed: this.#params.seed,
      nTrees: total,
      jobs,
      onTree:
        onProgress === undefined
          ? undefined
          : (done) => onProgress({ phase: "trees", done, total }),
      signal: options.signal,
    });
    this.#setState(
      assemble({ trees, nFeatures: nCols, classes, edges: [...binned.edges] }),
    );
    return this;
  }

  /**
   * Probability of class `classIndex` (default: the last class) for one row of raw feature
   * values; allocates nothing after the first call. NaN goes to the right of every split.
   */
  predictProbaOne(row: ArrayLike<number>, classIndex?: number): number {
    const s = this.#trained();
    const ci = this.#classIndex(classIndex);
    const codes = this.#encodeRow(row);
    const { trees } = s;
    const nTrees = trees.length;
    let sum = 0;
    let t = 0;
    // Four trees walk in lockstep: their node loads are independent, so the CPU overlaps the
    // cache misses that dominate a lone walk (about 2x faster on a 300-tree forest).
    for (; t + 4 <= nTrees; t += 4) {
      const a = trees[t] as ForestTree;
      const b = trees[t + 1] as ForestTree;
      const c = trees[t + 2] as ForestTree;
      const d = trees[t + 3] as ForestTree;
      const na = a.nodes;
      const nb = b.nodes;
      const nc = c.nodes;
      const nd = d.nodes;
      let ua = 0;
      let ub = 0;
      let uc = 0;
      let ud = 0;
      let sa = na[0] as number;
      let sb = nb[0] as number;
      let sc = nc[0] as number;
      let sd = nd[0] as number;
      // The AND of the four is negative only once all four are at a leaf (leaves are -1).
      // (bin - code) >>> 31 is 1 when code > bin: the right child, without a branch.
      while ((sa & sb & sc & sd) >= 0) {
        if (sa >= 0) {
          ua =
            (na[2 * ua + 1] as number) +
            (((sa & 255) - (codes[sa >> 8] as number)) >>> 31);
          sa = na[2 * ua] as number;
        }
        if (sb >= 0) {
          ub =
            (nb[2 * ub + 1] as number) +
            (((sb & 255) - (codes[sb >> 8] as number)) >>> 31);
          sb = nb[2 * ub] as number;
        }
        if (sc >= 0) {
          uc =
            (nc[2 * uc + 1] as number) +
            (((sc & 255) - (codes[sc >> 8] as number)) >>> 31);
          sc = nc[2 * uc] as number;
        }
        if (sd >= 0) {
          ud =
            (nd[2 * ud + 1] as number) +
            (((sd & 255) - (codes[sd >> 8] as number)) >>> 31);
          sd = nd[2 * ud] as number;
        }
      }
      sum +=
        leafProba(a, ua, ci) +
        leafProba(b, ub, ci) +
        leafProba(c, uc, ci) +
        leafProba(d, ud, ci);
    }
    for (; t < nTrees; t++) {
      const tree = trees[t] as ForestTree;
      const nodes = tree.nodes;
      let u = 0;
      let split: number;
      while ((split = nodes[2 * u] as number) >= 0) {
        u =
          (nodes[2 * u + 1] as number) +
          (((split & 255) - (codes[split >> 8] as number)) >>> 31);
      }
      sum += leafProba(tree, u, ci);
    }
    return sum / nTrees;
  }

  /** The checked matrix, trained state, output array and class index of a predictProba call. */
  #batchInput(x: MatrixInput, options: PredictProbaOptions) {
    const m = toDenseMatrix(x);
    const s = this.#trained();
    this.#checkWidth(m.nCols);
    const out = options.out ?? new Float64Array(m.nRows);
    if (out.length < m.nRows)
      throw invalid(
        `out holds ${out.length} values, ${m.nRows} rows need as many`,
      );
    return { m, s, out, ci: this.#classIndex(options.classIndex) };
  }

  /**
   * Probability of class `classIndex` (default: the last class) for every row, in a Float64Array;
   * bit-for-bit what predictProbaOne gives for each row. From 16 rows on, the forest is walked
   * tree by tree over all rows, which keeps each tree in cache.
   */
  predictProba(
    x: MatrixInput,
    options: PredictProbaOptions = {},
  ): Float64Array {
    const { m, s, out, ci } = this.#batchInput(x, options);
    if (m.nRows < BATCH_MIN_ROWS) {
      for (let r = 0; r < m.nRows; r++) {
        out[r] = this.predictProbaOne(
          m.data.subarray(r * s.nFeatures, (r + 1) * s.nFeatures),
          ci,
        );
      }
      return out;
    }
    predictBatch(s, m, { ci, out });
    return out;
  }

  /**
   * A predictor that scores large batches on `jobs` threads (this one and `jobs - 1` workers holding
   * a copy of the forest), bit-for-bit the values of predictProba. For repeated batches: starting
   * the workers costs tens of milliseconds. Close it to stop them.
   */
  openPredictor(
    options: { jobs?: number; classIndex?: number } = {},
  ): ForestPredictor {
    const s = this.#trained();
    const jobs = options.jobs ?? availableParallelism();
    if (!Number.isInteger(jobs) || jobs < 1)
      throw invalid(`jobs must be a whole number >= 1, got ${jobs}`);
    return openForestPredictor(s, {
      jobs,
      ci: this.#classIndex(options.classIndex),
    });
  }

  /**
   * predictProba in slices of about `sliceMs` of work with a pause between them, so that a large
   * batch does not hold the event loop for its whole walk (a server keeps answering meanwhile).
   * Bit-for-bit the values of predictProba and predictProbaOne. Rows are read during the call:
   * do not change `x` before the promise settles.
   */
  async predictProbaInSlices(
    x: MatrixInput,
    options: PredictProbaInSlicesOptions = {},
  ): Promise<Float64Array> {
    const { m, s, out, ci } = this.#batchInput(x, options);
    if (m.nRows < BATCH_MIN_ROWS)
      return this.predictProba(m, { ...options, out });
    const sliceMs = options.sliceMs ?? 2;
    const pause = options.pause ?? nextTurn;
    const steps = predictBatchSteps(s, m, { ci, out });
    let sliceEnd = performance.now() + sliceMs;
    while (steps.next().done !== true) {
      if (performance.now() < sliceEnd) continue;
      await pause();
      sliceEnd = performance.now() + sliceMs;
    }
    return out;
  }

  /** Predicted label of every row: the most probable class (the first on a tie, like scikit-learn's argmax). */
  predict(x: MatrixInput): number[] {
    const m = toDenseMatrix(x);
    const s = this.#trained();
    this.#checkWidth(m.nCols);
    const k = s.classes.length;
    const labels: number[] = [];
    for (let r = 0; r < m.nRows; r++) {
      const row = m.data.subarray(r * s.nFeatures, (r + 1) * s.nFeatures);
      if (k === 2) {
        const p1 = this.predictProbaOne(row, 1);
        labels.push(s.classes[p1 > 1 - p1 ? 1 : 0] as number);
        continue;
      }
      let best = 0;
      let bestP = this.predictProbaOne(row, 0);
      for (let c = 1; c < k; c++) {
        const p = this.predictProbaOne(row, c);
        if (p > bestP) {
          best = c;
          bestP = p;
        }
      }
      labels.push(s.classes[best] as number);
    }
    return labels;
  }

  /** Impurity-based importances, mean over trees of each tree's normalised importances, summing to 1 (scikit-learn's definition). */
  featureImportances(): Float64Array {
    return this.#trained().importances.slice();
  }

  /** Serialisable form; the same trained forest always gives the same JSON text. */
  toJSON(): RandomForestJSON {
    const s = this.#trained();
    const treeNodes = Int32Array.from(s.trees, (t) => t.nodes.length / 2);
    const nodes = new Int32Array(2 * treeNodes.reduce((a, b) => a + b, 0));
    const leafValues = new Float64Array(
      s.trees.reduce((a, t) => a + t.leafValue.length, 0),
    );
    let at = 0;
    let leafAt = 0;
    for (const t of s.trees) {
      nodes.set(t.nodes, at);
      at += t.nodes.length;
      leafValues.set(t.leafValue, leafAt);
      leafAt += t.leafValue.length;
    }
    return {
      name: FOREST_JSON_NAME,
      params: { ...this.#params },
      nFeatures: s.nFeatures,
      classes: [...s.classes],
      edges: s.edges.map((e) => encodeTypedArray(e)),
      treeNodes: encodeTypedArray(treeNodes),
      nodes: encodeTypedArray(nodes),
      leafValues: encodeTypedArray(leafValues),
      featureImportances: Array.from(s.importances),
    };
  }

  /**
   * Rebuilds a forest from `toJSON()` output, checking every tree so a corrupt file cannot loop or read out of bounds.
   * @throws CoreError MODEL_FORMAT_INVALID when the JSON is not a valid forest.
   */
  static load(json: unknown): RandomForestClassifier {
    const parsed = randomForestJsonSchema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw modelInvalid(
        `forest is malformed at ${first === undefined ? "?" : first.path.join(".") || "(root)"}: ${first?.message ?? "invalid"}`,
      );
    }
    const j = parsed.data;
    const forest = new RandomForestClassifier({
      ...j.params,
      maxDepth: j.params.maxDepth ?? undefined,
      classWeight: j.params.classWeight ?? undefined,
    });
    const decode = <
      T extends Int16Array | Int32Array | Uint8Array | Float64Array,
    >(
      ctor: { new (length: number): T; readonly BYTES_PER_ELEMENT: number },
      text: string,
      name: string,
    ): T => {
      const a = decodeTypedArray(ctor, text);
      if (a === undefined)
        throw modelInvalid(
          `forest field ${name} is not valid base64 of ${ctor.BYTES_PER_ELEMENT}-byte values`,
        );
      return a;
    };
    const treeNodes = decode(Int32Array, j.treeNodes, "treeNodes");
    const nodes = decode(Int32Array, j.nodes, "nodes");
    const leafValues = decode(Float64Array, j.leafValues, "leafValues");
    const state: ForestState = {
      nFeatures: j.nFeatures,
      classes: j.classes,
      edges: j.edges.map((e, f) => decode(Float64Array, e, `edges.${f}`)),
      trees: splitTrees({
        treeNodes,
        nodes,
        leafValues,
        nClasses: j.classes.length,
      }),
      importances: Float64Array.from(j.featureImportances),
    };
    validateState(state);
    forest.#setState(state);
    return forest;
  }

  #setState(state: ForestState): void {
    this.#state = state;
    this.#rowCodes = new Uint8Array(state.nFeatures);
  }

  #trained(): ForestState {
    if (this.#state === undefined) {
      throw invalid(
        "the forest is not trained",
        "Call train() or RandomForestClassifier.load() first.",
      );
    }
    return this.#state;
  }

  #checkWidth(nCols: number): void {
    const expected = this.#trained().nFeatures;
    if (nCols !== expected) {
      throw new CoreError(
        "DATA_INVALID",
        `rows have ${nCols} features, the forest was trained on ${expected}`,
      );
    }
  }

  #classIndex(classIndex: number | undefined): number {
    const k = this.#trained().classes.length;
    const ci = classIndex ?? k - 1;
    if (!Number.isInteger(ci) || ci < 0 || ci >= k)
      throw invalid(`classIndex ${ci} is outside 0…${k - 1}`);
    return ci;
  }

  #encodeRow(row: ArrayLike<number>): Uint8Array {
    const s = this.#trained();
    if (row.length !== s.nFeatures) {
      throw new CoreError(
        "DATA_INVALID",
        `row has ${row.length} features, the forest was trained on ${s.nFeatures}`,
      );
    }
    const codes = this.#rowCodes;
    for (let f = 0; f < s.nFeatures; f++)
      codes[f] = binCode(s.edges[f] as Float64Array, row[f] as number);
    return codes;
  }
}

/** Lets pending I/O callbacks run: setImmediate fires after the poll phase. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function modelInvalid(message: string): CoreError {
  return new CoreError("MODEL_FORMAT_INVALID", message, {
    hint: "The model file is damaged or was not written by streamflow; train it again or restore it from the registry.",
  });
}

function toForestTree(
  nodes: Int32Array,
  leafValue: Float64Array,
  nClasses: number,
): ForestTree {
  return {
    nodes,
    nodesF32: new Float32Array(nodes.buffer, nodes.byteOffset, nodes.length),
    leafValue,
    nClasses,
  };
}

interface SplitTreesOptions {
  treeNodes: Int32Array;
  nodes: Int32Array;
  leafValues: Float64Array;
  nClasses: number;
}

/** Cuts the concatenated arrays of a model file back into trees (views, no copy). */
function splitTrees({
  treeNodes,
  nodes,
  leafValues,
  nClasses,
}: SplitTreesOptions): ForestTree[] {
  const trees: ForestTree[] = [];
  let at = 0;
  let leafAt = 0;
  for (const count of treeNodes) {
    if (count < 1 || 2 * (at + count) > nodes.length)
      throw modelInvalid("forest node counts do not match the node array");
    const tree = nodes.subarray(2 * at, 2 * (at + count));
    let leaves = 0;
    if (nClasses > 2)
      for (let u = 0; u < count; u++) if (tree[2 * u] === -1) leaves++;
    if (leafAt + leaves * nClasses > leafValues.length)
      throw modelInvalid("forest leaf values are missing");
    trees.push(
      toForestTree(
        tree,
        leafValues.subarray(leafAt, leafAt + leaves * nClasses),
        nClasses,
      ),
    );
    at += count;
    leafAt += leaves * nClasses;
  }
  if (2 * at !== nodes.length || leafAt !== leafValues.length)
    throw modelInvalid("forest arrays are longer than its trees");
  return trees;
}

interface AssembleOptions {
  trees: TreeArrays[];
  nFeatures: number;
  classes: number[];
  edges: Float64Array[];
}

function assemble({
  trees,
  nFeatures,
  classes,
  edges,
}: AssembleOptions): ForestState {
  const importances = new Float64Array(nFeatures);
  let splitTreeCount = 0;
  for (const tree of trees) {
    // scikit-learn: each tree's importances are divided by its root weight, then by their sum;
    // the forest averages over trees that split at least once and normalises again.
    if (tree.nodes.length > 2) {
      let sum = 0;
      for (let f = 0; f < nFeatures; f++)
        sum += (tree.importance[f] as number) / tree.rootWeight;
      if (sum > 0) {
        for (let f = 0; f < nFeatures; f++) {
          importances[f] =
            (importances[f] as number) +
            (tree.importance[f] as number) / tree.rootWeight / sum;
        }
      }
      splitTreeCount++;
    }
  }
  if (splitTreeCount > 0) {
    let sum = 0;
    for (let f = 0; f < nFeatures; f++)
      sum += (importances[f] as number) / splitTreeCount;
    for (let f = 0; f < nFeatures; f++)
      importances[f] = (importances[f] as number) / splitTreeCount / sum;
  }
  return {
    nFeatures,
    classes,
    edges,
    trees: trees.map((t) => toForestTree(t.nodes, t.leafValue, classes.length)),
    importances,
  };
}

/** Checks that every index in a loaded forest stays in bounds and every path reaches a leaf. */
function validateState(s: ForestState): void {
  if (s.trees.length < 1) throw modelInvalid("forest has no tree");
  if (s.edges.length !== s.nFeatures || s.importances.length !== s.nFeatures) {
    throw modelInvalid(
      `forest declares ${s.nFeatures} features but has ${s.edges.length} edge lists and ${s.importances.length} importances`,
    );
  }
  if (s.edges.some((e) => e.length >= MAX_BINS))
    throw modelInvalid("forest has a feature with more than 255 bin edges");
  const k = s.classes.length;
  s.trees.forEach((tree, t) => {
    const count = tree.nodes.length / 2;
    const nLeaves = tree.leafValue.length / k;
    for (let u = 0; u < count; u++) {
      const split = tree.nodes[2 * u] as number;
      const next = tree.nodes[2 * u + 1] as number;
      if (split === -1) {
        if (k === 2) {
          const p = tree.nodesF32[2 * u + 1] as number;
          if (!(p >= 0 && p <= 1))
            throw modelInvalid(
              `forest tree ${t} leaf ${u} has probability ${p}, outside [0, 1]`,
            );
        } else if (next < 0 || next >= nLeaves) {
          throw modelInvalid(
            `forest tree ${t} node ${u} points to missing leaf ${next}`,
          );
        }
      } else if (split < 0 || split >> 8 >= s.nFeatures) {
        throw modelInvalid(
          `forest tree ${t} node ${u} splits on unknown feature ${split >> 8}`,
        );
      } else if (next <= u || next + 1 >= count) {
        // Children always come after their parent, which also rules out cycles.
        throw modelInvalid(
          `forest tree ${t} node ${u} has children out of range`,
        );
      }
    }
  });
}
