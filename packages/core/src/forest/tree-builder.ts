import { Rng } from "./rng.ts";

/**
 * One CART tree on Gini impurity, grown depth-first over histograms of pre-binned features.
 *
 * The growth rules follow scikit-learn's `DecisionTreeClassifier` (BestSplitter +
 * DepthFirstTreeBuilder) so that a forest with the same parameters behaves like scikit-learn's:
 * bootstrap counts multiply the sample weights, `minSamplesSplit` and `minSamplesLeaf` count
 * distinct in-bag rows, each node examines `maxFeatures` features drawn without replacement,
 * features found constant in a node do not count against `maxFeatures` and are remembered for
 * its descendants, and ties keep the first best split found. Only the random stream differs,
 * and thresholds are limited to bin edges for features with more than 256 distinct values.
 *
 * Speed: each tree copies its in-bag rows' codes (row-major, padded to whole words) and keeps
 * them in node order, partitioning them with the rows, so every histogram pass streams through
 * memory instead of jumping to random rows; the features drawn together share one pass.
 *
 * This module runs both in the main thread (`jobs: 1`) and in worker threads, so it imports
 * nothing but the RNG.
 */

/** What every tree of a forest reads; typed arrays may live in SharedArrayBuffers. */
export interface TreeTrainingData {
  /** Row-major uint8 bin codes, `codes[r * nFeatures + f]`. */
  readonly codes: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  /** Class index of every row, 0 … nClasses-1. */
  readonly y: Uint8Array;
  readonly nClasses: number;
  /** Weight of every row before bootstrap (class weights times caller weights). */
  readonly rowWeight: Float64Array;
}

/** Tree parameters, already resolved to numbers. */
export interface TreeParams {
  readonly maxFeatures: number;
  /** 0 means unlimited. */
  readonly maxDepth: number;
  readonly minSamplesSplit: number;
  readonly minSamplesLeaf: number;
  readonly bootstrap: boolean;
}

/**
 * A grown tree, two int32 per node so a prediction step reads one cache line. Node 0 is the
 * root. Internal node u: `nodes[2u] = feature << 8 | bin` and `nodes[2u + 1]` = its left child
 * (the right child is the next node); rows with bin code <= bin go left. Leaf u: `nodes[2u] = -1`
 * and `nodes[2u + 1]` holds, for two classes, the float32 bits of P(class 1) (read it through a
 * Float32Array view); for more classes, the leaf's index into `leafValue` (stride nClasses).
 */
export interface TreeArrays {
  readonly nodes: Int32Array<ArrayBuffer>;
  /** Empty for two classes. */
  readonly leafValue: Float64Array<ArrayBuffer>;
  /** Per feature: sum over the tree's splits of the weighted impurity decrease (not normalised). */
  readonly importance: Float64Array<ArrayBuffer>;
  /** Weighted row count at the root, used to normalise `importance` the way scikit-learn does. */
  readonly rootWeight: number;
}

// scikit-learn stops splitting a node whose impurity is at most machine epsilon.
const EPSILON = 2.220446049250313e-16;

/** Gini impurity of class weights `totals` summing to `weight`. */
function gini(totals: Float64Array, weight: number): number {
  let sq = 0;
  for (let c = 0; c < totals.length; c++) {
    const p = (totals[c] as number) / weight;
    sq += p * p;
  }
  return 1 - sq;
}

/**
 * Per-tree working memory for split search, one 256-bin slot per feature drawn in a batch. The
 * hot loops are small top-level functions on purpose: V8 optimises a function after a few
 * hundred calls, within the first tree, whereas one big per-tree function waited about ten
 * trees for on-stack replacement (≈ 200 ms per worker).
 */
