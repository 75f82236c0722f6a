import { CoreError } from "../errors.ts";
import type { DenseMatrix } from "../matrix.ts";

/**
 * Features are quantised once, before any tree is built: each value becomes a uint8 bin code and
 * split search works on per-node histograms of codes instead of sorting values at every node.
 * A feature with at most `maxBins` distinct values gets one bin per value, so its candidate
 * thresholds are exactly scikit-learn's (midpoints between consecutive distinct values); a
 * feature with more gets quantile bins whose edges are midpoints between the training values on
 * either side, so binned and raw comparisons agree on every training row.
 */
export const MAX_BINS = 256;

/** Binned values, row-major: the code of (row r, feature f) is `codes[r * nFeatures + f]`. */
export interface BinnedMatrix {
  readonly codes: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  /** Per feature, ascending thresholds: a value goes to bin b when `edges[b-1] < value <= edges[b]`. */
  readonly edges: readonly Float64Array[];
}

/**
 * Above this many rows, edges are learned from an evenly strided sample of this size (as
 * scikit-learn's histogram GBM does with 200k) : sorting every value of a million-row column
 * costs more than it changes the quantiles. Codes are still computed for every row.
 */
const EDGE_SAMPLE = 200_000;

function strided(column: Float64Array, size: number): Float64Array {
  const out = new Float64Array(size);
  const step = column.length / size;
  for (let i = 0; i < size; i++)
    out[i] = column[Math.floor(i * step)] as number;
  return out;
}

/** Midpoint threshold between two consecutive distinct values, guarded like scikit-learn's splitter. */
function midpoint(lo: number, hi: number): number {
  const t = lo / 2 + hi / 2;
  return t === hi || !Number.isFinite(t) ? lo : t;
}

/** Thresholds for one feature's column; at most `maxBins - 1` of them. */
export function computeBinEdges(
  column: Float64Array,
  maxBins: number = MAX_BINS,
): Float64Array {
  const sorted = Float64Array.from(column).sort();
  const n = sorted.length;
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sorted[i] as number;
    if (values.length > 0 && values[values.length - 1] === v)
      counts[counts.length - 1]! += 1;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  const d = values.length;
  if (d <= maxBins) {
    const edges = new Float64Array(Math.max(0, d - 1));
    for (let i = 0; i + 1 < d; i++)
      edges[i] = midpoint(values[i] as number, values[i + 1] as number);
    return edges;
  }
  // Equal-frequency cuts over the distinct values: a value is never split across bins, and a
  // heavy value simply fills its bin.
  const edges: number[] = [];
  let cumulative = 0;
  for (let i = 0; i + 1 < d && edges.length < maxBins - 1; i++) {
    cumulative += counts[i] as number;
    if (cumulative >= ((edges.length + 1) * n) / maxBins) {
      edges.push(midpoint(values[i] as number, values[i + 1] as number));
    }
  }
  return Float64Array.from(edges);
}

/** Bin code of `value`: the number of thresholds strictly below it. NaN gets the last bin, so it goes right at every split. */
export function binCode(edges: Float64Array, value: number): number {
  let lo = 0;
  let hi = edges.length;
  if (Number.isNaN(value)) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface BinMatrixOptions {
  maxBins?: number;
  /** Put the codes in a SharedArrayBuffer so worker threads read them without a copy. */
  shared?: boolean;
}

/**
 * Learns the bin edges of every feature of `x` and encodes `x` with them.
 * @throws CoreError DATA_INVALID when a value is NaN or infinite.
 */
export function binMatrix(
  x: DenseMatrix,
  options: BinMatrixOptions = {},
): BinnedMatrix {
  const maxBins = options.maxBins ?? MAX_BINS;
  const { nRows, nCols, data } = x;
  const buffer = options.shared
    ? new SharedArrayBuffer(nRows * nCols)
    : new ArrayBuffer(nRows * nCols);
  const codes = new Uint8Array(buffer);
  const edges: Float64Array[] = [];
  const column = new Float64Array(nRows);
  for (let f = 0; f < nCols; f++) {
    for (let r = 0; r < nRows; r++) {
      const v = data[r * nCols + f] as number;
      if (!Number.isFinite(v)) {
        throw new CoreError(
          "DATA_INVALID",
          `feature ${f} of training row ${r} is ${v}; the forest needs finite numbers`,
          {
            hint: "Encode the rows with the preprocessor (it imputes missing numerics) or impute them before training.",
            details: { row: r, feature: f },
          },
        );
      }
      column[r] = v;
    }
    const e = computeBinEdges(
      nRows > EDGE_SAMPLE ? strided(column, EDGE_SAMPLE) : column,
      maxBins,
    );
    edges.push(e);
    for (let r = 0; r < nRows; r++)
      codes[r * nCols + f] = binCode(e, column[r] as number);
  }
  return { codes, nRows, nFeatures: nCols, edges };
}
