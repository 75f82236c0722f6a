import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { labDataDir, labDataMissingReason } from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

type Json = Record<string, unknown>;
type Step = { step: string; status: string; duration_ms: number; result: Json };

const STEPS = [
  "ingest",
  "materialize",
  "check_online",
  "drift",
  "retrain",
  "score",
];

describe("streamflow pipeline run on generated months", () => {
  let work: string;
  let data: string;
  const cli = (...argv: string[]) =>
    runCli(
      argv,
      {
        STREAMFLOW_HOME: join(work, "home"),
        STREAMFLOW_DATABASE_URL: undefined,
        MLFLOW_TRACKING_URI: undefined,
      },
      work,
    );
  const month = (i: number, asOf: string, ...extra: string[]) =>
    cli(
      "pipeline",
      "run",
      "--month-dir",
      join(data, `month_00${i}`),
      "--as-of",
      asOf,
      "--n-estimators",
      "8",
      "--json",
      ...extra,
    );
  const statuses = (json: Json) =>
    (json["steps"] as Step[]).map((s) => [s.step, s.status]);
  const users = async (i: number) =>
    (await readFile(join(data, `month_00${i}`, "subscriptions.csv"), "utf8"))
      .trim()
      .split("\n").length - 1;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sf-pipeline-"));
    data = join(work, "data");
    const g = await cli(
      "generate-data",
      "--users",
      "700",
      "--months",
      "3",
      "--out",
      data,
    );
    expect(g.exitCode, g.stderr).toBe(0);
  });

  it("refuses a distributed run and a worker on the embedded store, and --shards alone, with exit 2", async () => {
    const distributed = await month(0, "2024-01-31", "--distributed");
    expect(distributed.exitCode, distributed.stderr).toBe(2);
    expect(distributed.stderr).toMatch(/share the store's PostgreSQL/);
    expect(distributed.stderr).toMatch(/STREAMFLOW_DATABASE_URL/);
    const worker = await cli("worker");
    expect(worker.exitCode, worker.stderr).toBe(2);
    expect(worker.stderr).toMatch(/share the store's PostgreSQL/);
    const shards = await month(0, "2024-01-31", "--score", "--shards", "3");
    expect(shards.exitCode, shards.stderr).toBe(2);
    expect(shards.stderr).toMatch(/--shards needs --distributed/);
    for (const shardCount of ["0", "x", "1000000"]) {
      const bad = await month(
        0,
        "2024-01-31",
        "--distributed",
        "--shards",
        shardCount,
      );
      expect(bad.exitCode, `--shards ${shardCount}: ${bad.stderr}`).toBe(2);
    }
    // Nothing was run: the month has no pipeline record.
    const status = await cli(
      "pipeline",
      "status",
      "--as-of",
      "2024-01-31",
      "--json",
    );
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.json()["runs"]).toEqual([]);
  });

  it("runs the first month end to end: nothing to compare with, nothing in Production, so it trains, promotes and scores", async () => {
    const r = await month(0, "2024-01-31", "--score");
    expect(r.exitCode, r.stderr).toBe(0);
    const json = r.json();
    expect(statuses(json)).toEqual([
      ["ingest", "done"],
      ["materialize", "done"],
      ["check_online", "done"],
      ["drift", "skipped"],
      ["retrain", "done"],
      ["score", "done"],
    ]);
    expect(json).toMatchObject({
      as_of: "2024-01-31",
      resumed: false,
      already_done: false,
      decision: "promoted",
      scored: await users(0),
    });
    const steps = json["steps"] as Step[];
    // Each step's result is its own command's JSON.
    expect(steps[0]!.result).toMatchObject({
      as_of: "2024-01-31",
      noop: false,
    });
    expect(steps[4]!.result).toMatchObject({
      decision: "promoted",
      candidate: { run_name: "candidate_2024-01-31" },
      current: null,
      reason: "nothing in Production yet",
    });
    expect(steps[5]!.result).toMatchObject({
      model: { version: "1" },
      rows: await users(0),
    });
    for (const s of steps) expect(s.duration_ms).toBeGreaterThanOrEqual(0);

    const again = await month(0, "2024-01-31", "--score");
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({
      run_id: json["run_id"],
      already_done: true,
      resumed: false,
      decision: "promoted",
    });
    const human = await cli(
      "pipeline",
      "run",
      "--month-dir",
      join(data, "month_000"),
      "--as-of",
      "2024-01-31",
    );
    expect(human.stdout).toContain("was already done");
  });

  it("stops at a failed step with its exit code, and resumes there under the same run id", async () => {
    const failed = await cli(
      "pipeline",
      "run",
      "--month-dir",
      join(data, "no_such_month"),
      "--as-of",
      "2024-02-29",
    );
    // A month directory that is not there is a usage error, as for ingest.
    expect(failed.exitCode, failed.stderr).toBe(2);
    const status = await cli(
      "pipeline",
      "status",
      "--as-of",
      "2024-02-29",
      "--json",
    );
    const runs = status.json()["runs"] as { run_id: string; steps: Step[] }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]!.steps.map((s) => [s.step, s.status])).toEqual([
      ["ingest", "failed"],
    ]);
    expect(runs[0]!.steps[0]!.result["error"]).toBe("INPUT_NOT_FOUND");

    const r = await month(
      1,
      "2024-02-29",
      "--retrain",
      "on-drift",
      "--drift-share",
      "0",
      "--score",
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const json = r.json();
    expect(json).toMatchObject({
      run_id: runs[0]!.run_id,
      resumed: true,
      scored: await users(1),
    });
    expect(statuses(json).map(([, s]) => s)).toEqual([
      "done",
      "done",
      "done",
      "done",
      "done",
      "done",
    ]);
    const steps = json["steps"] as Step[];
    expect(steps[3]!.result).toMatchObject({
      reference: "2024-01-31",
      current: "2024-02-29",
      dataset_drift: true,
    });
    expect(["promoted", "skipped"]).toContain(json["decision"]);
    expect(steps[4]!.result).toMatchObject({
      candidate: { run_name: "candidate_2024-02-29" },
      current: { version: "1" },
    });
  });

  it("leaves retrain and score out by policy, and lists every run in pipeline status", async () => {
    const r = await month(2, "2024-03-31", "--retrain", "never");
    expect(r.exitCode, r.stderr).toBe(0);
    const json = r.json();
    expect(statuses(json).slice(3)).toEqual([
      ["drift", "done"],
      ["retrain", "skipped"],
      ["score", "skipped"],
    ]);
    expect(json).toMatchObject({ decision: null, scored: null });

    const status = await cli("pipeline", "status", "--json");
    const runs = status.json()["runs"] as {
      as_of: string;
      steps: Step[];
    }[];
    expect(runs.map((x) => x.as_of)).toEqual([
      "2024-01-31",
      "2024-02-29",
      "2024-03-31",
    ]);
    for (const run of runs) expect(run.steps.map((s) => s.step)).toEqual(STEPS);
    const human = await cli("pipeline", "status");
    expect(human.stdout).toMatch(/2024-03-31 {2}run \S+/);
  });
});