interface Scratch {
  /** Class weight per (slot, bin, class): index `(j * 256 + bin) * k + class`. */
  readonly hist: Float64Array;
  /** Rows per (slot, bin); only kept when minSamplesLeaf > 1 or there are more than two classes. */
  readonly cnt: Int32Array;
  /**
   * Occupied bins per slot as a 256-bit set (8 words from `j * 8`): set without a branch while
   * filling, and read back in ascending bin order for free.
   */
  readonly bits: Int32Array;
  /** Features of the current batch, by slot. */
  readonly batch: Int32Array;
  readonly left: Float64Array;
  /** Best split so far in this node: [proxy, feature, bin]. */
  readonly best: Float64Array;
  /** The node being split: [start, end, batch size], its class totals and [weight]. */
  readonly span: Int32Array;
  readonly totals: Float64Array;
  readonly nodeWeight: Float64Array;
  readonly k: number;
  readonly binary: boolean;
  readonly msl: number;
}

/** The in-bag rows in node order: codes (`stride` bytes per row), class and weight. */
interface NodeRows {
  pc: Uint8Array;
  /** Word view of `pc`, to move a row's codes in stride / 4 steps. */
  pc32: Uint32Array;
  stride: number;
  py: Uint8Array;
  pw: Float64Array;
  k: number;
  /** Receives the left then the right side's class weights (length 2k) when partitioning. */
  childTotals: Float64Array;
}

/** Fills slots 0..nb-1 for the node's rows; no row counts (two classes, minSamplesLeaf 1). */
function histogramsBinary(o: NodeRows, s: Scratch): void {
  const { pc, stride, py, pw } = o;
  const { hist, bits, batch } = s;
  const start = s.span[0] as number;
  const end = s.span[1] as number;
  const nb = s.span[2] as number;
  for (let p = start; p < end; p++) {
    const row = p * stride;
    const c = py[p] as number;
    const w = pw[p] as number;
    // Branch-free throughout (the class is a coin flip to a branch predictor). Slots
    // interleave, so a run of one bin does not serialise on one memory word.
    for (let j = 0; j < nb; j++) {
      const b = pc[row + (batch[j] as number)] as number;
      const wi = (j << 3) | (b >>> 5);
      bits[wi] = (bits[wi] as number) | (1 << (b & 31));
      const h = (((j << 8) | b) << 1) | c;
      hist[h] = (hist[h] as number) + w;
    }
  }
}

/** Same as histogramsBinary for any class count, also counting rows per bin. */
function histogramsGeneral(o: NodeRows, s: Scratch): void {
  const { pc, stride, py, pw, k } = o;
  const { hist, cnt, bits, batch } = s;
  const start = s.span[0] as number;
  const end = s.span[1] as number;
  const nb = s.span[2] as number;
  for (let p = start; p < end; p++) {
    const row = p * stride;
    const c = py[p] as number;
    const w = pw[p] as number;
    for (let j = 0; j < nb; j++) {
      const b = pc[row + (batch[j] as number)] as number;
      const wi = (j << 3) | (b >>> 5);
      bits[wi] = (bits[wi] as number) | (1 << (b & 31));
      const slot = (j << 8) | b;
      cnt[slot] = (cnt[slot] as number) + 1;
      const h = slot * k + c;
      hist[h] = (hist[h] as number) + w;
    }
  }
}

/** Whether slot j saw a single bin (the feature is constant in the node). */
function isConstantSlot(s: Scratch, j: number): boolean {
  let seen = 0;
  for (let i = j << 3; i < (j + 1) << 3; i++) {
    const x = s.bits[i] as number;
    if (x === 0) continue;
    if (seen > 0 || (x & (x - 1)) !== 0) return false;
    seen = 1;
  }
  return true;
}

/** Zeroes slot j's occupied bins and its bit set. */
function clearSlot(s: Scratch, j: number): void {
  const { hist, cnt, bits, k, binary } = s;
  for (let i = j << 3; i < (j + 1) << 3; i++) {
    let x = bits[i] as number;
    while (x !== 0) {
      const low = x & -x;
      const slot = (j << 8) | (((i & 7) << 5) | (31 - Math.clz32(low)));
      x ^= low;
      if (binary) {
        hist[slot << 1] = 0;
        hist[(slot << 1) | 1] = 0;
      } else {
        cnt[slot] = 0;
        for (let c = 0; c < k; c++) hist[slot * k + c] = 0;
      }
    }
    bits[i] = 0;
  }
}

