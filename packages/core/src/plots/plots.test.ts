import { describe, expect, it } from "vitest";
import { renderConfusionMatrixSvg } from "./confusion-matrix.ts";
import { renderFeatureImportancesSvg } from "./feature-importances.ts";
import { renderRocCurveSvg } from "./roc-curve.ts";
import { niceTicks } from "./svg.ts";

/** Every opened element is closed (a cheap well-formedness check for our flat documents). */
function expectBalanced(svg: string): void {
  const opened = (svg.match(/<(svg|text|title)\b/g) ?? []).length;
  const closed = (svg.match(/<\/(svg|text|title)>/g) ?? []).length;
  expect(opened).toBe(closed);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

describe("SVG plots", () => {
  it("draws a ROC curve with its AUC in the legend", () => {
    const svg = renderRocCurveSvg({
      fpr: [0, 0, 0.5, 1],
      tpr: [0, 0.5, 1, 1],
      auc: 0.875,
    });
    expectBalanced(svg);
    expect(svg).toContain("model (AUC = 0.875)");
    expect(svg).toContain("False positive rate");
    expect(svg).toContain("<polyline");
  });

  it("draws the top importances, largest first, escaping names", () => {
    const importances = Array.from({ length: 30 }, (_, i) => ({
      name: `f${i}<&>`,
      importance: i / 435,
    }));
    const svg = renderFeatureImportancesSvg({ importances, top: 5 });
    expectBalanced(svg);
    expect((svg.match(/<rect x="\d+" y=/g) ?? []).length).toBe(5);
    expect(svg.indexOf("f29&#60;&#38;&#62;")).toBeLessThan(
      svg.indexOf("f25&#60;&#38;&#62;"),
    );
    expect(svg).not.toContain("f24");
  });

  it("draws the confusion matrix with counts and shares", () => {
    const svg = renderConfusionMatrixSvg({
      matrix: { tn: 50, fp: 10, fn: 5, tp: 35 },
    });
    expectBalanced(svg);
    for (const s of [
      ">50<",
      ">10<",
      ">5<",
      ">35<",
      "accuracy 85.0%",
      "no churn",
    ])
      expect(svg).toContain(s);
  });

  it("chooses round tick steps", () => {
    expect(niceTicks(0.27)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0.12)).toEqual([0, 0.025, 0.05, 0.075, 0.1, 0.125]);
    expect(niceTicks(1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});
