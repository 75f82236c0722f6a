import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  latestDriftReport,
  openFeatureStore,
  recordDriftReport,
  type Database,
  type StoredDriftReport,
} from "@streamflow/features";
import {
  createLocalRegistry,
  type Registry,
} from "@streamflow/registry-client";
import {
  createPredictionService,
  type PredictionService,
} from "@streamflow/serving";
import {
  prometheusBinary,
  REPO_ROOT,
  startPrometheus,
  type PrometheusServer,
} from "@streamflow/test-utils";
import { SERVING_POOL } from "../src/serving.ts";
import { runCli } from "./run-cli.ts";

const run = promisify(execFile);
const PROMETHEUS_DIR = join(REPO_ROOT, "deploy", "prometheus");
const DASHBOARD = join(REPO_ROOT, "deploy", "grafana", "streamflow.json");

interface Rule {
  alert: string;
  expr: string;
}
interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
}

async function alertRules(): Promise<Rule[]> {
  const doc = parseYaml(
    await readFile(join(PROMETHEUS_DIR, "alerts.yml"), "utf8"),
  ) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

async function dashboardPanels(): Promise<DashboardPanel[]> {
  const doc = JSON.parse(await readFile(DASHBOARD, "utf8")) as {
    panels: DashboardPanel[];
  };
  return doc.panels;
}

/** Grafana's variables as this test's Prometheus sees them: job streamflow, 1 s scrapes. */
const asQuery = (expr: string) =>
  expr.replaceAll("$job", "streamflow").replaceAll("$__rate_interval", "1m");

/** Metric names a PromQL expression reads (histogram suffixes dropped). */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:api|streamflow)_[a-z_0-9]+/g) ?? [];
  return names.map((n) => n.replace(/_(bucket|sum|count)$/, ""));
}

describe("deploy/prometheus with promtool", () => {
  const promtool = (...args: string[]) =>
    run(prometheusBinary("promtool"), args, { cwd: PROMETHEUS_DIR });

  it("has a valid scrape config and valid alert rules", async () => {
    const config = await promtool("check", "config", "prometheus.yml");
    expect(config.stdout).toContain("is valid prometheus config file");
    const rules = await promtool("check", "rules", "alerts.yml");
    expect(rules.stdout).toContain(
      `SUCCESS: ${(await alertRules()).length} rules found`,
    );
  });

  it("passes the alerts' unit tests, and every alert has a test where it fires", async () => {
    const tested = await promtool("test", "rules", "alerts.test.yml");
    expect(tested.stdout).toContain("SUCCESS");
    const tests = parseYaml(
      await readFile(join(PROMETHEUS_DIR, "alerts.test.yml"), "utf8"),
    ) as {
      tests: {
        alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
      }[];
    };
    const firing = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test
          .filter((a) => a.exp_alerts.length > 0)
          .map((a) => a.alertname),
      ),
    );
    const quiet = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test
          .filter((a) => a.exp_alerts.length === 0)
          .map((a) => a.alertname),
      ),
    );
    for (const { alert } of await alertRules()) {
      expect(firing.has(alert), `${alert} has no firing test`).toBe(true);
      expect(quiet.has(alert), `${alert} has no quiet test`).toBe(true);
    }
    expect((await alertRules()).map((r) => r.alert).sort()).toEqual(
      [
        "StreamflowDatabaseDown",
        "StreamflowDatasetDrift",
        "StreamflowDown",
        "StreamflowHighErrorRate",
        "StreamflowHighLatencyP99",
        "StreamflowNotReady",
        "StreamflowRegistryUnreachable",
        "StreamflowScoreDistributionShift",
      ].sort(),
    );
  });
});