/**
 * Two classes, minSamplesLeaf 1: scikit-learn's Gini proxy sum_c wl_c²/wl + sum_c wr_c²/wr,
 * larger is better, for a threshold after every occupied bin but the last.
 */
function scanBinary(s: Scratch, j: number): void {
  const { hist, bits, best, totals } = s;
  const feature = s.batch[j] as number;
  const wNode = s.nodeWeight[0] as number;
  const t0 = totals[0] as number;
  const t1 = totals[1] as number;
  let bestProxy = best[0] as number;
  let l0 = 0;
  let l1 = 0;
  let prev = -1;
  for (let i = j << 3; i < (j + 1) << 3; i++) {
    let x = bits[i] as number;
    while (x !== 0) {
      const low = x & -x;
      const b = ((i & 7) << 5) | (31 - Math.clz32(low));
      x ^= low;
      if (prev >= 0) {
        // Split after the previous occupied bin: everything up to it goes left.
        const wl = l0 + l1;
        const r0 = t0 - l0;
        const r1 = t1 - l1;
        const proxy =
          (l0 * l0 + l1 * l1) / wl + (r0 * r0 + r1 * r1) / (wNode - wl);
        if (proxy > bestProxy) {
          bestProxy = proxy;
          best[0] = proxy;
          best[1] = feature;
          best[2] = prev;
        }
      }
      const h = ((j << 8) | b) << 1;
      l0 += hist[h] as number;
      l1 += hist[h + 1] as number;
      prev = b;
    }
  }
}

/** Any class count and minSamplesLeaf, counting rows per side. */
function scanGeneral(s: Scratch, j: number): void {
  const { hist, cnt, bits, best, left, k, totals, msl } = s;
  const feature = s.batch[j] as number;
  const wNode = s.nodeWeight[0] as number;
  const nNode = (s.span[1] as number) - (s.span[0] as number);
  left.fill(0);
  let nLeft = 0;
  let wLeft = 0;
  let prev = -1;
  for (let i = j << 3; i < (j + 1) << 3; i++) {
    let x = bits[i] as number;
    while (x !== 0) {
      const low = x & -x;
      const b = ((i & 7) << 5) | (31 - Math.clz32(low));
      x ^= low;
      if (prev >= 0 && nLeft >= msl && nNode - nLeft >= msl) {
        let sqL = 0;
        let sqR = 0;
        for (let c = 0; c < k; c++) {
          const l = left[c] as number;
          const rr = (totals[c] as number) - l;
          sqL += l * l;
          sqR += rr * rr;
        }
        const proxy = sqL / wLeft + sqR / (wNode - wLeft);
        if (proxy > (best[0] as number)) {
          best[0] = proxy;
          best[1] = feature;
          best[2] = prev;
        }
      }
      const slot = (j << 8) | b;
      nLeft += cnt[slot] as number;
      for (let c = 0; c < k; c++) {
        const h = hist[slot * k + c] as number;
        left[c] = (left[c] as number) + h;
        wLeft += h;
      }
      prev = b;
    }
  }
}

/** Moves the node's rows whose code of the best feature is <= the best bin before the others, summing each side's class weights; returns the split position. */
function partition(o: NodeRows, s: Scratch): number {
  const { pc, pc32, stride, pw, py, k, childTotals } = o;
  const start = s.span[0] as number;
  const end = s.span[1] as number;
  const feature = s.best[1] as number;
  const bin = s.best[2] as number;
  const words = stride >> 2;
  childTotals.fill(0);
  let i = start;
  let j = end - 1;
  while (i <= j) {
    const w = pw[i] as number;
    const c = py[i] as number;
    if ((pc[i * stride + feature] as number) <= bin) {
      childTotals[c] = (childTotals[c] as number) + w;
      i++;
    } else {
      childTotals[k + c] = (childTotals[k + c] as number) + w;
      pw[i] = pw[j] as number;
      pw[j] = w;
      py[i] = py[j] as number;
      py[j] = c;
      const a = i * words;
      const z = j * words;
      for (let q = 0; q < words; q++) {
        const t = pc32[a + q] as number;
        pc32[a + q] = pc32[z + q] as number;
        pc32[z + q] = t;
      }
      j--;
    }
  }
  return i;
}

