import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FEATURE_COLUMNS,
  latestDriftReport,
  openFeatureStore,
} from "@streamflow/features";
import {
  createLocalRegistry,
  createMlflowClient,
} from "@streamflow/registry-client";
import {
  labDataDir,
  labDataMissingReason,
  startMlflowServer,
} from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

type FeatureLine = {
  feature: string;
  type: string;
  method: string | null;
  score: number | null;
  threshold: number | null;
  drifted: boolean;
  n_reference: number;
  n_current: number;
};

const FEATURES = FEATURE_COLUMNS.map((c) => c.name);
const missing = labDataMissingReason();

/** A fresh PGlite home holding the given months, ingested through the CLI. */
async function homeWith(
  prefix: string,
  months: { dir: string; asOf: string }[],
  env: (work: string) => Record<string, string | undefined> = (work) => ({
    STREAMFLOW_HOME: join(work, "home"),
    STREAMFLOW_DATABASE_URL: undefined,
    MLFLOW_TRACKING_URI: undefined,
  }),
) {
  const work = await mkdtemp(join(tmpdir(), prefix));
  const cli = (...argv: string[]) => runCli(argv, env(work), work);
  for (const m of months) {
    const r = await cli("ingest", "--month-dir", m.dir, "--as-of", m.asOf);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  return { work, cli };
}

describe.skipIf(missing !== undefined)(
  `drift on the lab months${missing ? ` — SKIPPED: ${missing}` : ""}`,
  () => {
    it("prints Evidently 0.7.15's figures to 4 decimals, and target drift from the label snapshots", async () => {
      const { cli } = await homeWith("sf-drift-lab-", [
        { dir: join(labDataDir(), "month_000"), asOf: "2024-01-31" },
        { dir: join(labDataDir(), "month_001"), asOf: "2024-02-29" },
      ]);
      const r = await cli(
        "drift",
        "--reference",
        "2024-01-31",
        "--current",
        "2024-02-29",
        "--json",
      );
      expect(r.exitCode, r.stderr).toBe(0);
      const json = r.json();
      const features = json["features"] as FeatureLine[];
      expect(features.map((f) => f.feature)).toEqual(FEATURES);
      const byName = new Map(features.map((f) => [f.feature, f]));
      // monitoring-and-interop.md §1.3: numpy/scipy and Evidently 0.7.15 agree to 6 decimals.
      const expected: Record<string, [string, number]> = {
        watch_hours_30d: ["wasserstein", 0.088744],
        rebuffer_events_7d: ["wasserstein", 0.204991],
        failed_payments_90d: ["jensenshannon", 0.028178],
        support_tickets_90d: ["jensenshannon", 0.031898],
      };
      for (const f of features) {
        const [method, score] = expected[f.feature] ?? [f.method, 0];
        expect(f.method, f.feature).toBe(method);
        expect(f.score, f.feature).toBeCloseTo(score, 4);
        expect(f.drifted, f.feature).toBe(f.feature === "rebuffer_events_7d");
        expect(f.n_reference + f.n_current).toBeGreaterThan(0);
      }
      expect(byName.get("watch_hours_30d")!.score).toBeCloseTo(0.088744, 6);
      expect(byName.get("rebuffer_events_7d")!.score).toBeCloseTo(0.204991, 6);
      // NULLs dropped per side: plan_stream_movies holds some.
      expect(byName.get("plan_stream_movies")!.n_reference).toBeLessThan(7043);
      expect(byName.get("monthly_fee")).toMatchObject({
        type: "numerical",
        n_reference: 7043,
        n_current: 7043,
      });
      expect(json).toMatchObject({
        reference: "2024-01-31",
        current: "2024-02-29",
        drifted_features: ["rebuffer_events_7d"],
        features_tested: 14,
        dataset_drift: false,
        prediction: null,
        performance: null,
      });
      expect(json["drift_share"]).toBeCloseTo(1 / 14, 10);
      const target = json["target"] as Record<string, number | string>;
      expect(target["reference_rate"]).toBeCloseTo(0.26537, 5);
      expect(target["current_rate"]).toBeCloseTo(0.24152, 5);
      expect(target["abs_diff"]).toBeCloseTo(0.0239, 4);
      expect(target["method"]).toBe("jensenshannon");
      expect(target["score"]).toBeCloseTo(0.019391, 6);
      expect(typeof json["run_id"]).toBe("string");

      const human = await cli(
        "drift",
        "--reference",
        "2024-01-31",
        "--current",
        "2024-02-29",
      );
      expect(human.exitCode, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/1 of 14 features drifted, share 0\.0714/);
      expect(human.stdout).toMatch(
        /! rebuffer_events_7d\s+wasserstein\s+0\.2050/,
      );
      expect(human.stdout).toMatch(/watch_hours_30d\s+wasserstein\s+0\.0887/);
      expect(human.stdout).toMatch(
        /failed_payments_90d\s+jensenshannon\s+0\.0282/,
      );
      expect(human.stdout).toMatch(
        /support_tickets_90d\s+jensenshannon\s+0\.0319/,
      );
      expect(human.stdout).toMatch(/abs diff 0\.0239; jensenshannon 0\.0194/);

      // PSI flags nothing where Wasserstein flags rebuffer_events_7d (§1.4): the method decides.
      const psi = await cli(
        "drift",
        "--reference",
        "2024-01-31",
        "--current",
        "2024-02-29",
        "--method",
        "psi",
        "--json",
      );
      expect(psi.exitCode, psi.stderr).toBe(0);
      const psiFeatures = psi.json()["features"] as FeatureLine[];
      expect(psiFeatures.every((f) => f.method === "psi")).toBe(true);
      expect(psiFeatures.filter((f) => f.drifted)).toEqual([]);
    });
  },
);

describe("streamflow drift on generated months, with a model", () => {
  let work: string;
  let cli: Awaited<ReturnType<typeof homeWith>>["cli"];

  beforeAll(async () => {
    const gen = await mkdtemp(join(tmpdir(), "sf-drift-gen-"));
    const g = await runCli(
      [
        "generate-data",
        "--users",
        "700",
        "--months",
        "3",
        "--out",
        join(gen, "data"),
      ],
      { STREAMFLOW_HOME: join(gen, "home") },
      gen,
    );
    expect(g.exitCode, g.stderr).toBe(0);
    ({ work, cli } = await homeWith("sf-drift-cli-", [
      { dir: join(gen, "data", "month_000"), asOf: "2024-01-31" },
      { dir: join(gen, "data", "month_001"), asOf: "2024-02-29" },
    ]));
    for (const argv of [
      ["train", "--as-of", "2024-01-31", "--n-estimators", "10"],
      ["promote", "--version", "1", "--stage", "Production"],
    ]) {
      const r = await cli(...argv);
      expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
    }
  });

  const drift = (...extra: string[]) =>
    cli(
      "drift",
      "--reference",
      "2024-01-31",
      "--current",
      "2024-02-29",
      ...extra,
    );

  it("uses the small-sample tests at 700 rows, and reports prediction drift and realised performance", async () => {
    const r = await drift(
      "--model-uri",
      "models:/streamflow_churn/Production",
      "--report",
      "drift.html",
      "--json",
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const json = r.json();
    const features = json["features"] as FeatureLine[];
    for (const f of features) {
      expect(["ks", "chisquare", "ztest"], f.feature).toContain(f.method);
      expect(f.threshold).toBe(0.05);
      expect(f.score).toBeGreaterThanOrEqual(0);
      expect(f.score).toBeLessThanOrEqual(1);
    }
    expect(features.find((f) => f.type === "categorical")).toBeDefined();
    const prediction = json["prediction"] as Record<string, unknown>;
    expect(prediction).toMatchObject({ column: "p_churn", method: "ks" });
    const performance = json["performance"] as Record<string, unknown>;
    expect(performance["rows"]).toBe(700);
    for (const k of ["auc", "f1", "accuracy"]) {
      expect(performance[k]).toBeGreaterThanOrEqual(0);
      expect(performance[k]).toBeLessThanOrEqual(1);
      const validation = (performance["validation"] as Record<string, number>)[
        k
      ]!;
      const drop = (performance["drop"] as Record<string, number>)[k]!;
      expect(drop).toBeCloseTo(validation - (performance[k] as number), 12);
    }
    expect(json["model"]).toMatchObject({
      name: "streamflow_churn",
      version: "1",
    });
    expect(json["report"]).toBe(join(work, "drift.html"));
    const html = await readFile(join(work, "drift.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg class="chart"/g)).toHaveLength(FEATURES.length + 2);

    // Tracked like training: a run with one metric per score and the report and JSON as artifacts.
    const registry = createLocalRegistry({
      root: join(work, "home", "registry"),
    });
    const run = await registry.getRun(json["run_id"] as string);
    expect(run.info.runName).toBe("drift_2024-01-31_vs_2024-02-29");
    expect(run.info.status).toBe("FINISHED");
    for (const f of features)
      expect(run.data.metrics[`drift.${f.feature}`]?.value).toBe(f.score);
    expect(run.data.metrics["drift_share"]?.value).toBe(json["drift_share"]);
    expect(run.data.metrics["performance.auc"]?.value).toBe(performance["auc"]);
    const artifacts = await registry.listArtifacts({ runId: run.info.runId });
    expect(artifacts.map((a) => a.path).sort()).toEqual([
      "drift.json",
      "drift_report.html",
    ]);
    const logged = JSON.parse(
      await readFile(
        await registry.downloadArtifacts({
          runId: run.info.runId,
          path: "drift.json",
          destDir: await mkdtemp(join(tmpdir(), "sf-drift-art-")),
        }),
        "utf8",
      ),
    ) as Record<string, unknown>;
    expect(logged).toEqual(json);

    // And the newest drift_reports row is this one, for serve's gauges.
    const db = await openFeatureStore({
      dataDir: join(work, "home", "pgdata"),
    });
    try {
      const latest = await latestDriftReport({ db });
      expect(latest).toMatchObject({
        reference: "2024-01-31",
        current: "2024-02-29",
        runId: json["run_id"],
        model: { name: "streamflow_churn", version: "1" },
        featuresTested: json["features_tested"],
        driftShare: json["drift_share"],
      });
      expect(latest!.result).toEqual(json);
    } finally {
      await db.close();
    }
  });

  it("applies --feature over --method over auto, and --threshold only where --method tests", async () => {
    const r = await drift(
      "--method",
      "wasserstein",
      "--threshold",
      "0.3",
      "--feature",
      "monthly_fee=psi:0.2",
      "--feature",
      "net_service=chisquare",
      "--json",
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const features = r.json()["features"] as (FeatureLine & {
      chosen_by: string;
      note: string | null;
    })[];
    const by = new Map(features.map((f) => [f.feature, f]));
    expect(by.get("monthly_fee")).toMatchObject({
      method: "psi",
      threshold: 0.2,
      chosen_by: "feature",
    });
    expect(by.get("net_service")).toMatchObject({
      method: "chisquare",
      threshold: 0.05,
      chosen_by: "feature",
    });
    expect(by.get("watch_hours_30d")).toMatchObject({
      method: "wasserstein",
      threshold: 0.3,
      chosen_by: "method",
    });
    const boolean = by.get("paperless_billing")!;
    expect(boolean).toMatchObject({ chosen_by: "auto", threshold: 0.05 });
    expect(boolean.note).toMatch(
      /wasserstein cannot test a categorical column/,
    );
  });

  it("exits 5 with --fail-on-drift on dataset drift, 0 without it", async () => {
    const r = await drift("--drift-share", "0", "--fail-on-drift", "--json");
    expect(r.exitCode, r.stderr).toBe(5);
    expect(r.json()["dataset_drift"]).toBe(true);
    expect(r.stderr).toMatch(/dataset drift: \d+ of 14 features drifted/);
    const calm = await drift("--drift-share", "1", "--fail-on-drift");
    expect(calm.exitCode, calm.stderr).toBe(0);
  });

  it("refuses bad settings with exit 2 before reading, and a date without data with exit 4 listing the dates", async () => {
    const cases: [string[], RegExp][] = [
      [["--feature", "nope=psi"], /'nope' is not a column/],
      [
        ["--feature", "paperless_billing=ks"],
        /ks cannot test 'paperless_billing', a categorical column/,
      ],
      [["--feature", "monthly_fee=median"], /unknown method 'median'/],
      [["--feature", "monthly_fee"], /expected NAME=METHOD/],
      [["--method", "median"], /Allowed choices are auto, wasserstein/],
      [["--threshold", "-1"], /expected a number >= 0/],
      [["--report", "drift.txt"], /the report is an \.html file/],
      [["--report", "no/such/dir/r.html"], /does not exist/],
    ];
    for (const [extra, message] of cases) {
      const r = await drift(...extra);
      expect(r.exitCode, `${extra.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr, extra.join(" ")).toMatch(message);
    }
    const early = await cli(
      "drift",
      "--reference",
      "2023-12-31",
      "--current",
      "2024-02-29",
      "--json",
    );
    expect(early.exitCode, early.stderr).toBe(4);
    expect(early.stdout).toMatch(/2024-01-31/);
    expect(early.stdout).toMatch(/2024-02-29/);
  });
});

describe("streamflow drift tracked on a real MLflow 3.x server", () => {
  it("logs the run in streamflow-monitoring with its metrics and artifacts", async () => {
    await using server = await startMlflowServer({ line: "3" });
    const gen = await mkdtemp(join(tmpdir(), "sf-drift-mlflow-"));
    const g = await runCli(
      [
        "generate-data",
        "--users",
        "300",
        "--months",
        "2",
        "--out",
        join(gen, "data"),
      ],
      { STREAMFLOW_HOME: join(gen, "home") },
      gen,
    );
    expect(g.exitCode, g.stderr).toBe(0);
    const { cli } = await homeWith(
      "sf-drift-mlflow-home-",
      [
        { dir: join(gen, "data", "month_000"), asOf: "2024-01-31" },
        { dir: join(gen, "data", "month_001"), asOf: "2024-02-29" },
      ],
      (work) => ({
        STREAMFLOW_HOME: join(work, "home"),
        STREAMFLOW_DATABASE_URL: undefined,
        MLFLOW_TRACKING_URI: server.url,
      }),
    );
    const r = await cli(
      "drift",
      "--reference",
      "2024-01-31",
      "--current",
      "2024-02-29",
      "--json",
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const json = r.json();
    const registry = createMlflowClient({ trackingUri: server.url });
    const run = await registry.getRun(json["run_id"] as string);
    expect(run.info.status).toBe("FINISHED");
    expect(run.info.runName).toBe("drift_2024-01-31_vs_2024-02-29");
    const experiment = await registry.getOrCreateExperiment(
      "streamflow-monitoring",
    );
    expect(run.info.experimentId).toBe(experiment.experimentId);
    expect(run.data.metrics["drift_share"]?.value).toBe(json["drift_share"]);
    expect(run.data.params["reference"]).toBe("2024-01-31");
    const artifacts = await registry.listArtifacts({ runId: run.info.runId });
    expect(artifacts.map((a) => a.path).sort()).toEqual([
      "drift.json",
      "drift_report.html",
    ]);
  });
});
