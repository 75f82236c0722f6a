import {
  type Distribution,
  type JointCounts,
  jointCounts,
  numericValues,
} from "./distribution.ts";
import {
  gcd,
  kolmogorovSf,
  probOutsideBand,
  probOutsideSquare,
} from "./kolmogorov.ts";
import { chiSquareSf, normalCdf } from "./special.ts";

export type DriftColumnKind = "numerical" | "categorical";

/** scipy.stats.ks_2samp's `auto`: exact when both samples have at most this many values. */
const KS_MAX_EXACT_N = 10_000;

/** numpy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov p-value as scipy.stats.ks_2samp (SciPy 1.17, method
 * `auto`) computes it: exact when max(n1, n2) <= 10000 (falling back to the asymptotic
 * distribution when the exact sum fails), else kstwo.sf(D, round(n1·n2 / (n1 + n2))).
 */
export function ksTwoSamplePValue(
  reference: Distribution,
  current: Distribution,
): number {
  const joint = jointCounts(reference, current);
  numericValues(joint);
  const n1 = reference.n;
  const n2 = current.n;
  let c1 = 0;
  let c2 = 0;
  let minDiff = Infinity;
  let maxDiff = -Infinity;
  for (let i = 0; i < joint.size; i++) {
    c1 += joint.reference[i]!;
    c2 += joint.current[i]!;
    const diff = c1 / n1 - c2 / n2;
    if (diff < minDiff) minDiff = diff;
    if (diff > maxDiff) maxDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  let d = minS > maxDiff ? minS : maxDiff;
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const lcm = (n1 / gcd(n1, n2)) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return 1;
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, h);
    if (p >= 0 && p <= 1) return p;
  }
  const big = Math.max(n1, n2);
  const small = Math.min(n1, n2);
  const en = (big * small) / (big + small);
  return Math.min(Math.max(kolmogorovSf(roundHalfEven(en), d), 0), 1);
}

/**
 * Evidently's chi_stat_test: scipy.stats.chisquare of the current counts against the reference
 * counts scaled by n_cur / n_ref over the union of values, k − 1 degrees of freedom. A value absent
 * from the reference has expected count 0, an infinite statistic and p = 0.
 */
export function chiSquarePValue(
  reference: Distribution,
  current: Distribution,
): number {
  const joint = jointCounts(reference, current);
  const kNorm = current.n / reference.n;
  let statistic = 0;
  for (let i = 0; i < joint.size; i++) {
    const expected = joint.reference[i]! * kNorm;
    const diff = joint.current[i]! - expected;
    statistic += (diff * diff) / expected;
  }
  return chiSquareSf(statistic, joint.size - 1);
}

/**
 * Evidently's z_stat_test: the lowest value of the union maps to 0, every other to 1; two-proportion
 * z statistic with the pooled proportion, p = 2(1 − Φ(|z|)); p = 1 when both sides hold one and the
 * same value.
 */
export function zTestPValue(
  reference: Distribution,
  current: Distribution,
): number {
  const joint = jointCounts(reference, current);
  if (joint.size === 1) return 1;
  const n1 = reference.n;
  const n2 = current.n;
  const p1 = (n1 - joint.reference[0]!) / n1;
  const p2 = (n2 - joint.current[0]!) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return 2 * (1 - normalCdf(Math.abs(z)));
}

/** Population standard deviation (ddof 0) of a distribution's numeric values, two-pass. */
function populationStd(values: Float64Array, counts: Float64Array): number {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    n += counts[i]!;
    sum += counts[i]! * values[i]!;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const dev = values[i]! - mean;
    ss += counts[i]! * dev * dev;
  }
  return Math.sqrt(ss / n);
}

/**
 * Evidently's normed Wasserstein distance: scipy.stats.wasserstein_distance (the area between the
 * two empirical CDFs) divided by max(population std of the reference, 0.001).
 */
export function normedWassersteinDistance(
  reference: Distribution,
  current: Distribution,
): number {
  const joint = jointCounts(reference, current);
  const x = numericValues(joint);
  let c1 = 0;
  let c2 = 0;
  let area = 0;
  for (let i = 0; i < x.length - 1; i++) {
    c1 += joint.reference[i]!;
    c2 += joint.current[i]!;
    area += Math.abs(c1 / reference.n - c2 / current.n) * (x[i + 1]! - x[i]!);
  }
  const std = populationStd(x, joint.reference);
  return area / Math.max(std, 0.001);
}

