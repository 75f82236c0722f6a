import { describe, expect, it } from "vitest";
import { TEST_ENGINES } from "@streamflow/test-utils";
import {
  latestDriftReport,
  recordDriftReport,
  type DriftReportRecord,
} from "@streamflow/features";
import { day, withStore } from "./with-store.ts";

const report = (
  current: string,
  overrides: Partial<DriftReportRecord> = {},
): DriftReportRecord => ({
  reference: day("2024-01-31"),
  current: day(current),
  model: null,
  featuresTested: 2,
  driftedFeatures: 1,
  driftShare: 0.5,
  datasetDrift: true,
  runId: null,
  result: {
    features: [
      { feature: "a", method: "wasserstein", score: 0.25, drifted: true },
      { feature: "b", method: "jensenshannon", score: null, drifted: false },
      { notAFeature: true },
    ],
    prediction: null,
  },
  ...overrides,
});

describe.each(TEST_ENGINES)("drift reports on %s", (engine) => {
  it("has none before the first drift run", async () => {
    await withStore(engine, async (db) => {
      expect(await latestDriftReport({ db })).toBeNull();
    });
  });

  it("returns the newest report with its feature scores read back out of the result", async () => {
    await withStore(engine, async (db) => {
      await recordDriftReport({ db, report: report("2024-02-29") });
      const second = await recordDriftReport({
        db,
        report: report("2024-03-31", {
          model: { name: "streamflow_churn", version: "4" },
          runId: "r1",
          driftedFeatures: 0,
          driftShare: 0,
          datasetDrift: false,
          result: {
            features: [{ feature: "a", method: "psi", score: 0.01 }],
            prediction: { score: 0.031, drifted: false },
          },
        }),
      });
      const latest = await latestDriftReport({ db });
      expect(latest).toMatchObject({
        id: second.id,
        reference: "2024-01-31",
        current: "2024-03-31",
        model: { name: "streamflow_churn", version: "4" },
        featuresTested: 2,
        driftedFeatures: 0,
        driftShare: 0,
        datasetDrift: false,
        runId: "r1",
        features: [
          { feature: "a", method: "psi", score: 0.01, drifted: false },
        ],
        predictionScore: 0.031,
      });
      expect(latest!.createdAt.getTime()).toBe(second.createdAt.getTime());
    });
  });

  it("skips malformed feature entries and keeps an untestable feature's score null", async () => {
    await withStore(engine, async (db) => {
      await recordDriftReport({ db, report: report("2024-02-29") });
      const latest = await latestDriftReport({ db });
      expect(latest!.features).toEqual([
        { feature: "a", method: "wasserstein", score: 0.25, drifted: true },
        { feature: "b", method: "jensenshannon", score: null, drifted: false },
      ]);
      expect(latest!.predictionScore).toBeNull();
    });
  });
});
