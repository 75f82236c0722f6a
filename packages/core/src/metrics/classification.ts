import { CoreError } from "../errors.ts";

/**
 * Binary classification metrics with scikit-learn's conventions. Labels are numbers and the
 * positive class is 1 (booleans must be mapped to 0/1 first); any other value is negative.
 */

/** Points of a ROC curve; `thresholds[0]` is +Infinity, as in scikit-learn ≥ 1.3. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

export interface ConfusionMatrix {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

export interface BinaryMetrics {
  auc: number;
  f1: number;
  accuracy: number;
  precision: number;
  recall: number;
  log_loss: number;
  confusion: ConfusionMatrix;
}

export interface EvaluateBinaryOptions {
  yTrue: ArrayLike<number>;
  /** Probability of the positive class per row. */
  yProba: ArrayLike<number>;
  /** A row is predicted positive when its probability is strictly above this. @default 0.5 */
  threshold?: number;
}

function checkLengths(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  what: string,
): void {
  if (a.length !== b.length) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `${what}: y_true has ${a.length} values but the other input has ${b.length}`,
    );
  }
  if (a.length === 0)
    throw new CoreError("INVALID_ARGUMENT", `${what}: no rows to evaluate`);
}

/**
 * ROC curve over the distinct score values (ties form one point), keeping only the corners,
 * like scikit-learn's `roc_curve(drop_intermediate=True)`.
 * @throws CoreError INVALID_ARGUMENT when y_true holds a single class (the curve is undefined).
 */
export function rocCurve(
  yTrue: ArrayLike<number>,
  yScore: ArrayLike<number>,
): RocCurve {
  checkLengths(yTrue, yScore, "rocCurve");
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (yScore[b] as number) - (yScore[a] as number) || a - b);
  const tps: number[] = [];
  const fps: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    const idx = order[i] as number;
    if (yTrue[idx] === 1) tp++;
    else fp++;
    const next = order[i + 1];
    if (next === undefined || yScore[next] !== yScore[idx]) {
      tps.push(tp);
      fps.push(fp);
      thr.push(yScore[idx] as number);
    }
  }
  if (tp === 0 || fp === 0) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `ROC needs both classes in y_true; it has only ${tp === 0 ? "negatives" : "positives"}`,
    );
  }
  // Drop points collinear with their neighbours (scikit-learn: second differences are zero).
  const keep: number[] = [];
  for (let i = 0; i < tps.length; i++) {
    if (i === 0 || i === tps.length - 1) keep.push(i);
    else {
      const d2f =
        (fps[i + 1] as number) -
        2 * (fps[i] as number) +
        (fps[i - 1] as number);
      const d2t =
        (tps[i + 1] as number) -
        2 * (tps[i] as number) +
        (tps[i - 1] as number);
      if (d2f !== 0 || d2t !== 0) keep.push(i);
    }
  }
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Number.POSITIVE_INFINITY];
  for (const i of keep) {
    fpr.push((fps[i] as number) / fp);
    tpr.push((tps[i] as number) / tp);
    thresholds.push(thr[i] as number);
  }
  return { fpr, tpr, thresholds };
}

/** Area under a curve by the trapezoid rule (x ascending). */
export function trapezoidArea(
  x: readonly number[],
  y: readonly number[],
): number {
  let area = 0;
  for (let i = 1; i < x.length; i++)
    area +=
      (((x[i] as number) - (x[i - 1] as number)) *
        ((y[i] as number) + (y[i - 1] as number))) /
      2;
  return area;
}

/** ROC AUC, tied scores counted as half-ordered (trapezoid over distinct thresholds, as scikit-learn's `roc_auc_score`). */
export function rocAuc(
  yTrue: ArrayLike<number>,
  yScore: ArrayLike<number>,
): number {
  const { fpr, tpr } = rocCurve(yTrue, yScore);
  return trapezoidArea(fpr, tpr);
}

/** Counts of the 2×2 table with class 1 as positive. */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): ConfusionMatrix {
  checkLengths(yTrue, yPred, "confusionMatrix");
  const m: ConfusionMatrix = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i] === 1;
    const p = yPred[i] === 1;
    if (t && p) m.tp++;
    else if (t) m.fn++;
    else if (p) m.fp++;
    else m.tn++;
  }
  return m;
}

// scikit-learn's zero_division default: an undefined ratio (0/0) counts as 0.
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/** Share of rows predicted right. */
export function accuracy(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): number {
  const m = confusionMatrix(yTrue, yPred);
  return (m.tp + m.tn) / yTrue.length;
}

/** tp / (tp + fp); 0 when nothing is predicted positive. */
export function precision(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): number {
  const m = confusionMatrix(yTrue, yPred);
  return ratio(m.tp, m.tp + m.fp);
}

/** tp / (tp + fn); 0 when there is no positive row. */
export function recall(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): number {
  const m = confusionMatrix(yTrue, yPred);
  return ratio(m.tp, m.tp + m.fn);
}

/** Harmonic mean of precision and recall, 2tp / (2tp + fp + fn); 0 when undefined. */
export function f1Score(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): number {
  const m = confusionMatrix(yTrue, yPred);
  return ratio(2 * m.tp, 2 * m.tp + m.fp + m.fn);
}

const FLOAT64_EPS = 2.220446049250313e-16;

/** Mean negative log-likelihood, probabilities clipped to [eps, 1 - eps] with float64 eps like scikit-learn ≥ 1.5. */
export function logLoss(
  yTrue: ArrayLike<number>,
  yProba: ArrayLike<number>,
): number {
  checkLengths(yTrue, yProba, "logLoss");
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(
      1 - FLOAT64_EPS,
      Math.max(FLOAT64_EPS, yProba[i] as number),
    );
    sum += yTrue[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / yTrue.length;
}

/** AUC from probabilities, and F1, accuracy, precision, recall and the confusion matrix at `threshold`. */
export function evaluateBinary({
  yTrue,
  yProba,
  threshold = 0.5,
}: EvaluateBinaryOptions): BinaryMetrics {
  checkLengths(yTrue, yProba, "evaluateBinary");
  const yPred = Array.from(yProba, (p) => (p > threshold ? 1 : 0));
  const confusion = confusionMatrix(yTrue, yPred);
  return {
    auc: rocAuc(yTrue, yProba),
    f1: ratio(2 * confusion.tp, 2 * confusion.tp + confusion.fp + confusion.fn),
    accuracy: (confusion.tp + confusion.tn) / yTrue.length,
    precision: ratio(confusion.tp, confusion.tp + confusion.fp),
    recall: ratio(confusion.tp, confusion.tp + confusion.fn),
    log_loss: logLoss(yTrue, yProba),
    confusion,
  };
}
