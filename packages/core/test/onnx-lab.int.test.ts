import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exportOnnxModel, trainModel } from "../src/index.ts";
import { labDataDir, labDataMissingReason } from "@streamflow/test-utils";
import { LAB_FEATURE_SCHEMA, readLabMonth } from "./lab-data.ts";
import {
  labelsOf,
  maxAbsDiff,
  scoreInPython,
  writeRowsJson,
} from "./python-scoring.ts";
import { parseCalendarDay } from "@streamflow/core";

const missing = labDataMissingReason();

describe.skipIf(missing !== undefined)(
  missing === undefined
    ? "ONNX export of the lab recipe (month_000)"
    : `ONNX export of the lab recipe — SKIPPED: ${missing}`,
  () => {
    it("scores all 7,043 lab users in onnxruntime exactly as predictProba, from a file a third of skl2onnx's", async () => {
      const lab = readLabMonth(labDataDir(), "month_000");
      const { model } = await trainModel({
        rows: lab.rows,
        labels: lab.labels,
        schema: LAB_FEATURE_SCHEMA,
        asOf: parseCalendarDay("2024-01-31"),
        datasetFingerprint: "month_000 CSVs",
      });
      const started = performance.now();
      const exported = exportOnnxModel(model);
      const ms = performance.now() - started;
      expect(exported.forest.trees).toBe(300);
      // skl2onnx writes the scikit-learn forest of the same recipe in 30.2 MB.
      expect(exported.bytes.length).toBeLessThan(15_000_000);
      console.info(
        `lab recipe: ${model.forest.nNodes} nodes, ONNX ${exported.bytes.length} bytes, exported in ${ms.toFixed(0)} ms`,
      );

      const dir = await mkdtemp(path.join(tmpdir(), "streamflow-onnx-lab-"));
      try {
        const onnxFile = path.join(dir, "model.onnx");
        const rowsFile = path.join(dir, "rows.json");
        await writeFile(onnxFile, exported.bytes);
        await writeRowsJson(rowsFile, lab.rows, model.preprocessor.schema);
        const result = await scoreInPython({
          line: "3",
          mode: "ort",
          model: onnxFile,
          rowsFile,
          dir,
        });
        const expected = model.predictProba(lab.rows);
        const diff = maxAbsDiff(result.p_churn, expected);
        console.info(`lab recipe: max |p_churn − predictProba| = ${diff}`);
        expect(diff).toBeLessThanOrEqual(1e-12);
        expect(result.label).toEqual(labelsOf(expected));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
