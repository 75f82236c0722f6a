import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exportOnnx,
  mlflowOnnxFiles,
  trainModel,
  type FeatureRow,
  type StreamflowModel,
} from "../src/index.ts";
import { MLFLOW_LINES, type MlflowLine } from "@streamflow/test-utils";
import {
  ONNX_TEST_COLUMNS,
  ONNX_TEST_SCHEMA,
  onnxTestRows,
} from "./onnx-rows.ts";
import {
  execFileAsync,
  labelsOf,
  maxAbsDiff,
  scoreInPython,
  venvPython,
  writeRowsJson,
} from "./python-scoring.ts";
import { parseCalendarDay } from "@streamflow/core";

/** RFC 4180 CSV as pandas reads it: NULL and NaN are empty cells, booleans True/False. */
function csv(rows: readonly FeatureRow[]): string {
  const cell = (v: FeatureRow[string]): string => {
    if (
      v === null ||
      v === undefined ||
      (typeof v === "number" && Number.isNaN(v))
    )
      return "";
    if (typeof v === "boolean") return v ? "True" : "False";
    const text = String(v);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const names = ONNX_TEST_COLUMNS.map((c) => c.name);
  return (
    [
      names.join(","),
      ...rows.map((r) => names.map((n) => cell(r[n])).join(",")),
    ].join("\n") + "\n"
  );
}

/**
 * Prediction rows that reach the graph's edge cases: the seeded rows (unknown categories, NULL
 * in every column, NULL where training had none, NaN) plus rows whose doubles sit exactly on the
 * forest's thresholds, where a float32 or < versus ≤ slip would send them the other way.
 */
function predictionRows(model: StreamflowModel): FeatureRow[] {
  // First a row NULL wherever it can be: MLflow looks at row 0 to decide how to read a column.
  // Integer columns are NOT NULL in the store; a NULL would make pandas hold them as floats,
  // which their `long` signature refuses.
  const blank = Object.fromEntries(
    ONNX_TEST_COLUMNS.map((c) => [c.name, c.type === "integer" ? 7 : null]),
  );
  const rows = [
    blank,
    ...onnxTestRows({ n: 400, seed: 11, unseen: true }).rows,
  ];
  const json = model.forest.toJSON();
  for (const name of ["monthly_fee", "watch_hours_30d"]) {
    const bytes = Buffer.from(
      json.edges[model.preprocessor.columnNames.indexOf(name)] as string,
      "base64",
    );
    const edges = new Float64Array(
      bytes.buffer,
      bytes.byteOffset,
      bytes.length / 8,
    );
    expect(edges.length).toBeGreaterThan(10);
    edges.forEach((edge, i) =>
      rows.push({ ...(rows[i % rows.length] as FeatureRow), [name]: edge }),
    );
  }
  return rows;
}

describe("ONNX export scored by Python", () => {
  let dir: string;
  let model: StreamflowModel;
  let rows: FeatureRow[];
  let expected: Float64Array;
  let rowsFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "streamflow-onnx-"));
    const train = onnxTestRows({ n: 1500, seed: 5 });
    ({ model } = await trainModel({
      rows: train.rows,
      labels: train.labels,
      schema: ONNX_TEST_SCHEMA,
      asOf: parseCalendarDay("2024-01-31"),
      datasetFingerprint: "onnx integration",
      forest: { nEstimators: 60 },
      jobs: 1,
    }));
    rows = predictionRows(model);
    expected = model.predictProba(rows);
    rowsFile = path.join(dir, "rows.json");
    await writeRowsJson(rowsFile, rows, model.preprocessor.schema);
  }, 600_000);

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const score = (line: MlflowLine, mode: "ort" | "pyfunc", model: string) =>
    scoreInPython({ line, mode, model, rowsFile, dir });

  it.each(MLFLOW_LINES)(
    "onnx.checker accepts the file and onnxruntime (MLflow %s.x venv) gives predictProba's p_churn and its > 0.5 labels for every raw row",
    async (line) => {
      const onnxFile = path.join(dir, `model-${line}.onnx`);
      await writeFile(
        onnxFile,
        exportOnnx(model, { columns: ONNX_TEST_COLUMNS }),
      );
      const result = await score(line, "ort", onnxFile);
      const diff = maxAbsDiff(result.p_churn, expected);
      console.info(
        `onnx ${result.versions["onnx"]}, onnxruntime ${result.versions["onnxruntime"]}: max |p_churn − predictProba| = ${diff} over ${rows.length} rows`,
      );
      expect(diff).toBeLessThanOrEqual(1e-12);
      expect(result.label).toEqual(labelsOf(expected));
    },
  );

  it.each(MLFLOW_LINES)(
    "mlflow.pyfunc.load_model (%s.x) runs the model directory of mlflowOnnxFiles on a DataFrame",
    async (line) => {
      const modelDir = path.join(dir, `mlflow-model-${line}`);
      await writeModelDir(modelDir, model);
      const result = await score(line, "pyfunc", modelDir);
      expect(result.versions["mlflow"]?.startsWith(`${line}.`)).toBe(true);
      expect(maxAbsDiff(result.p_churn, expected)).toBeLessThanOrEqual(1e-12);
      expect(result.label).toEqual(labelsOf(expected));
      // The same rows as bool columns (a batch without NULL booleans) score the same.
      const picked = Float64Array.from(
        result.bool_rows ?? [],
        (i) => expected[i] as number,
      );
      expect(picked.length).toBeGreaterThan(100);
      expect(maxAbsDiff(result.bool_p_churn ?? [], picked)).toBeLessThanOrEqual(
        1e-12,
      );
      expect(result.bool_label).toEqual(labelsOf(picked));
    },
  );

  it.each(MLFLOW_LINES)(
    "`mlflow models serve` (%s.x) answers /invocations with dataframe_split JSON, NULL first row included",
    async (line) => {
      const modelDir = path.join(dir, `mlflow-model-serve-${line}`);
      await writeModelDir(modelDir, model);
      const server = await serve({ line, modelDir, cwd: dir });
      try {
        const names = ONNX_TEST_COLUMNS.map((c) => c.name);
        const response = await fetch(`${server.url}/invocations`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            dataframe_split: {
              columns: names,
              data: rows.map((r) => names.map((n) => jsonCell(r[n]))),
            },
          }),
        });
        const text = await response.text();
        expect(response.status, text).toBe(200);
        const { predictions } = JSON.parse(text) as {
          predictions: { label: number; p_churn: number }[];
        };
        expect(
          maxAbsDiff(
            predictions.map((r) => r.p_churn),
            expected,
          ),
        ).toBeLessThanOrEqual(1e-12);
        expect(predictions.map((r) => r.label)).toEqual(labelsOf(expected));
      } finally {
        server.stop();
      }
    },
  );

  it("`mlflow models predict --env-manager local` scores a raw CSV with the model directory", async () => {
    const modelDir = path.join(dir, "mlflow-model-cli");
    await writeModelDir(modelDir, model);
    const input = path.join(dir, "raw.csv");
    const output = path.join(dir, "predictions.json");
    await writeFile(input, csv(rows));
    const python = await venvPython("3");
    const bin = path.dirname(python);
    await execFileAsync(
      path.join(bin, "mlflow"),
      [
        "models",
        "predict",
        "-m",
        modelDir,
        "-i",
        input,
        "-t",
        "csv",
        "-o",
        output,
        "--env-manager",
        "local",
      ],
      {
        // mlflow writes an mlruns folder into its working directory.
        cwd: dir,
        timeout: 120_000,
        env: { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` },
      },
    );
    const { predictions } = JSON.parse(await readFile(output, "utf8")) as {
      predictions: { label: number; p_churn: number }[];
    };
    const p = predictions.map((r) => r.p_churn);
    expect(maxAbsDiff(p, expected)).toBeLessThanOrEqual(1e-12);
    expect(predictions.map((r) => r.label)).toEqual(labelsOf(expected));
  });
});

async function writeModelDir(
  modelDir: string,
  model: StreamflowModel,
): Promise<void> {
  await mkdir(modelDir, { recursive: true });
  const files: Record<string, string | Uint8Array> = {
    ...mlflowOnnxFiles(model, { columns: ONNX_TEST_COLUMNS }),
  };
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(modelDir, name), content);
  }
}

/** A port nobody listens on now (the OS's pick for a throwaway listener). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** JSON of a cell as a client sends it: NULL and NaN are null. */
function jsonCell(v: FeatureRow[string]): unknown {
  return v === undefined || (typeof v === "number" && Number.isNaN(v))
    ? null
    : v;
}

interface ServeOptions {
  line: MlflowLine;
  modelDir: string;
  cwd: string;
}

/** `mlflow models serve` on 127.0.0.1; resolves once /ping answers, with a stop function. */
async function serve({ line, modelDir, cwd }: ServeOptions) {
  const bin = path.dirname(await venvPython(line));
  const port = await freePort();
  const child = spawn(
    path.join(bin, "mlflow"),
    [
      "models",
      "serve",
      "-m",
      modelDir,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-w",
      "1",
      "--env-manager",
      "local",
    ],
    {
      cwd,
      detached: true,
      stdio: "ignore",
      // The 3.x scoring server execs uvicorn and 2.x gunicorn, both from the venv's bin.
      env: { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` },
    },
  );
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null) {
      // Its workers share its process group.
      process.kill(-child.pid, "SIGTERM");
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ok = await fetch(`${url}/ping`, {
      signal: AbortSignal.timeout(1_000),
    })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`mlflow models serve (${line}.x) did not answer /ping`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