const missing = labDataMissingReason();
describe.skipIf(missing !== undefined)(
  `streamflow pipeline run on the lab months${missing ? ` — SKIPPED: ${missing}` : ""}`,
  () => {
    it("month_000 then month_001 with the lab's trigger: drift found, a fair comparison, 7,043 scored rows each", async () => {
      const work = await mkdtemp(join(tmpdir(), "sf-pipeline-lab-"));
      const run = (dir: string, asOf: string) =>
        runCli(
          [
            "pipeline",
            "run",
            "--month-dir",
            join(labDataDir(), dir),
            "--as-of",
            asOf,
            "--retrain",
            "on-drift",
            "--drift-share",
            "0.02",
            "--score",
            "--n-estimators",
            "50",
          ],
          {
            STREAMFLOW_HOME: join(work, "home"),
            STREAMFLOW_DATABASE_URL: undefined,
            MLFLOW_TRACKING_URI: undefined,
          },
          work,
        );
      const first = await run("month_000", "2024-01-31");
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.stdout).toContain("decision: promoted · scored: 7043");
      const second = await run("month_001", "2024-02-29");
      expect(second.exitCode, second.stderr).toBe(0);
      expect(second.stdout).toMatch(/drift +done/);
      expect(second.stdout).toMatch(
        /retrain +done .*dataset drift at --drift-share 0.02/,
      );
      expect(second.stdout).toMatch(
        /\[COMPARE\] candidate_auc=0\.\d{4} vs prod_auc=0\.\d{4} \(delta=0\.01\)/,
      );
      expect(second.stdout).toMatch(/\[DECISION\] (promoted|skipped)/);
      expect(second.stdout).toMatch(
        /decision: (promoted|skipped) · scored: 7043/,
      );
    });
  },
);
