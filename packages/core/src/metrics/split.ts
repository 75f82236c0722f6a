import { CoreError } from "../errors.ts";
import { Rng } from "../forest/rng.ts";

export interface StratifiedSplitOptions {
  /** Label of every row; each distinct value is a stratum. */
  y: ArrayLike<number>;
  /** Share of rows held out for validation, in (0, 1). @default 0.25 */
  testSize?: number;
  /** @default 42 */
  seed?: number;
}

/** Row indices of each side, ascending. */
export interface StratifiedSplitResult {
  trainIndex: Uint32Array;
  testIndex: Uint32Array;
}

/**
 * scikit-learn's `_approximate_mode`: floors each class's share of `nDraws`, then hands the
 * remaining draws to the classes with the largest remainders (ties drawn at random).
 */
function approximateMode(
  counts: readonly number[],
  nDraws: number,
  rng: Rng,
): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c / total) * nDraws);
  const floored = continuous.map(Math.floor);
  let needToAdd = nDraws - floored.reduce((a, b) => a + b, 0);
  const remainder = continuous.map((c, i) => c - (floored[i] as number));
  const values = [...new Set(remainder)].sort((a, b) => b - a);
  for (const value of values) {
    if (needToAdd <= 0) break;
    const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
    const addNow = Math.min(inds.length, needToAdd);
    shuffle(inds, rng);
    for (const i of inds.slice(0, addNow))
      floored[i] = (floored[i] as number) + 1;
    needToAdd -= addNow;
  }
  return floored;
}

function shuffle(a: number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

/**
 * Deterministic stratified train/validation split with scikit-learn's allocation
 * (`StratifiedShuffleSplit`): ceil(testSize × n) validation rows, shared out per class by
 * largest remainder. The rows picked depend on `seed` through our own RNG, not numpy's.
 * @throws CoreError INVALID_ARGUMENT when testSize is outside (0, 1) or a side would be empty.
 */
export function stratifiedSplit({
  y,
  testSize = 0.25,
  seed = 42,
}: StratifiedSplitOptions): StratifiedSplitResult {
  const n = y.length;
  if (!(testSize > 0 && testSize < 1)) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `testSize must be between 0 and 1 (exclusive), got ${testSize}`,
    );
  }
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  if (nTrain < 1 || nTest < 1) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `a ${testSize} split of ${n} rows leaves ${nTrain} training and ${nTest} validation rows`,
    );
  }
  const classes = [...new Set(Array.from(y))].sort((a, b) => a - b);
  const rowsOf = classes.map(() => [] as number[]);
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  for (let i = 0; i < n; i++)
    (rowsOf[classIndex.get(y[i] as number) as number] as number[]).push(i);
  if (nTrain < classes.length || nTest < classes.length) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `${n} rows are too few to put all ${classes.length} classes on both sides of the split`,
    );
  }
  const rng = new Rng(seed);
  const counts = rowsOf.map((r) => r.length);
  const trainPerClass = approximateMode(counts, nTrain, rng);
  const testPerClass = approximateMode(
    counts.map((c, i) => c - (trainPerClass[i] as number)),
    nTest,
    rng,
  );
  const train: number[] = [];
  const test: number[] = [];
  rowsOf.forEach((rows, c) => {
    const perm = [...rows];
    shuffle(perm, rng);
    const a = trainPerClass[c] as number;
    const b = testPerClass[c] as number;
    // Plain loops: spreading a large class into push() overflows the call stack.
    for (let i = 0; i < a; i++) train.push(perm[i] as number);
    for (let i = a; i < a + b; i++) test.push(perm[i] as number);
  });
  return {
    trainIndex: Uint32Array.from(train).sort(),
    testIndex: Uint32Array.from(test).sort(),
  };
}
