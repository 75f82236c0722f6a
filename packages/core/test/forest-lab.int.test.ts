import { describe, expect, it } from "vitest";
import { serializeModel, trainModel, parseModel } from "../src/index.ts";
import { labDataDir, labDataMissingReason } from "@streamflow/test-utils";
import { LAB_FEATURE_SCHEMA, readLabMonth } from "./lab-data.ts";
import { parseCalendarDay } from "@streamflow/core";

/**
 * scikit-learn's validation AUC on the very split this test makes (month_000 features and
 * labels in CSV order, stratifiedSplit seed 42, the preprocessor's 18 columns), measured once
 * with scikit-learn 1.7.2 (the lab's version, bench/.venv): RandomForestClassifier(n_estimators=300,
 * max_features="sqrt", class_weight="balanced", random_state=42, n_jobs=-1) fitted on this
 * split's training matrix written to disk → 0.8204950206686106 (random_state 1 and 2 give
 * 0.8250 and 0.8225; F1 0.539 at 0.5). `pnpm bench forest` recomputes it live. The split comes
 * from our RNG, so the literal must be measured again if stratifiedSplit or Rng ever change.
 *
 * The 0.819 was measured on scikit-learn's own split (numpy's RNG), which puts other
 * users in validation; the lab saw 0.804–0.824 across row orders for the same reason. Comparing
 * on the same split is what isolates the forest, so that is the reference used here.
 */
const SKLEARN_AUC_SAME_SPLIT = 0.8204950206686106;

const dir = labDataDir();
const missing = labDataMissingReason();

describe.skipIf(missing !== undefined)(
  missing === undefined
    ? "lab data quality (month_000)"
    : `lab data quality — SKIPPED: ${missing}`,
  () => {
    it("reaches scikit-learn's validation AUC within ±0.01 with the lab recipe and predicts every user", async () => {
      const lab = readLabMonth(dir, "month_000");
      expect(lab.rows.length).toBe(7043);
      const result = await trainModel({
        rows: lab.rows,
        labels: lab.labels,
        schema: LAB_FEATURE_SCHEMA,
        asOf: parseCalendarDay("2024-01-31"),
        datasetFingerprint: "month_000 CSVs",
        testSize: 0.25,
        seed: 42,
      });
      expect([result.nTrain, result.nVal]).toEqual([5282, 1761]);
      expect(
        Math.abs(result.metrics.auc - SKLEARN_AUC_SAME_SPLIT),
      ).toBeLessThanOrEqual(0.01);

      // The 1526 net_service = No users have NULL plan_stream_*; each must still get a score.
      const nullUsers = lab.rows.filter((r) => r["plan_stream_tv"] === null);
      expect(nullUsers.length).toBe(1526);
      const model = parseModel(serializeModel(result.model));
      const p = model.predictProba(lab.rows);
      expect(p.length).toBe(7043);
      expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    });
  },
);
