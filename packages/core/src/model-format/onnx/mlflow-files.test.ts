import { describe, expect, it } from "vitest";
import {
  ONNX_TEST_COLUMNS,
  ONNX_TEST_SCHEMA,
  onnxTestRows,
} from "../../../test/onnx-rows.ts";
import { trainModel } from "../../training/train-model.ts";
import { exportOnnx } from "./export-onnx.ts";
import { MLFLOW_ONNX_REQUIREMENTS, mlflowOnnxFiles } from "./mlflow-files.ts";
import { parseCalendarDay } from "../../calendar-day.ts";

const data = onnxTestRows({ n: 200, seed: 9 });
const { model } = await trainModel({
  rows: data.rows,
  labels: data.labels,
  schema: ONNX_TEST_SCHEMA,
  asOf: parseCalendarDay("2024-01-31"),
  datasetFingerprint: "mlflow files unit",
  forest: { nEstimators: 4 },
  jobs: 1,
});

/** The JSON held by a `  key: '…'` line of the MLmodel. */
function signatureJson(mlmodel: string, key: string): unknown {
  const line = mlmodel.split("\n").find((l) => l.startsWith(`  ${key}: '`));
  if (line === undefined) throw new Error(`no signature ${key}`);
  return JSON.parse(line.slice(key.length + 5, -1).replaceAll("''", "'"));
}

describe("mlflowOnnxFiles", () => {
  it("gives model.onnx at the root with onnx and python_function flavours pointing at it", () => {
    const files = mlflowOnnxFiles(model);
    expect(Object.keys(files).sort()).toEqual([
      "MLmodel",
      "model.onnx",
      "python_env.yaml",
      "requirements.txt",
    ]);
    expect(files["model.onnx"]).toEqual(exportOnnx(model));
    expect(files.MLmodel).toContain(
      "  onnx:\n    code: null\n    data: model.onnx\n",
    );
    expect(files.MLmodel).toContain("    - CPUExecutionProvider\n");
    expect(files.MLmodel).toContain(
      "  python_function:\n    data: model.onnx\n    env:\n      virtualenv: python_env.yaml\n    loader_module: mlflow.onnx\n",
    );
    expect(files["requirements.txt"]).toBe(
      `${MLFLOW_ONNX_REQUIREMENTS.join("\n")}\n`,
    );
    expect(files["python_env.yaml"]).toContain("- -r requirements.txt\n");
  });

  it("declares a column signature in the input's column order, integers `long` when typed so", () => {
    const col = (name: string, type: string) => ({
      type,
      name,
      required: true,
    });
    const { MLmodel } = mlflowOnnxFiles(model, { columns: ONNX_TEST_COLUMNS });
    expect(signatureJson(MLmodel, "inputs")).toEqual([
      col("net_service", "string"),
      col("contract_type", "string"),
      col("months_active", "long"),
      col("monthly_fee", "double"),
      col("watch_hours_30d", "double"),
      col("paperless_billing", "boolean"),
      col("plan_stream_tv", "string"),
    ]);
    expect(signatureJson(MLmodel, "outputs")).toEqual([
      col("label", "long"),
      col("p_churn", "double"),
    ]);
    const untyped = mlflowOnnxFiles(model).MLmodel;
    expect(signatureJson(untyped, "inputs")).toContainEqual(
      col("months_active", "double"),
    );
  });

  it("is a function of the model and options: run id, uuid and time only when given, quotes escaped", () => {
    expect(mlflowOnnxFiles(model)).toEqual(mlflowOnnxFiles(model));
    const bare = mlflowOnnxFiles(model).MLmodel;
    expect(bare).not.toMatch(/run_id|model_uuid|utc_time_created/);
    const given = mlflowOnnxFiles(model, {
      runId: "abc123",
      modelUuid: "0123456789abcdef0123456789abcdef",
      utcTimeCreated: "2026-12-02 16:00:00.000000",
      artifactPath: "it's here",
      pythonVersion: "3.12.1",
      requirements: ["mlflow==2.16.2", "onnx==1.20.1"],
    });
    expect(given.MLmodel).toContain("run_id: 'abc123'\n");
    expect(given.MLmodel).toContain(
      "model_uuid: '0123456789abcdef0123456789abcdef'\n",
    );
    expect(given.MLmodel).toContain(
      "utc_time_created: '2026-12-02 16:00:00.000000'\n",
    );
    expect(given.MLmodel).toContain("artifact_path: 'it''s here'\n");
    expect(given.MLmodel).toContain("mlflow_version: '2.16.2'\n");
    expect(given.MLmodel).toContain("    python_version: '3.12.1'\n");
    expect(given["python_env.yaml"]).toContain("python: '3.12.1'\n");
    expect(given["requirements.txt"]).toBe("mlflow==2.16.2\nonnx==1.20.1\n");
  });
});
