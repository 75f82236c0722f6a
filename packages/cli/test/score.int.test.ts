import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

describe("streamflow score on PostgreSQL", () => {
  let work: string;
  let testDb: TestDatabase;
  const env = () => ({
    STREAMFLOW_HOME: join(work, "home"),
    STREAMFLOW_DATABASE_URL: testDb.url,
    MLFLOW_TRACKING_URI: undefined,
  });
  const cli = (...argv: string[]) => runCli(argv, env(), work);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sf-score-cli-"));
    testDb = await createTestDatabase("postgres");
    for (const argv of [
      ["generate-data", "--users", "700", "--out", join(work, "data")],
      [
        "ingest",
        "--month-dir",
        join(work, "data", "month_000"),
        "--as-of",
        "2024-01-31",
      ],
      [
        "ingest",
        "--month-dir",
        join(work, "data", "month_001"),
        "--as-of",
        "2024-02-29",
      ],
      ["train", "--as-of", "2024-01-31", "--n-estimators", "10"],
      ["promote", "--version", "1", "--stage", "Production"],
    ]) {
      const r = await cli(...argv);
      expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
    }
    return () => testDb[Symbol.asyncDispose]();
  });

  it("prints the documented JSON and says a rerun is a no-op", async () => {
    const first = await cli("score", "--as-of", "2024-02-29", "--json");
    expect(first.exitCode, first.stderr).toBe(0);
    const r = first.json();
    expect(r).toMatchObject({
      as_of: "2024-02-29",
      model: { name: "streamflow_churn", version: "1" },
      table: "churn_predictions",
      out: null,
      shard: null,
      rows: 700,
      written: 700,
      noop: false,
      missing_users: 0,
      threshold: 0.5,
    });
    expect(typeof (r["model"] as { run_id: unknown }).run_id).toBe("string");
    expect(r["positive_rate"]).toBeGreaterThan(0);
    const q = r["p_churn"] as Record<string, number>;
    expect(Object.keys(q)).toEqual([
      "min",
      "p05",
      "p25",
      "p50",
      "p75",
      "p95",
      "max",
    ]);
    expect(q["min"]! <= q["p50"]! && q["p50"]! <= q["max"]!).toBe(true);
    expect(Object.keys(r["timings_ms"] as object)).toEqual([
      "load_model",
      "read",
      "predict",
      "write",
    ]);
    expect(r["duration_ms"]).toBeGreaterThan(0);

    const again = await cli("score", "--as-of", "2024-02-29");
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /^No change: 700 users as of 2024-02-29 were already scored by streamflow_churn version 1 in churn_predictions\./,
    );
  });

  it("scores one shard of N into another table", async () => {
    const r = await cli(
      "score",
      "--as-of",
      "2024-02-29",
      "--shard",
      "1/4",
      "--table",
      "shard_scores",
      "--json",
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      shard: "1/4",
      table: "shard_scores",
      noop: false,
    });
    const rows = r.json()["rows"] as number;
    // 700 users in 4 md5 buckets: about 175 each.
    expect(rows).toBeGreaterThan(100);
    expect(rows).toBeLessThan(250);
  });

  it.each([
    [["--shard", "4/4"], 2, /shard/i],
    [["--shard", "one/two"], 2, /shard/i],
    [["--model-uri", "runs:/abc/model"], 2, /registered model URI/],
    [["--model-uri", "models:/streamflow_churn/9"], 4, /9/],
    [["--out", "scores.json"], 2, /\.csv or \.parquet/],
  ])("refuses %j with exit %i", async (extra, code, message) => {
    const r = await cli("score", "--as-of", "2024-02-29", ...extra);
    expect(r.exitCode, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it("exits 4 when nothing is ingested at or before the date", async () => {
    const r = await cli("score", "--as-of", "2023-12-31");
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/2023-12-31/);
  });
});