/** Shares of each bin per side, as Evidently's get_binned_data forms them. */
interface BinnedShares {
  reference: Float64Array;
  current: Float64Array;
}

/**
 * numpy.histogram_bin_edges(sample, "sturges") over a sample given as sorted distinct values with
 * total size n: ceil(ptp / (ptp / (log2 n + 1))) equal bins from min to max (±0.5 when constant).
 */
export function sturgesEdges(values: Float64Array, n: number): Float64Array {
  let first = values[0]!;
  let last = values[values.length - 1]!;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const ptp = values[values.length - 1]! - values[0]!;
  const width = ptp / (Math.log2(n) + 1);
  const bins = width > 0 ? Math.ceil((last - first) / width) : 1;
  // np.linspace: i · step + start, the last edge set to stop exactly.
  const step = (last - first) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** np.histogram counts of one side over `edges` (bins half-open, the last one closed). */
function histogramShares(
  side: { x: Float64Array; counts: Float64Array },
  edges: Float64Array,
  n: number,
): Float64Array {
  const bins = edges.length - 1;
  const out = new Float64Array(bins);
  let b = 0;
  const { x, counts } = side;
  for (let i = 0; i < x.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    const v = x[i]!;
    while (b < bins - 1 && v >= edges[b + 1]!) b++;
    out[b]! += c;
  }
  for (let i = 0; i < bins; i++) out[i]! /= n;
  return out;
}

/**
 * Evidently 0.7.15's get_binned_data: Sturges histogram over reference ∪ current when the column
 * is numerical and the reference holds more than 20 distinct values, else one bin per value of
 * the union. With `fillZeroes`, an empty bin's share becomes min(non-zero share) / 10⁶ when that
 * minimum is <= 0.0001, else 0.0001, per side.
 */
function binnedShares(
  reference: Distribution,
  current: Distribution,
  options: { kind: DriftColumnKind; fillZeroes: boolean },
): BinnedShares {
  const joint: JointCounts = jointCounts(reference, current);
  let shares: BinnedShares;
  if (options.kind === "numerical" && reference.values.length > 20) {
    const x = numericValues(joint);
    const edges = sturgesEdges(x, reference.n + current.n);
    shares = {
      reference: histogramShares(
        { x, counts: joint.reference },
        edges,
        reference.n,
      ),
      current: histogramShares({ x, counts: joint.current }, edges, current.n),
    };
  } else {
    shares = {
      reference: joint.reference.map((c) => c / reference.n),
      current: joint.current.map((c) => c / current.n),
    };
  }
  if (options.fillZeroes) {
    fillZeroes(shares.reference);
    fillZeroes(shares.current);
  }
  return shares;
}

function fillZeroes(shares: Float64Array): void {
  let min = Infinity;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  for (let i = 0; i < shares.length; i++) if (shares[i] === 0) shares[i] = fill;
}

/** scipy.special.rel_entr: x ln(x / y), 0 when x = 0. */
function relEntr(x: number, y: number): number {
  if (x === 0 && y >= 0) return 0;
  if (x > 0 && y > 0) return x * Math.log(x / y);
  return Infinity;
}

/**
 * Evidently's Jensen–Shannon distance: scipy.spatial.distance.jensenshannon (natural log) of the
 * binned shares, with no smoothing of empty bins.
 */
export function jensenShannonDistance(
  reference: Distribution,
  current: Distribution,
  kind: DriftColumnKind,
): number {
  const { reference: p0, current: q0 } = binnedShares(reference, current, {
    kind,
    fillZeroes: false,
  });
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p0.length; i++) {
    sp += p0[i]!;
    sq += q0[i]!;
  }
  let left = 0;
  let right = 0;
  for (let i = 0; i < p0.length; i++) {
    const p = p0[i]! / sp;
    const q = q0[i]! / sq;
    const m = (p + q) / 2;
    left += relEntr(p, m);
    right += relEntr(q, m);
  }
  return Math.sqrt((left + right) / 2);
}

/**
 * Evidently 0.7.15's PSI: Σ (ref% − cur%) · ln(ref% / cur%) over get_binned_data's bins with empty
 * bins filled (see `binnedShares`).
 */
export function populationStabilityIndex(
  reference: Distribution,
  current: Distribution,
  kind: DriftColumnKind,
): number {
  const { reference: r, current: c } = binnedShares(reference, current, {
    kind,
    fillZeroes: true,
  });
  let psi = 0;
  for (let i = 0; i < r.length; i++) {
    psi += (r[i]! - c[i]!) * Math.log(r[i]! / c[i]!);
  }
  return psi;
}
