/**
 * Runs test/python/onnx_predict.py in an MLflow venv (MLflow, onnx, onnxruntime) on rows written
 * as JSON columns, for the tests that compare Python's scores with predictProba.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import type { FeatureRow, FeatureSchema } from "../src/index.ts";
import { REPO_ROOT, type MlflowLine } from "@streamflow/test-utils";

export const execFileAsync = promisify(execFile);
const SCRIPT = path.join(import.meta.dirname, "python", "onnx_predict.py");

export interface PythonResult {
  label: number[];
  p_churn: number[];
  versions: Record<string, string>;
  /** pyfunc only: the rows without a NULL boolean, scored again as bool columns. */
  bool_rows?: number[];
  bool_label?: number[];
  bool_p_churn?: number[];
}

/** The line's venv python, built (once) by the same script the MLflow server tests use. */
export async function venvPython(line: MlflowLine): Promise<string> {
  await execFileAsync(
    "bash",
    [path.join(REPO_ROOT, "scripts", "mlflow-venv.sh"), line],
    { cwd: REPO_ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return path.join(REPO_ROOT, ".cache", `mlflow-venv-${line}`, "bin", "python");
}

/** Writes `rows` as {"columns": …, "booleans": …} in the model's column order; NaN, which JSON lacks, travels as the string "NaN". */
export async function writeRowsJson(
  file: string,
  rows: readonly FeatureRow[],
  schema: FeatureSchema,
): Promise<void> {
  const names = [
    ...schema.categorical_cols,
    ...schema.numeric_cols,
    ...schema.boolean_cols,
  ];
  const columns: Record<string, unknown[]> = {};
  for (const name of names) {
    columns[name] = rows.map((r) => {
      const v = r[name];
      return typeof v === "number" && Number.isNaN(v) ? "NaN" : v;
    });
  }
  await writeFile(
    file,
    JSON.stringify({ columns, booleans: schema.boolean_cols }),
  );
}

export interface ScoreInPythonOptions {
  line: MlflowLine;
  /** `ort`: onnx's full check, then onnxruntime on MODEL.onnx; `pyfunc`: mlflow.pyfunc on a model directory. */
  mode: "ort" | "pyfunc";
  model: string;
  rowsFile: string;
  /** Working directory, where the result file (and any mlruns folder mlflow makes) goes. */
  dir: string;
}

export async function scoreInPython({
  line,
  mode,
  model,
  rowsFile,
  dir,
}: ScoreInPythonOptions): Promise<PythonResult> {
  const out = path.join(dir, `out-${mode}-${line}.json`);
  await execFileAsync(
    await venvPython(line),
    [SCRIPT, mode, model, rowsFile, out],
    { cwd: dir, timeout: 300_000 },
  );
  return JSON.parse(await readFile(out, "utf8")) as PythonResult;
}

/** Largest |a[i] − b[i]|, after checking the lengths agree. */
export function maxAbsDiff(a: readonly number[], b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  a.forEach((v, i) => (max = Math.max(max, Math.abs(v - (b[i] as number)))));
  return max;
}

/** The labels predictProba's probabilities give: 1 above 0.5. */
export function labelsOf(p: Float64Array): number[] {
  return Array.from(p, (v) => (v > 0.5 ? 1 : 0));
}