/** Depth-first stack of pending nodes, growable. */
class NodeStack {
  readonly #k: number;
  #cap = 64;
  #ints = new Int32Array(64 * 5);
  #totals: Float64Array;
  size = 0;

  constructor(k: number) {
    this.#k = k;
    this.#totals = new Float64Array(64 * k);
  }

  /** Pushes `rec` (start, end, depth, node, nConst) with class totals `totals[off .. off + k)`. */
  push(rec: Int32Array, totals: Float64Array, off: number): void {
    const k = this.#k;
    if (this.size === this.#cap) {
      this.#cap *= 2;
      const ints = new Int32Array(this.#cap * 5);
      ints.set(this.#ints);
      this.#ints = ints;
      const t = new Float64Array(this.#cap * k);
      t.set(this.#totals);
      this.#totals = t;
    }
    const at = this.size * 5;
    for (let i = 0; i < 5; i++) this.#ints[at + i] = rec[i] as number;
    for (let c = 0; c < k; c++)
      this.#totals[this.size * k + c] = totals[off + c] as number;
    this.size++;
  }

  /** Pops into `ints` (start, end, depth, node, nConst) and `totals`. */
  pop(ints: Int32Array, totals: Float64Array): void {
    this.size--;
    const at = this.size * 5;
    for (let i = 0; i < 5; i++) ints[i] = this.#ints[at + i] as number;
    for (let c = 0; c < this.#k; c++)
      totals[c] = this.#totals[this.size * this.#k + c] as number;
  }
}

/** Everything one tree's growth reads and writes; `growNode` works on it one node at a time. */
interface Grower {
  readonly nf: number;
  readonly k: number;
  readonly rng: Rng;
  readonly stack: NodeStack;
  /**
   * A permutation of the features: `[0, nConst)` are constant in the current node's ancestors.
   * Only positions from nConst on are ever reordered, so a sibling popped later still finds its
   * ancestors' constants in front (scikit-learn keeps the same invariant).
   */
  readonly features: Int32Array;
  /** Per-node copy of `features` that the draws shuffle. */
  readonly perm: Int32Array;
  /** isConst[f] is 1 while f is a known constant of the node being split. */
  readonly isConst: Uint8Array;
  readonly s: Scratch;
  readonly rec: Int32Array;
  readonly totals: Float64Array;
  readonly childTotals: Float64Array;
  /** Views of childTotals' two halves. */
  readonly leftTotals: Float64Array;
  readonly rightTotals: Float64Array;
  readonly rows: NodeRows;
  /** Two classes with minSamplesLeaf 1 (the defaults) need no row counts: that path is leaner. */
  readonly binary: boolean;
  readonly maxDepth: number;
  readonly maxFeatures: number;
  readonly msl: number;
  readonly minSamplesSplit: number;
  readonly feature: Int16Array;
  readonly bin: Uint8Array;
  readonly child: Int32Array;
  readonly leafValue: Float64Array;
  readonly importance: Float64Array<ArrayBuffer>;
  nodeCount: number;
  leafCount: number;
}

/**
 * Finds the node's best split into s.best, drawing features as scikit-learn's BestSplitter
 * does: uniformly without replacement from all features, `maxFeatures` draws in all, where a
 * feature known (or found) constant costs a draw but no evaluation, and drawing goes on past
 * `maxFeatures` only while no drawn feature has been usable. Draws are evaluated in batches so
 * their histograms fill in one pass. Returns the new count of known constants.
 */
function searchSplit(g: Grower, nKnownConstants: number): number {
  const { nf, rng, features, perm, isConst, s, binary, maxFeatures } = g;
  perm.set(features);
  for (let i = 0; i < nKnownConstants; i++) isConst[features[i] as number] = 1;
  let nConst = nKnownConstants;
  let pool = nf;
  let visited = 0;
  let usable = 0;
  while (pool > 0 && (visited < maxFeatures || usable === 0)) {
    const want = visited < maxFeatures ? maxFeatures - visited : 1;
    let nb = 0;
    for (let t = 0; t < want && pool > 0; t++) {
      const pick = rng.below(pool);
      pool--;
      const f = perm[pick] as number;
      perm[pick] = perm[pool] as number;
      perm[pool] = f;
      visited++;
      if (isConst[f] === 0) s.batch[nb++] = f;
    }
    if (nb === 0) continue;
    s.span[2] = nb;
    if (binary) histogramsBinary(g.rows, s);
    else histogramsGeneral(g.rows, s);
    for (let j = 0; j < nb; j++) {
      if (isConstantSlot(s, j)) {
        // Constant in this node, so in all its descendants: move it into the known prefix.
        const f = s.batch[j] as number;
        const at = features.indexOf(f, nConst);
        features[at] = features[nConst] as number;
        features[nConst] = f;
        nConst++;
      } else {
        usable++;
        if (binary) scanBinary(s, j);
        else scanGeneral(s, j);
      }
      clearSlot(s, j);
    }
  }
  for (let i = 0; i < nKnownConstants; i++) isConst[features[i] as number] = 0;
  return nConst;
}

/**
 * Pops one pending node and either makes it a leaf or splits it and pushes its children. A
 * function per node, not a loop body, so V8 optimises it during the first tree.
 */
function growNode(g: Grower): void {
  const {
    k,
    stack,
    s,
    rec,
    totals,
    childTotals,
    rows,
    feature,
    bin,
    child,
    leafValue,
    importance,
  } = g;
  stack.pop(rec, totals);
  const start = rec[0] as number;
  const end = rec[1] as number;
  const depth = rec[2] as number;
  const node = rec[3] as number;
  let wNode = 0;
  for (let c = 0; c < k; c++) wNode += totals[c] as number;
  const nNode = end - start;
  const impurity = gini(totals, wNode);

  s.best[0] = -Infinity;
  s.best[1] = -1;
  let nConst = rec[4] as number;
  if (
    depth < g.maxDepth &&
    nNode >= g.minSamplesSplit &&
    nNode >= 2 * g.msl &&
    impurity > EPSILON
  ) {
    s.span[0] = start;
    s.span[1] = end;
    s.nodeWeight[0] = wNode;
    nConst = searchSplit(g, nConst);
  }
  const bestFeature = s.best[1] ?? -1;
  if (bestFeature < 0) {
    feature[node] = -1;
    child[node] = g.leafCount;
    for (let c = 0; c < k; c++)
      leafValue[g.leafCount * k + c] = (totals[c] as number) / wNode;
    g.leafCount++;
    return;
  }
  const bestBin = s.best[2] as number;
  const mid = partition(rows, s);

  let wl = 0;
  let wr = 0;
  for (let c = 0; c < k; c++) {
    wl += childTotals[c] as number;
    wr += childTotals[k + c] as number;
  }
  importance[bestFeature] =
    (importance[bestFeature] as number) +
    (wNode * impurity -
      wl * gini(g.leftTotals, wl) -
      wr * gini(g.rightTotals, wr));

  const leftId = g.nodeCount;
  g.nodeCount += 2;
  feature[node] = bestFeature;
  bin[node] = bestBin;
  child[node] = leftId;
  // Right pushed first so the left subtree is grown first, as scikit-learn does.
  rec[0] = mid;
  rec[1] = end;
  rec[2] = depth + 1;
  rec[3] = leftId + 1;
  rec[4] = nConst;
  stack.push(rec, childTotals, k);
  rec[0] = start;
  rec[1] = mid;
  rec[3] = leftId;
  stack.push(rec, childTotals, 0);
}

/**
 * Bootstrap: n draws of a row with replacement; a row's draw count multiplies its weight, as in
 * scikit-learn, and rows never drawn are left out of the tree. Setup loops live in their own
 * small functions: V8 optimises them on their own instead of deoptimising buildTree.
 */
function drawBootstrap(
  draws: Uint32Array,
  bootstrap: boolean,
  rng: Rng,
): Uint32Array {
  const n = draws.length;
  if (!bootstrap) return draws.fill(1);
  draws.fill(0);
  for (let i = 0; i < n; i++) {
    const r = rng.below(n);
    draws[r] = (draws[r] as number) + 1;
  }
  return draws;
}

/**
 * Working arrays sized for the largest possible tree of a dataset (every row in bag), kept
 * per dataset and thread so that each tree reuses them: allocating and zero-filling them per
 * tree cost collector pauses on small data and tens of megabytes per tree on large data.
 * Trees slice views of the length they need; nothing here is part of a returned tree.
 */
interface TreeBuffers {
  draws: Uint32Array<ArrayBuffer>;
  pc: Uint8Array<ArrayBuffer>;
  pw: Float64Array<ArrayBuffer>;
  py: Uint8Array<ArrayBuffer>;
  /** Node arrays: a binary tree over m distinct rows has at most 2m - 1 nodes and m leaves. */
  feature: Int16Array<ArrayBuffer>;
  bin: Uint8Array<ArrayBuffer>;
  child: Int32Array<ArrayBuffer>;
  leafValue: Float64Array<ArrayBuffer>;
}

// Keyed by the dataset's code array, so the buffers go when the dataset does.
const BUFFERS = new WeakMap<Uint8Array, TreeBuffers>();

function buffersFor(data: TreeTrainingData): TreeBuffers {
  let b = BUFFERS.get(data.codes);
  if (b === undefined) {
    const n = Math.max(1, data.nRows);
    const maxNodes = 2 * n - 1;
    b = {
      draws: new Uint32Array(n),
      pc: new Uint8Array(n * ((data.nFeatures + 3) & ~3)),
      pw: new Float64Array(n),
      py: new Uint8Array(n),
      feature: new Int16Array(maxNodes),
      bin: new Uint8Array(maxNodes),
      child: new Int32Array(maxNodes),
      leafValue: new Float64Array(n * data.nClasses),
    };
    BUFFERS.set(data.codes, b);
  }
  return b;
}

interface InBag {
  pc: Uint8Array<ArrayBuffer>;
  pw: Float64Array<ArrayBuffer>;
  py: Uint8Array<ArrayBuffer>;
  stride: number;
}

/** Copies the in-bag rows' codes (word-padded rows), weights and classes, in row order. */
function gatherInBag(data: TreeTrainingData, buffers: TreeBuffers): InBag {
  const { codes, nRows: n, nFeatures: nf, y, rowWeight } = data;
  const { draws } = buffers;
  let m = 0;
  for (let r = 0; r < n; r++) if ((draws[r] as number) > 0) m++;
  const stride = (nf + 3) & ~3;
  const pc = buffers.pc.subarray(0, m * stride);
  const pw = buffers.pw.subarray(0, m);
  const py = buffers.py.subarray(0, m);
  for (let r = 0, j = 0; r < n; r++) {
    const d = draws[r] as number;
    if (d > 0) {
      for (let f = 0; f < nf; f++)
        pc[j * stride + f] = codes[r * nf + f] as number;
      pw[j] = d * (rowWeight[r] as number);
      py[j] = y[r] as number;
      j++;
    }
  }
  return { pc, pw, py, stride };
}

/** The grown tree in its final two-int32-per-node layout (see TreeArrays). */
function packNodes(g: Grower): Int32Array<ArrayBuffer> {
  const { feature, bin, child, leafValue, k, nodeCount } = g;
  const nodes = new Int32Array(2 * nodeCount);
  const nodeF32 = new Float32Array(nodes.buffer);
  for (let u = 0; u < nodeCount; u++) {
    const f = feature[u] as number;
    if (f >= 0) {
      nodes[2 * u] = (f << 8) | (bin[u] as number);
      nodes[2 * u + 1] = child[u] as number;
    } else {
      nodes[2 * u] = -1;
      if (k === 2)
        nodeF32[2 * u + 1] = leafValue[2 * (child[u] as number) + 1] as number;
      else nodes[2 * u + 1] = child[u] as number;
    }
  }
  return nodes;
}

/** Grows one tree with its own RNG seeded by `seed`. */
export function buildTree(
  data: TreeTrainingData,
  params: TreeParams,
  seed: number,
): TreeArrays {
  const { nRows: n, nFeatures: nf, nClasses: k } = data;
  const rng = new Rng(seed);

  const buffers = buffersFor(data);
  drawBootstrap(buffers.draws.subarray(0, n), params.bootstrap, rng);
  const { pc, pw, py, stride } = gatherInBag(data, buffers);
  const m = pw.length;

  const { feature, bin, child, leafValue } = buffers;

  // Node class totals are plain sums over the node's rows (the root's here, the children's
  // during partitioning), never parent minus sibling: a class absent from a node weighs exactly 0.
  const rootTotals = new Float64Array(k);
  let rootWeight = 0;
  for (let j = 0; j < m; j++) {
    const c = py[j] as number;
    rootTotals[c] = (rootTotals[c] as number) + (pw[j] as number);
    rootWeight += pw[j] as number;
  }
  const stack = new NodeStack(k);
  stack.push(Int32Array.of(0, m, 0, 0, 0), rootTotals, 0);

  const features = new Int32Array(nf);
  for (let f = 0; f < nf; f++) features[f] = f;
  const slots = Math.min(nf, Math.max(1, params.maxFeatures));
  const childTotals = new Float64Array(2 * k);
  const totals = new Float64Array(k);
  // Two classes with minSamplesLeaf 1 (the defaults) need no row counts: that path is leaner.
  const binary = k === 2 && params.minSamplesLeaf === 1;
  const g: Grower = {
    nf,
    k,
    rng,
    stack,
    features,
    perm: new Int32Array(nf),
    isConst: new Uint8Array(nf),
    s: {
      hist: new Float64Array(slots * 256 * k),
      cnt: new Int32Array(slots * 256),
      bits: new Int32Array(slots * 8),
      batch: new Int32Array(slots),
      left: new Float64Array(k),
      best: new Float64Array(3),
      span: new Int32Array(3),
      totals,
      nodeWeight: new Float64Array(1),
      k,
      binary,
      msl: params.minSamplesLeaf,
    },
    rec: new Int32Array(5),
    totals,
    childTotals,
    leftTotals: childTotals.subarray(0, k),
    rightTotals: childTotals.subarray(k),
    rows: {
      pc,
      pc32: new Uint32Array(pc.buffer),
      stride,
      py,
      pw,
      k,
      childTotals,
    },
    binary,
    maxDepth: params.maxDepth > 0 ? params.maxDepth : Number.MAX_SAFE_INTEGER,
    maxFeatures: params.maxFeatures,
    msl: params.minSamplesLeaf,
    minSamplesSplit: params.minSamplesSplit,
    feature,
    bin,
    child,
    leafValue,
    importance: new Float64Array(nf),
    nodeCount: 1,
    leafCount: 0,
  };
  while (stack.size > 0) growNode(g);
  const { leafCount, importance } = g;

  const nodes = packNodes(g);
  return {
    nodes,
    leafValue:
      k === 2 ? new Float64Array(0) : leafValue.slice(0, leafCount * k),
    importance,
    rootWeight,
  };
}
