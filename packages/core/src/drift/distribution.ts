import { CoreError } from "../errors.ts";

export type DriftValue = number | string | boolean;

/** Value counts of one column in one period; NULL, NaN and ±Infinity already dropped. */
export interface Distribution {
  /** Distinct values, ascending: numbers numerically, strings by code unit, false before true. */
  readonly values: readonly DriftValue[];
  /** Occurrences of each value, same length as `values`, each >= 1. */
  readonly counts: readonly number[];
  /** Sum of counts. */
  readonly n: number;
}

/** Rank of a value's type, so a (malformed) mixed column still sorts totally: booleans, numbers, strings. */
function typeRank(value: DriftValue): number {
  return typeof value === "boolean" ? 0 : typeof value === "number" ? 1 : 2;
}

/** The order of `Distribution.values`. */
export function compareDriftValues(a: DriftValue, b: DriftValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * Streaming value counts: numbers go into a growable Float64Array, sorted once and run-length
 * encoded by `build()`; strings and booleans are counted in a Map.
 */
export class DistributionBuilder {
  #numbers = new Float64Array(1024);
  #nNumbers = 0;
  #others = new Map<string | boolean, number>();
  #dropped = 0;

  /** Values not counted: null, undefined, NaN, ±Infinity. */
  get dropped(): number {
    return this.#dropped;
  }

  add(value: DriftValue | null | undefined): void {
    if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        this.#dropped++;
        return;
      }
      if (this.#nNumbers === this.#numbers.length) {
        const grown = new Float64Array(this.#numbers.length * 2);
        grown.set(this.#numbers);
        this.#numbers = grown;
      }
      // -0 and 0 are one value, as in pandas' value_counts.
      this.#numbers[this.#nNumbers++] = value === 0 ? 0 : value;
    } else if (value === null || value === undefined) {
      this.#dropped++;
    } else {
      this.#others.set(value, (this.#others.get(value) ?? 0) + 1);
    }
  }

  build(): Distribution {
    const values: DriftValue[] = [];
    const counts: number[] = [];
    const others = [...this.#others.keys()].sort(compareDriftValues);
    const booleans = others.filter((v) => typeof v === "boolean");
    const strings = others.filter((v) => typeof v === "string");
    for (const v of booleans) {
      values.push(v);
      counts.push(this.#others.get(v) ?? 0);
    }
    const sorted = this.#numbers.slice(0, this.#nNumbers).sort();
    // Run-length encode in place: sorted[0, runs) become the distinct values.
    const runCounts = new Float64Array(sorted.length);
    let runs = 0;
    for (let i = 0; i < sorted.length;) {
      const v = sorted[i]!;
      let j = i + 1;
      while (j < sorted.length && sorted[j] === v) j++;
      sorted[runs] = v;
      runCounts[runs++] = j - i;
      i = j;
    }
    for (let r = 0; r < runs; r++) {
      values.push(sorted[r]!);
      counts.push(runCounts[r]!);
    }
    for (const v of strings) {
      values.push(v);
      counts.push(this.#others.get(v) ?? 0);
    }
    let n = 0;
    for (const c of counts) n += c;
    const distribution: Distribution = { values, counts, n };
    if (booleans.length === 0 && strings.length === 0 && runs > 0) {
      numericViews.set(distribution, {
        values: sorted.subarray(0, runs),
        counts: runCounts.subarray(0, runs),
      });
    }
    return distribution;
  }
}

/** Value counts of `values` (null, undefined, NaN and ±Infinity dropped). */
export function distributionOf(
  values: Iterable<DriftValue | null | undefined>,
): Distribution {
  const builder = new DistributionBuilder();
  for (const v of values) builder.add(v);
  return builder.build();
}

/** Reference and current counts over the sorted union of their values. */
export interface JointCounts {
  /** Number of distinct values in the union. */
  readonly size: number;
  readonly reference: Float64Array;
  readonly current: Float64Array;
  /** The union's values when all are numbers, else undefined. */
  readonly numbers: Float64Array | undefined;
  /** A value of the union that is not a number, if any. */
  readonly nonNumeric: DriftValue | undefined;
}

interface NumericView {
  values: Float64Array;
  counts: Float64Array;
}

const numericViews = new WeakMap<Distribution, NumericView>();

/** The values and counts of an all-numeric distribution as typed arrays, cached per object. */
function numericView(d: Distribution): NumericView | undefined {
  const cached = numericViews.get(d);
  if (cached) return cached;
  // Values are sorted booleans, numbers, strings: all are numbers when both ends are.
  if (
    typeof d.values[0] !== "number" ||
    typeof d.values[d.values.length - 1] !== "number"
  ) {
    return undefined;
  }
  const view = {
    values: Float64Array.from(d.values as readonly number[]),
    counts: Float64Array.from(d.counts),
  };
  numericViews.set(d, view);
  return view;
}

/** Throws unless `d` holds at least one value. */
export function requireNonEmpty(d: Distribution, side: string): void {
  if (d.n > 0 && d.values.length > 0) return;
  throw new CoreError(
    "INVALID_ARGUMENT",
    `The ${side} distribution is empty (n = ${d.n}): a drift statistic needs at least one non-null, finite value on each side.`,
    {
      hint: `Check that the ${side} period has rows for this column, or skip the column.`,
      details: { side, n: d.n },
    },
  );
}

/** Merges two distributions over the sorted union of their values (both must be non-empty). */
export function jointCounts(
  reference: Distribution,
  current: Distribution,
): JointCounts {
  requireNonEmpty(reference, "reference");
  requireNonEmpty(current, "current");
  const rn = numericView(reference);
  const cn = numericView(current);
  return rn && cn ? jointNumeric(rn, cn) : jointGeneric(reference, current);
}

function jointNumeric(r: NumericView, c: NumericView): JointCounts {
  const cap = r.values.length + c.values.length;
  const numbers = new Float64Array(cap);
  const ref = new Float64Array(cap);
  const cur = new Float64Array(cap);
  const rv = r.values;
  const cv = c.values;
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < rv.length && j < cv.length) {
    const a = rv[i]!;
    const b = cv[j]!;
    if (a <= b) {
      numbers[k] = a;
      ref[k] = r.counts[i++]!;
      if (a === b) cur[k] = c.counts[j++]!;
    } else {
      numbers[k] = b;
      cur[k] = c.counts[j++]!;
    }
    k++;
  }
  for (; i < rv.length; i++, k++) {
    numbers[k] = rv[i]!;
    ref[k] = r.counts[i]!;
  }
  for (; j < cv.length; j++, k++) {
    numbers[k] = cv[j]!;
    cur[k] = c.counts[j]!;
  }
  return {
    size: k,
    reference: ref.subarray(0, k),
    current: cur.subarray(0, k),
    numbers: numbers.subarray(0, k),
    nonNumeric: undefined,
  };
}

function jointGeneric(
  reference: Distribution,
  current: Distribution,
): JointCounts {
  const rv = reference.values;
  const cv = current.values;
  const values: DriftValue[] = [];
  const ref: number[] = [];
  const cur: number[] = [];
  let i = 0;
  let j = 0;
  while (i < rv.length || j < cv.length) {
    const c =
      i >= rv.length
        ? 1
        : j >= cv.length
          ? -1
          : compareDriftValues(rv[i]!, cv[j]!);
    if (c <= 0) {
      values.push(rv[i]!);
      ref.push(reference.counts[i++]!);
      cur.push(c === 0 ? current.counts[j++]! : 0);
    } else {
      values.push(cv[j]!);
      ref.push(0);
      cur.push(current.counts[j++]!);
    }
  }
  const nonNumeric = values.find((v) => typeof v !== "number");
  return {
    size: values.length,
    reference: Float64Array.from(ref),
    current: Float64Array.from(cur),
    numbers:
      nonNumeric === undefined
        ? Float64Array.from(values as number[])
        : undefined,
    nonNumeric,
  };
}

/** The values of a numerical column as numbers; throws on a string or boolean value. */
export function numericValues(joint: JointCounts): Float64Array {
  if (joint.numbers) return joint.numbers;
  const v = joint.nonNumeric;
  throw new CoreError(
    "INVALID_ARGUMENT",
    `A numerical drift statistic got the non-numeric value ${JSON.stringify(v)}.`,
    {
      hint: "Test this column as categorical, or build its distribution from numbers only.",
      details: { value: v },
    },
  );
}
