import { Rng } from "./rng.ts";

/**
 * One CART tree on Gini impurity, grown depth-first over histograms of pre-binned features.
 *
 * The growth rules follow scikit-learn's `DecisionTreeClassifier` (BestSplitter +
 * DepthFirstTreeBuilder) so that a forest with the same parameters behaves like scikit-learn's:
 * bootstrap counts multiply the sample weights, `minSamplesSplit` and `minSamplesLeaf` count
 * distinct in-bag rows, features found constant in a node are not counted against `maxFeatures`
 * and are remembered for its descendants, and ties keep the first best split found. Only the
 * random stream differs, and thresholds are limited to bin edges for features with more than
 * 256 distinct values.
 *
 * This module runs both in the main thread (`jobs: 1`) and in worker threads, so it imports
 * nothing but the RNG.
 */

/** What every tree of a forest reads; typed arrays may live in SharedArrayBuffers. */
export interface TreeTrainingData {
  /** Column-major uint8 bin codes, `codes[f * nRows + r]`. */
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

function gini(totals: Float64Array, offset: number, k: number, weight: number): number {
  let sq = 0;
  for (let c = 0; c < k; c++) {
    const p = (totals[offset + c] as number) / weight;
    sq += p * p;
  }
  return 1 - sq;
}

/**
 * Per-tree working memory for split search. The hot loops below are small top-level functions
 * on purpose: V8 optimises a function after a few hundred calls, within the first tree, whereas
 * one big per-tree function waited about ten trees for on-stack replacement (≈ 200 ms per worker).
 */
interface Scratch {
  /** Class weight per (bin, class); with two classes, even and odd rows use hist and hist2. */
  readonly hist: Float64Array;
  readonly hist2: Float64Array;
  /** Rows per bin (only needed when minSamplesLeaf > 1 or more than two classes). */
  readonly cnt: Int32Array;
  /** Occupied bins of the current feature, in discovery order, then sorted. */
  readonly touched: Uint8Array;
  /** mark[b] === stamp[0] once bin b is in `touched` for the current feature. */
  readonly mark: Int32Array;
  readonly stamp: Int32Array;
  readonly left: Float64Array;
  /** Best split so far in this node: [proxy, feature, bin]. */
  readonly best: Float64Array;
  /** Bin walk of the current feature: [first bin, steps, 1 if walking `touched` else 0]. */
  readonly walk: Int32Array;
}

function histogramBinary(codes: Uint8Array, base: number, idx: Uint32Array, py: Uint8Array, pw: Float64Array, start: number, end: number, s: Scratch): number {
  const { hist, hist2, mark, touched } = s;
  const stamp = (s.stamp[0] as number) + 1;
  s.stamp[0] = stamp;
  let nt = 0;
  // Branch-free on the class (a coin flip to the branch predictor); the bin-marker branch is
  // almost never taken. Even and odd rows add into separate histograms so that runs of one bin
  // (common for booleans) do not serialise on a single memory slot. An odd last row pairs with
  // itself at zero weight: a separate tail loop would be cold code whose missing type feedback
  // deoptimises the function again and again.
  for (let p = start; p < end; p += 2) {
    const q = p + 1 < end ? p + 1 : p;
    const b = codes[base + (idx[p] as number)] as number;
    const b2 = codes[base + (idx[q] as number)] as number;
    if (mark[b] !== stamp) {
      mark[b] = stamp;
      touched[nt++] = b;
    }
    if (mark[b2] !== stamp) {
      mark[b2] = stamp;
      touched[nt++] = b2;
    }
    const h = (b << 1) | (py[p] as number);
    const h2 = (b2 << 1) | (py[q] as number);
    hist[h] = (hist[h] as number) + (pw[p] as number);
    hist2[h2] = (hist2[h2] as number) + (q === p ? 0 : (pw[q] as number));
  }
  return nt;
}

function histogramGeneral(codes: Uint8Array, base: number, idx: Uint32Array, py: Uint8Array, pw: Float64Array, start: number, end: number, k: number, s: Scratch): number {
  const { hist, cnt, touched } = s;
  let nt = 0;
  for (let p = start; p < end; p++) {
    const b = codes[base + (idx[p] as number)] as number;
    const nb = cnt[b] as number;
    if (nb === 0) touched[nt++] = b;
    cnt[b] = nb + 1;
    const h = b * k + (py[p] as number);
    hist[h] = (hist[h] as number) + (pw[p] as number);
  }
  return nt;
}

function clearBins(s: Scratch, nt: number, k: number): void {
  const { hist, hist2, cnt, touched } = s;
  for (let t = 0; t < nt; t++) {
    const b = touched[t] as number;
    cnt[b] = 0;
    for (let c = 0; c < k; c++) hist[b * k + c] = 0;
    if (k === 2) {
      hist2[2 * b] = 0;
      hist2[2 * b + 1] = 0;
    }
  }
}

/**
 * Decides how to visit the occupied bins in ascending order: a small node sorts its few bins, a
 * large one walks the whole bin range. Either way every occupied bin but the last is a candidate.
 */
function planWalk(s: Scratch, nt: number): void {
  const { touched, walk } = s;
  let lo = 255;
  let hi = 0;
  for (let t = 0; t < nt; t++) {
    const b = touched[t] as number;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  if (nt * 8 < hi - lo) {
    for (let t = 1; t < nt; t++) {
      const b = touched[t] as number;
      let u = t - 1;
      while (u >= 0 && (touched[u] as number) > b) {
        touched[u + 1] = touched[u] as number;
        u--;
      }
      touched[u + 1] = b;
    }
    walk[0] = 0;
    walk[1] = nt - 1;
    walk[2] = 1;
  } else {
    walk[0] = lo;
    walk[1] = hi - lo;
    walk[2] = 0;
  }
}

/** Two classes, minSamplesLeaf 1: scikit-learn's Gini proxy sum_c wl_c²/wl + sum_c wr_c²/wr, larger is better. */
function scanBinary(s: Scratch, totals: Float64Array, wNode: number, feature: number): void {
  const { hist, hist2, touched, walk, best } = s;
  const t0 = totals[0] as number;
  const t1 = totals[1] as number;
  const lo = walk[0] as number;
  const steps = walk[1] as number;
  const sparse = walk[2] === 1;
  let bestProxy = best[0] as number;
  let l0 = 0;
  let l1 = 0;
  for (let t = 0; t < steps; t++) {
    const b = sparse ? (touched[t] as number) : lo + t;
    const a0 = (hist[2 * b] as number) + (hist2[2 * b] as number);
    const a1 = (hist[2 * b + 1] as number) + (hist2[2 * b + 1] as number);
    // In-bag weights are > 0, so an empty bin is one with no weight.
    if (a0 === 0 && a1 === 0) continue;
    l0 += a0;
    l1 += a1;
    const wl = l0 + l1;
    const r0 = t0 - l0;
    const r1 = t1 - l1;
    const proxy = (l0 * l0 + l1 * l1) / wl + (r0 * r0 + r1 * r1) / (wNode - wl);
    if (proxy > bestProxy) {
      bestProxy = proxy;
      best[0] = proxy;
      best[1] = feature;
      best[2] = b;
    }
  }
}

interface ScanGeneralOptions {
  k: number;
  totals: Float64Array;
  wNode: number;
  nNode: number;
  msl: number;
  feature: number;
}

/** Any class count and minSamplesLeaf, counting rows per side. */
function scanGeneral(s: Scratch, o: ScanGeneralOptions): void {
  const { hist, cnt, touched, walk, best, left } = s;
  const { k, totals, wNode, nNode, msl, feature } = o;
  const lo = walk[0] as number;
  const steps = walk[1] as number;
  const sparse = walk[2] === 1;
  left.fill(0);
  let nLeft = 0;
  let wLeft = 0;
  for (let t = 0; t < steps; t++) {
    const b = sparse ? (touched[t] as number) : lo + t;
    const nb = cnt[b] as number;
    if (nb === 0) continue;
    nLeft += nb;
    for (let c = 0; c < k; c++) {
      const h = hist[b * k + c] as number;
      left[c] = (left[c] as number) + h;
      wLeft += h;
    }
    if (nLeft < msl) continue;
    if (nNode - nLeft < msl) break;
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
      best[2] = b;
    }
  }
}

interface PartitionOptions {
  codes: Uint8Array;
  base: number;
  idx: Uint32Array;
  pw: Float64Array;
  py: Uint8Array;
  k: number;
  /** Receives the left then the right side's class weights (length 2k). */
  childTotals: Float64Array;
}

/** Moves rows with code <= bin before the others, summing each side's class weights; returns the split position. */
function partition(o: PartitionOptions, start: number, end: number, bin: number): number {
  const { codes, base, idx, pw, py, k, childTotals } = o;
  childTotals.fill(0);
  let i = start;
  let j = end - 1;
  while (i <= j) {
    const r = idx[i] as number;
    const w = pw[i] as number;
    const c = py[i] as number;
    if ((codes[base + r] as number) <= bin) {
      childTotals[c] = (childTotals[c] as number) + w;
      i++;
    } else {
      childTotals[k + c] = (childTotals[k + c] as number) + w;
      idx[i] = idx[j] as number;
      idx[j] = r;
      pw[i] = pw[j] as number;
      pw[j] = w;
      py[i] = py[j] as number;
      py[j] = c;
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

  push(start: number, end: number, depth: number, node: number, nConst: number, totals: Float64Array, off: number): void {
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
    this.#ints[at] = start;
    this.#ints[at + 1] = end;
    this.#ints[at + 2] = depth;
    this.#ints[at + 3] = node;
    this.#ints[at + 4] = nConst;
    for (let c = 0; c < k; c++) this.#totals[this.size * k + c] = totals[off + c] as number;
    this.size++;
  }

  /** Pops into `ints` (start, end, depth, node, nConst) and `totals`. */
  pop(ints: Int32Array, totals: Float64Array): void {
    this.size--;
    const at = this.size * 5;
    for (let i = 0; i < 5; i++) ints[i] = this.#ints[at + i] as number;
    for (let c = 0; c < this.#k; c++) totals[c] = this.#totals[this.size * this.#k + c] as number;
  }
}

/** Everything one tree's growth reads and writes; `growNode` works on it one node at a time. */
interface Grower {
  readonly codes: Uint8Array;
  readonly n: number;
  readonly nf: number;
  readonly k: number;
  readonly rng: Rng;
  readonly idx: Uint32Array;
  readonly pw: Float64Array;
  readonly py: Uint8Array;
  readonly stack: NodeStack;
  readonly features: Int32Array;
  readonly constantFeatures: Int32Array;
  readonly s: Scratch;
  readonly rec: Int32Array;
  readonly totals: Float64Array;
  readonly childTotals: Float64Array;
  readonly part: PartitionOptions;
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
  readonly importance: Float64Array;
  nodeCount: number;
  leafCount: number;
}

/**
 * Pops one pending node and either makes it a leaf or splits it and pushes its children. A
 * function per node, not a loop body, so V8 optimises it during the first tree.
 */
function growNode(g: Grower): void {
  const { codes, n, nf, k, rng, idx, pw, py, stack, features, constantFeatures, s, rec, totals, childTotals, part } = g;
  const { binary, maxDepth, maxFeatures, msl, minSamplesSplit, feature, bin, child, leafValue, importance } = g;
  stack.pop(rec, totals);
  const start = rec[0] as number;
  const end = rec[1] as number;
  const depth = rec[2] as number;
  const node = rec[3] as number;
  const nKnownConstants = rec[4] as number;
  let wNode = 0;
  for (let c = 0; c < k; c++) wNode += totals[c] as number;
  const nNode = end - start;
  const impurity = gini(totals, 0, k, wNode);

  s.best[0] = -Infinity;
  s.best[1] = -1;
  let nTotalConstants = nKnownConstants;
  if (depth < maxDepth && nNode >= minSamplesSplit && nNode >= 2 * msl && impurity > EPSILON) {
    // Feature sampling without replacement, ported from scikit-learn's node_split_best:
    // features[0 .. nKnownConstants) are constant in the parent; newly found constants are
    // swapped in after them and do not count as visited.
    let nVisited = 0;
    let nFoundConstants = 0;
    let nDrawnConstants = 0;
    let fi = nf;
    while (fi > nTotalConstants && (nVisited < maxFeatures || nVisited <= nFoundConstants + nDrawnConstants)) {
      nVisited++;
      let fj = nDrawnConstants + rng.below(fi - nFoundConstants - nDrawnConstants);
      if (fj < nKnownConstants) {
        const t = features[nDrawnConstants] as number;
        features[nDrawnConstants] = features[fj] as number;
        features[fj] = t;
        nDrawnConstants++;
        continue;
      }
      fj += nFoundConstants;
      const f = features[fj] as number;
      const base = f * n;
      const nt = binary
        ? histogramBinary(codes, base, idx, py, pw, start, end, s)
        : histogramGeneral(codes, base, idx, py, pw, start, end, k, s);
      if (nt === 1) {
        clearBins(s, nt, k);
        features[fj] = features[nTotalConstants] as number;
        features[nTotalConstants] = f;
        nFoundConstants++;
        nTotalConstants++;
        continue;
      }
      fi--;
      features[fj] = features[fi] as number;
      features[fi] = f;
      planWalk(s, nt);
      if (binary) scanBinary(s, totals, wNode, f);
      else scanGeneral(s, { k, totals, wNode, nNode, msl, feature: f });
      clearBins(s, nt, k);
    }
    // Restore the parent's constants in their original order for the siblings, and record the
    // ones found here for the children (scikit-learn's invariant).
    for (let i = 0; i < nKnownConstants; i++) features[i] = constantFeatures[i] as number;
    for (let i = nKnownConstants; i < nTotalConstants; i++) constantFeatures[i] = features[i] as number;
  }

  const bestFeature = s.best[1] as number;
  if (bestFeature < 0) {
    feature[node] = -1;
    child[node] = g.leafCount;
    for (let c = 0; c < k; c++) leafValue[g.leafCount * k + c] = (totals[c] as number) / wNode;
    g.leafCount++;
    return;
  }
  const bestBin = s.best[2] as number;
  part.base = bestFeature * n;
  const mid = partition(part, start, end, bestBin);

  let wl = 0;
  let wr = 0;
  for (let c = 0; c < k; c++) {
    wl += childTotals[c] as number;
    wr += childTotals[k + c] as number;
  }
  importance[bestFeature] =
    (importance[bestFeature] as number) +
    (wNode * impurity - wl * gini(childTotals, 0, k, wl) - wr * gini(childTotals, k, k, wr));

  const leftId = g.nodeCount;
  g.nodeCount += 2;
  feature[node] = bestFeature;
  bin[node] = bestBin;
  child[node] = leftId;
  // Right pushed first so the left subtree is grown first, as scikit-learn does.
  stack.push(mid, end, depth + 1, leftId + 1, nTotalConstants, childTotals, k);
  stack.push(start, mid, depth + 1, leftId, nTotalConstants, childTotals, 0);
}

/** Grows one tree with its own RNG seeded by `seed`. */
export function buildTree(data: TreeTrainingData, params: TreeParams, seed: number): TreeArrays {
  const { codes, nRows: n, nFeatures: nf, y, nClasses: k, rowWeight } = data;
  const rng = new Rng(seed);

  // Bootstrap: draw n rows with replacement; the draw count multiplies the row's weight, as in
  // scikit-learn, and rows never drawn are left out of the tree entirely.
  const draws = new Uint32Array(n);
  let m = 0;
  if (params.bootstrap) {
    for (let i = 0; i < n; i++) {
      const r = rng.below(n);
      draws[r] = (draws[r] as number) + 1;
    }
    for (let r = 0; r < n; r++) if ((draws[r] as number) > 0) m++;
  } else {
    draws.fill(1);
    m = n;
  }
  // In-bag rows, partitioned in place node by node; their weight and class travel alongside in
  // position-aligned arrays so histogram building reads those sequentially.
  const idx = new Uint32Array(m);
  const pw = new Float64Array(m);
  const py = new Uint8Array(m);
  for (let r = 0, j = 0; r < n; r++) {
    const d = draws[r] as number;
    if (d > 0) {
      idx[j] = r;
      pw[j] = d * (rowWeight[r] as number);
      py[j] = y[r] as number;
      j++;
    }
  }

  // A binary tree over m distinct rows has at most 2m - 1 nodes and m leaves.
  const maxNodes = Math.max(1, 2 * m - 1);
  const feature = new Int16Array(maxNodes);
  const bin = new Uint8Array(maxNodes);
  const child = new Int32Array(maxNodes);
  const leafValue = new Float64Array(Math.max(1, m) * k);
  const importance = new Float64Array(nf);

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
  stack.push(0, m, 0, 0, 0, rootTotals, 0);

  const features = new Int32Array(nf);
  for (let f = 0; f < nf; f++) features[f] = f;
  const constantFeatures = new Int32Array(nf);

  const s: Scratch = {
    hist: new Float64Array(256 * k),
    hist2: new Float64Array(512),
    cnt: new Int32Array(256),
    touched: new Uint8Array(256),
    mark: new Int32Array(256),
    stamp: new Int32Array(1),
    left: new Float64Array(k),
    best: new Float64Array(3),
    walk: new Int32Array(3),
  };
  const childTotals = new Float64Array(2 * k);

  const g: Grower = {
    codes,
    n,
    nf,
    k,
    rng,
    idx,
    pw,
    py,
    stack,
    features,
    constantFeatures,
    s,
    rec: new Int32Array(5),
    totals: new Float64Array(k),
    childTotals,
    part: { codes, base: 0, idx, pw, py, k, childTotals },
    binary: k === 2 && params.minSamplesLeaf === 1,
    maxDepth: params.maxDepth > 0 ? params.maxDepth : Number.MAX_SAFE_INTEGER,
    maxFeatures: params.maxFeatures,
    msl: params.minSamplesLeaf,
    minSamplesSplit: params.minSamplesSplit,
    feature,
    bin,
    child,
    leafValue,
    importance,
    nodeCount: 1,
    leafCount: 0,
  };
  while (stack.size > 0) growNode(g);
  const { nodeCount, leafCount } = g;

  const nodes = new Int32Array(2 * nodeCount);
  const nodeF32 = new Float32Array(nodes.buffer);
  for (let u = 0; u < nodeCount; u++) {
    const f = feature[u] as number;
    if (f >= 0) {
      nodes[2 * u] = (f << 8) | (bin[u] as number);
      nodes[2 * u + 1] = child[u] as number;
    } else {
      nodes[2 * u] = -1;
      if (k === 2) nodeF32[2 * u + 1] = leafValue[2 * (child[u] as number) + 1] as number;
      else nodes[2 * u + 1] = child[u] as number;
    }
  }
  return {
    nodes,
    leafValue: k === 2 ? new Float64Array(0) : leafValue.slice(0, leafCount * k),
    importance,
    rootWeight,
  };
}
