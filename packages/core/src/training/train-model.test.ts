import { describe, expect, it } from "vitest";
import type { FeatureRow } from "../preprocessing/preprocessor.ts";
import { LAB_FOREST_OPTIONS, trainModel } from "./train-model.ts";
import { parseCalendarDay } from "../calendar-day.ts";

const schema = { categorical_cols: [], numeric_cols: ["x"], boolean_cols: [] };
const rows: FeatureRow[] = Array.from({ length: 80 }, (_, i) => ({ x: i }));
const labels = Uint8Array.from(rows, (_, i) => (i % 5 === 0 || i > 50 ? 1 : 0));

describe("trainModel", () => {
  it("uses the lab recipe by default and reports split sizes, metrics and time from the injected clock", async () => {
    let t = 1000;
    const result = await trainModel({
      rows,
      labels,
      schema,
      asOf: parseCalendarDay("2024-02-29"),
      labelAsOf: parseCalendarDay("2024-01-31"),
      datasetFingerprint: "fp",
      forest: { nEstimators: 10 },
      jobs: 1,
      now: () => (t += 250),
    });
    expect(result.trainSeconds).toBe(0.25);
    expect([result.rows, result.nTrain, result.nVal]).toEqual([80, 60, 20]);
    expect(result.model.forest.params).toMatchObject({
      ...LAB_FOREST_OPTIONS,
      nEstimators: 10,
    });
    expect(result.model.training).toMatchObject({
      asOf: "2024-02-29",
      labelAsOf: "2024-01-31",
    });
    // x > 50 always churns; among the rest every fifth row does, which no split can learn.
    expect(result.metrics.auc).toBeGreaterThan(0.7);
    expect(result.validation.yProba.length).toBe(20);
    expect(result.rocCurve.fpr[0]).toBe(0);
  });

  it("rejects labels that are not 0/1 or that hold one class", async () => {
    const base = {
      rows,
      schema,
      asOf: parseCalendarDay("2024-01-31"),
      datasetFingerprint: "fp",
      jobs: 1,
    };
    await expect(
      trainModel({ ...base, labels: labels.map(() => 2) }),
    ).rejects.toMatchObject({ code: "DATA_INVALID" });
    await expect(
      trainModel({ ...base, labels: labels.map(() => 1) }),
    ).rejects.toMatchObject({ code: "DATA_INVALID" });
    await expect(
      trainModel({ ...base, labels: labels.slice(1) }),
    ).rejects.toMatchObject({ code: "DATA_INVALID" });
  });
});
