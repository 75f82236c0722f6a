import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import {
  accuracy,
  confusionMatrix,
  evaluateBinary,
  f1Score,
  logLoss,
  precision,
  recall,
  rocAuc,
  rocCurve,
} from "./classification.ts";

// Expected values were computed once with scikit-learn 1.7.2 (bench/.venv) and checked by hand:
// roc_auc_score / roc_curve / f1_score / precision_score / recall_score / log_loss on the same inputs.
describe("ROC", () => {
  it("reproduces scikit-learn's roc_curve documentation example", () => {
    const c = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(c.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(c.thresholds).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
  });

  it("counts tied scores as half-ordered pairs", () => {
    // Pairs (positive, negative): 0.5>0.1, 0.5=0.5 (½), 0.9>both, 0.2>0.1, 0.2<0.5 → 4.5 / 6.
    // roc_auc_score([0,0,1,1,1], [0.1,0.5,0.5,0.9,0.2]) = 0.75
    expect(rocAuc([0, 0, 1, 1, 1], [0.1, 0.5, 0.5, 0.9, 0.2])).toBe(0.75);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    // Three tie groups: (0.9: 1 pos, 1 neg), (0.7: 2 pos, 1 neg), (0.2: 1 pos, 1 neg) → 6 / 12.
    // roc_auc_score([1,0,1,0,1,1,0], [0.9,0.9,0.7,0.7,0.7,0.2,0.2]) = 0.5
    expect(
      rocAuc([1, 0, 1, 0, 1, 1, 0], [0.9, 0.9, 0.7, 0.7, 0.7, 0.2, 0.2]),
    ).toBe(0.5);
    // Breaking the 0.2 tie the right way raises it to 6.5 / 12.
    expect(
      rocAuc([1, 0, 1, 0, 1, 1, 0], [0.9, 0.9, 0.7, 0.7, 0.7, 0.21, 0.2]),
    ).toBeCloseTo(6.5 / 12, 15);
  });

  it("drops collinear points but keeps the area", () => {
    const c = rocCurve([1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]);
    expect(c.fpr).toEqual([0, 0, 0, 1]);
    expect(c.tpr).toEqual([0, 1 / 3, 1, 1]);
    expect(rocAuc([1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1])).toBe(1);
  });

  it("refuses a single-class y_true", () => {
    expect(() => rocAuc([1, 1], [0.2, 0.3])).toThrow(CoreError);
  });
});

describe("threshold metrics", () => {
  const yTrue = [1, 0, 1, 1, 0, 0, 1, 0];
  const yPred = [1, 0, 0, 1, 1, 0, 1, 0];

  it("matches scikit-learn on a small example", () => {
    expect(confusionMatrix(yTrue, yPred)).toEqual({
      tn: 3,
      fp: 1,
      fn: 1,
      tp: 3,
    });
    expect(accuracy(yTrue, yPred)).toBe(0.75);
    expect(precision(yTrue, yPred)).toBe(0.75);
    expect(recall(yTrue, yPred)).toBe(0.75);
    expect(f1Score(yTrue, yPred)).toBe(0.75);
    expect(f1Score([1, 1, 0], [1, 0, 0])).toBeCloseTo(2 / 3, 15);
  });

  it("scores an undefined ratio as 0 (zero_division default)", () => {
    expect(precision([1, 0], [0, 0])).toBe(0);
    expect(recall([0, 0], [1, 0])).toBe(0);
    expect(f1Score([0, 0], [0, 0])).toBe(0);
  });

  it("computes log loss with float64 clipping", () => {
    // log_loss([1, 0, 1], [0.9, 0.2, 0.6]) = 0.2797765635793423
    expect(logLoss([1, 0, 1], [0.9, 0.2, 0.6])).toBeCloseTo(
      0.2797765635793423,
      14,
    );
    // A certain, wrong prediction costs -log(eps) instead of Infinity:
    // log_loss([1, 0], [0.0, 0.0]) = 18.021826694558577 (= 36.04… / 2).
    expect(logLoss([1, 0], [0, 0])).toBeCloseTo(18.021826694558577, 10);
  });

  it("evaluates probabilities at a strict 0.5 threshold", () => {
    const m = evaluateBinary({
      yTrue: [1, 0, 1, 0],
      yProba: [0.9, 0.5, 0.5, 0.1],
    });
    expect(m.confusion).toEqual({ tn: 2, fp: 0, fn: 1, tp: 1 });
    expect(m.auc).toBe(0.875);
    expect(m.f1).toBeCloseTo(2 / 3, 15);
  });
});