describe("streamflow serve scraped by a real Prometheus", () => {
  const until = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting until ${what}:\n${prometheus.log()}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  let work: string;
  let db: Database;
  let registry: Registry;
  let service: PredictionService;
  let prometheus: PrometheusServer;
  let report: StoredDriftReport;
  let ids: string[];
  /** Every probability the service returned, in order. */
  const served: number[] = [];
  const metricsText = async () =>
    (await service.app.inject({ url: "/metrics" })).body;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sf-monitoring-"));
    const env = {
      STREAMFLOW_HOME: join(work, "home"),
      STREAMFLOW_DATABASE_URL: undefined,
      MLFLOW_TRACKING_URI: undefined,
    };
    const data = join(work, "data");
    for (const argv of [
      ["generate-data", "--users", "600", "--months", "2", "--out", data],
      [
        "ingest",
        "--month-dir",
        join(data, "month_000"),
        "--as-of",
        "2024-01-31",
      ],
      [
        "ingest",
        "--month-dir",
        join(data, "month_001"),
        "--as-of",
        "2024-02-29",
      ],
      ["materialize", "--as-of", "2024-02-29"],
      ["train", "--as-of", "2024-01-31", "--n-estimators", "10"],
      ["promote", "--version", "1", "--stage", "Production"],
      [
        "drift",
        "--reference",
        "2024-01-31",
        "--current",
        "2024-02-29",
        "--model-uri",
        "models:/streamflow_churn/Production",
      ],
    ]) {
      const r = await runCli(argv, env, work);
      expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
    }
    ids = (await readFile(join(data, "month_001", "subscriptions.csv"), "utf8"))
      .trim()
      .split("\n")
      .slice(1, 61)
      .map((line) => line.split(",")[0]!);

    db = await openFeatureStore({
      dataDir: join(work, "home", "pgdata"),
      pool: SERVING_POOL,
    });
    registry = createLocalRegistry({ root: join(work, "home", "registry") });
    report = (await latestDriftReport({ db }))!;
    service = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
      driftRefreshIntervalMs: 200,
    });
    const url = new URL(await service.listen({ port: 0 }));

    // The shipped config, pointed at this server and scraping every second.
    const config = parseYaml(
      await readFile(join(PROMETHEUS_DIR, "prometheus.yml"), "utf8"),
    ) as {
      global: Record<string, string>;
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    config.global["scrape_interval"] = "1s";
    config.global["evaluation_interval"] = "1s";
    config.scrape_configs[0]!.static_configs = [{ targets: [url.host] }];
    prometheus = await startPrometheus(JSON.stringify(config), {
      "alerts.yml": await readFile(join(PROMETHEUS_DIR, "alerts.yml"), "utf8"),
    });

    // Its first scrape comes a few seconds after start (target discovery settles first).
    await until(
      async () => (await prometheus.query(`up{job="streamflow"}`)).length > 0,
      "Prometheus scrapes serve",
    );
    // Traffic spread over several scrapes, so every rate() has two samples with a difference.
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${url.origin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return (await r.json()) as Record<string, unknown>;
    };
    for (let round = 0; round < 8; round++) {
      const one = await post("/predict", { user_id: ids[round]! });
      served.push(one["churn_probability"] as number);
      await post("/predict", { user_id: "no-such-user" });
      const batch = await post("/predict/batch", {
        user_ids: [...ids.slice(round * 6, round * 6 + 6), ids[0]!, "nobody"],
      });
      for (const r of batch["results"] as Record<string, unknown>[])
        if (typeof r["churn_probability"] === "number")
          served.push(r["churn_probability"]);
      await fetch(`${url.origin}/ready`);
      await new Promise((r) => setTimeout(r, 600));
    }
    // Until Prometheus has scraped the end of the traffic.
    await until(
      async () =>
        Number(
          (
            await prometheus.query(
              `sum(streamflow_churn_probability_count{job="streamflow"})`,
            )
          )[0]?.value[1],
        ) === served.length,
      "Prometheus has scraped all the traffic",
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await service?.close();
    await db?.close();
    await registry?.close();
  });

  it("scrapes serve as up and loads the shipped alert rules", async () => {
    const up = await prometheus.query(`up{job="streamflow"}`);
    expect(up.map((s) => s.value[1])).toEqual(["1"]);
    const rules = (await (
      await fetch(`${prometheus.url}/api/v1/rules`)
    ).json()) as {
      data: { groups: { rules: { name: string; health: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(
      (await alertRules()).map((r) => r.alert).sort(),
    );
    expect(loaded.filter((r) => r.health === "err")).toEqual([]);
  });

  it("returns data for every PromQL expression of the Grafana dashboard", async () => {
    const panels = await dashboardPanels();
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const charts = panels.filter((p) => p.type !== "row");
    expect(charts.length).toBeGreaterThanOrEqual(15);
    const empty: string[] = [];
    for (const panel of charts) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        const result = await prometheus.query(asQuery(target.expr));
        if (result.length === 0)
          empty.push(`${panel.title}: ${asQuery(target.expr)}`);
      }
    }
    expect(empty).toEqual([]);
    // The lab's two panels, with real traffic behind them.
    const rate = await prometheus.query(
      `sum(rate(api_requests_total{job="streamflow",endpoint="/predict"}[1m]))`,
    );
    expect(Number(rate[0]!.value[1])).toBeGreaterThan(0);
    const version = await prometheus.query(
      asQuery(`max(streamflow_model_version{job="$job"})`),
    );
    expect(version[0]!.value[1]).toBe("1");
  });

  it("names only metrics that serve exports, in the dashboard and in the alerts", async () => {
    const exported = new Set(
      [...(await metricsText()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]),
    );
    const named = new Set([
      ...(await dashboardPanels()).flatMap((p) =>
        (p.targets ?? []).flatMap((t) => metricNames(t.expr)),
      ),
      ...(await alertRules()).flatMap((r) => metricNames(r.expr)),
    ]);
    expect(named.size).toBeGreaterThan(10);
    for (const name of named)
      expect(exported.has(name), `${name} is not in /metrics`).toBe(true);
  });

  it("counts every served score in streamflow_churn_probability by model version, in 0.05 buckets", async () => {
    const text = await metricsText();
    const bucket = (le: string) =>
      Number(
        new RegExp(
          `^streamflow_churn_probability_bucket\\{le="${le.replace("+", "\\+")}",model_version="1"\\} (\\S+)$`,
          "m",
        ).exec(text)?.[1],
      );
    expect(served.length).toBeGreaterThan(40);
    for (const le of ["0.05", "0.25", "0.5", "0.75", "0.95"])
      expect(bucket(le), `le=${le}`).toBe(
        served.filter((p) => p <= Number(le)).length,
      );
    expect(bucket("+Inf")).toBe(served.length);
    const sum = Number(
      /^streamflow_churn_probability_sum\{model_version="1"\} (\S+)$/m.exec(
        text,
      )?.[1],
    );
    expect(sum).toBeCloseTo(
      served.reduce((a, b) => a + b, 0),
      9,
    );
  });

  it("shows the latest drift report's figures as gauges, through Prometheus", async () => {
    const scores = await prometheus.query(
      `streamflow_feature_drift_score{job="streamflow"}`,
    );
    const byFeature = new Map(
      scores.map((s) => [s.metric["feature"], s] as const),
    );
    const scored = report.features.filter((f) => f.score !== null);
    expect(scored.length).toBe(report.featuresTested);
    for (const f of scored) {
      const sample = byFeature.get(f.feature);
      expect(sample?.metric["method"], f.feature).toBe(f.method);
      expect(Number(sample!.value[1]), f.feature).toBeCloseTo(f.score!, 12);
    }
    const share = await prometheus.query(`streamflow_drift_share`);
    expect(Number(share[0]!.value[1])).toBeCloseTo(report.driftShare, 12);
    const prediction = await prometheus.query(
      `streamflow_prediction_drift_score`,
    );
    expect(prediction.map((s) => s.metric["model_version"])).toEqual(["1"]);
    expect(Number(prediction[0]!.value[1])).toBeCloseTo(
      report.predictionScore!,
      12,
    );
  });

  it("follows a newer report, and keeps the last values while reports cannot be read", async () => {
    const gauge = async (name: string) =>
      new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm").exec(
        await metricsText(),
      )?.[2];
    const waitFor = async (name: string, value: string) => {
      const deadline = Date.now() + 10_000;
      while ((await gauge(name)) !== value) {
        if (Date.now() > deadline)
          throw new Error(`${name} never became ${value}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    /** A report without a model whose every listed feature drifted. */
    const recordReport = (features: string[]) =>
      recordDriftReport({
        db,
        report: {
          reference: report.reference,
          current: report.current,
          model: null,
          featuresTested: 2,
          driftedFeatures: features.length,
          driftShare: features.length / 2,
          datasetDrift: features.length > 0,
          runId: null,
          result: {
            features: features.map((feature, i) => ({
              feature,
              method: "psi",
              score: 0.5 / (i + 1),
              drifted: true,
            })),
            prediction: null,
          },
        },
      });
    await recordReport(["f_one", "f_two"]);
    await waitFor("streamflow_dataset_drift", "1");
    const text = await metricsText();
    expect(text).toMatch(/^streamflow_drift_share 1$/m);
    // The older report's features and prediction score are gone, not left at their old values.
    expect(
      [...text.matchAll(/^streamflow_feature_drift_score\{feature="([^"]+)"/gm)]
        .map((m) => m[1])
        .sort(),
    ).toEqual(["f_one", "f_two"]);
    expect(text).not.toMatch(/^streamflow_prediction_drift_score\{/m);

    // A failed read (here: the table gone) must not zero the gauges.
    await db.query("ALTER TABLE drift_reports RENAME TO drift_reports_away");
    try {
      await new Promise((r) => setTimeout(r, 800));
      expect(await gauge("streamflow_dataset_drift")).toBe("1");
      expect(await gauge("streamflow_drift_share")).toBe("1");
    } finally {
      await db.query("ALTER TABLE drift_reports_away RENAME TO drift_reports");
    }
    await recordReport([]);
    await waitFor("streamflow_dataset_drift", "0");
  });
});
