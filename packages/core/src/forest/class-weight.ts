import { CoreError } from "../errors.ts";

export interface ClassWeightOptions {
  /** Class index of every row, 0 … nClasses-1. */
  y: ArrayLike<number>;
  nClasses: number;
}

/**
 * scikit-learn's `class_weight="balanced"`: class c weighs n_samples / (n_classes × count(c)), so
 * every class carries the same total weight. With bootstrap, a forest multiplies these by each
 * tree's draw counts (scikit-learn does the same; `balanced_subsample` would recompute per tree).
 * @throws CoreError DATA_INVALID when a class has no row.
 */
export function computeClassWeights({
  y,
  nClasses,
}: ClassWeightOptions): Float64Array {
  const counts = new Float64Array(nClasses);
  for (let i = 0; i < y.length; i++) {
    const c = y[i] as number;
    counts[c] = (counts[c] as number) + 1;
  }
  const weights = new Float64Array(nClasses);
  for (let c = 0; c < nClasses; c++) {
    const count = counts[c] as number;
    if (count === 0)
      throw new CoreError(
        "DATA_INVALID",
        `class ${c} has no row, so its balanced weight is undefined`,
      );
    weights[c] = y.length / (nClasses * count);
  }
  return weights;
}
