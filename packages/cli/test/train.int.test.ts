import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseModel } from "@streamflow/core";
import { runCli } from "./run-cli.ts";

let work: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sf-train-"));
  env = {
    STREAMFLOW_HOME: join(work, "home"),
    STREAMFLOW_DATABASE_URL: undefined,
  };
  const gen = await runCli(
    [
      "generate-data",
      "--users",
      "3000",
      "--months",
      "2",
      "--out",
      join(work, "data"),
    ],
    env,
    work,
  );
  expect(gen.exitCode, gen.stderr).toBe(0);
  for (const [dir, asOf] of [
    ["month_000", "2024-01-31"],
    ["month_001", "2024-02-29"],
  ]) {
    const r = await runCli(
      ["ingest", "--month-dir", join(work, "data", dir!), "--as-of", asOf!],
      env,
      work,
    );
    expect(r.exitCode, r.stderr).toBe(0);
  }
});

describe("streamflow train", () => {
  it("writes model, schema, metrics and plots, and reports what it measured", async () => {
    const out = join(work, "run-a");
    const run = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--n-estimators",
        "40",
        "--out-dir",
        out,
        "--json",
      ],
      env,
      work,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const r = run.json() as {
      metrics: Record<string, number>;
      rows: number;
      n_train: number;
      n_val: number;
      model_sha256: string;
      dataset_fingerprint: string;
      out_dir: string;
      train_seconds: number;
    };
    expect(Object.keys(r.metrics).sort()).toEqual([
      "accuracy",
      "auc",
      "f1",
      "log_loss",
      "precision",
      "recall",
    ]);
    expect(r.metrics["auc"]).toBeGreaterThan(0.7); // the generator's signal is learnable
    expect([r.rows, r.n_train, r.n_val]).toEqual([3000, 2250, 750]);
    expect(r.out_dir).toBe(out);
    expect((await readdir(out)).sort()).toEqual([
      "confusion_matrix.svg",
      "feature_importances.svg",
      "feature_schema.json",
      "metrics.json",
      "model",
      "model.json",
      "roc_curve.svg",
    ]);
    expect((await readdir(join(out, "model"))).sort()).toEqual([
      "MLmodel",
      "model.json",
      "model.onnx",
      "python_env.yaml",
      "requirements.txt",
    ]);
    const modelText = await readFile(join(out, "model.json"), "utf8");
    expect(createHash("sha256").update(modelText).digest("hex")).toBe(
      r.model_sha256,
    );
    const model = parseModel(modelText);
    expect(model.training.datasetFingerprint).toBe(r.dataset_fingerprint);
    expect(model.training.metrics.auc).toBe(r.metrics["auc"]);
    expect(
      JSON.parse(await readFile(join(out, "feature_schema.json"), "utf8")),
    ).toEqual({
      categorical_cols: ["net_service"],
      numeric_cols: expect.arrayContaining([
        "months_active",
        "monthly_fee",
        "plan_stream_tv",
        "watch_hours_30d",
      ]) as unknown,
    });
    expect(await readFile(join(out, "roc_curve.svg"), "utf8")).toMatch(
      /^<svg[\s\S]*AUC[\s\S]*<\/svg>\s*$/,
    );
  });

  it("gives a byte-identical model for the same seed, whatever --jobs", async () => {
    const one = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--n-estimators",
        "24",
        "--jobs",
        "1",
        "--out-dir",
        join(work, "j1"),
        "--json",
      ],
      env,
      work,
    );
    const two = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--n-estimators",
        "24",
        "--jobs",
        "2",
        "--out-dir",
        join(work, "j2"),
        "--json",
      ],
      env,
      work,
    );
    expect(one.exitCode, one.stderr).toBe(0);
    expect(two.exitCode, two.stderr).toBe(0);
    expect(two.json()["model_sha256"]).toBe(one.json()["model_sha256"]);
    const other = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--n-estimators",
        "24",
        "--seed",
        "7",
        "--out-dir",
        join(work, "s7"),
        "--json",
      ],
      env,
      work,
    );
    expect(other.json()["model_sha256"]).not.toBe(one.json()["model_sha256"]);
  });

  it("trains on labels of another date when asked, and refuses a date without data (exit 4)", async () => {
    const later = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--label-as-of",
        "2024-02-29",
        "--n-estimators",
        "20",
        "--json",
      ],
      env,
      work,
    );
    expect(later.exitCode, later.stderr).toBe(0);
    expect(later.json()["run_name"]).toBe(
      "rf_baseline_2024-01-31_labels_2024-02-29",
    );
    const early = await runCli(
      ["train", "--as-of", "2023-06-30", "--json"],
      env,
      work,
    );
    expect(early.exitCode).toBe(4);
    expect((early.json()["error"] as { code: string }).code).toBe(
      "NO_DATA_AS_OF",
    );
  });

  it("refuses bad recipe flags with exit 2", async () => {
    for (const args of [
      ["--max-features", "1.5"],
      ["--test-size", "1"],
      ["--class-weight", "heavy"],
      ["--n-estimators", "0"],
    ]) {
      const r = await runCli(
        ["train", "--as-of", "2024-01-31", ...args],
        env,
        work,
      );
      expect(r.exitCode, args.join(" ")).toBe(2);
    }
  });
});
