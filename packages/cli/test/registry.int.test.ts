import { createHash } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseModel } from "@streamflow/core";
import {
  createLocalRegistry,
  createMlflowClient,
  type Registry,
} from "@streamflow/registry-client";
import {
  MLFLOW_LINES,
  startMlflowServer,
  type MlflowServer,
} from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

let work: string;
let dbEnv: Record<string, string | undefined>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sf-registry-"));
  dbEnv = {
    STREAMFLOW_HOME: join(work, "home"),
    STREAMFLOW_DATABASE_URL: undefined,
    MLFLOW_TRACKING_URI: undefined,
  };
  expect(
    (
      await runCli(
        ["generate-data", "--users", "2500", "--out", join(work, "data")],
        dbEnv,
        work,
      )
    ).exitCode,
  ).toBe(0);
  for (const [dir, asOf] of [
    ["month_000", "2024-01-31"],
    ["month_001", "2024-02-29"],
  ] as const) {
    const r = await runCli(
      ["ingest", "--month-dir", join(work, "data", dir), "--as-of", asOf],
      dbEnv,
      work,
    );
    expect(r.exitCode, r.stderr).toBe(0);
  }
});

type Target = {
  name: string;
  start: () => Promise<{
    env: Record<string, string | undefined>;
    registry: Registry;
    stop: () => Promise<void>;
  }>;
};

const TARGETS: Target[] = [
  {
    name: "the local registry",
    // What the CLI uses when MLFLOW_TRACKING_URI is unset: $STREAMFLOW_HOME/registry.
    start: async () => ({
      env: {},
      registry: createLocalRegistry({
        root: join(dbEnv["STREAMFLOW_HOME"]!, "registry"),
      }),
      stop: async () => undefined,
    }),
  },
  ...MLFLOW_LINES.map((line): Target => ({
    name: `a real MLflow ${line}.x server`,
    start: async () => {
      const server: MlflowServer = await startMlflowServer({ line });
      return {
        env: { MLFLOW_TRACKING_URI: server.url },
        registry: createMlflowClient({ trackingUri: server.url }),
        stop: () => server.stop(),
      };
    },
  })),
];

describe.each(TARGETS)("train → register → promote on $name", (target) => {
  let env: Record<string, string | undefined>;
  let registry: Registry;
  let stop: () => Promise<void>;
  const model = `churn_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    const started = await target.start();
    env = { ...dbEnv, ...started.env };
    registry = started.registry;
    stop = started.stop;
  });
  afterAll(async () => {
    await registry?.close();
    await stop?.();
  });

  it("logs the run, registers a version, promotes it, and serves back the same model bytes", async () => {
    const out = join(work, `${model}-v1`);
    const train = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--n-estimators",
        "30",
        "--model-name",
        model,
        "--out-dir",
        out,
        "--json",
      ],
      env,
      work,
    );
    expect(train.exitCode, train.stderr).toBe(0);
    const t = train.json() as {
      run_id: string;
      model_version: string;
      model_sha256: string;
      metrics: { auc: number };
      tracking_uri: string;
    };
    expect(t.model_version).toBe("1");

    const promote = await runCli(
      [
        "promote",
        "--model-name",
        model,
        "--version",
        "1",
        "--stage",
        "Production",
        "--json",
      ],
      env,
      work,
    );
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(promote.json()).toMatchObject({
      promoted: true,
      version: "1",
      stage: "Production",
      changes: [{ from: "None", to: "Production" }],
    });

    const [production] = await registry.getLatestVersions(model, [
      "Production",
    ]);
    expect(production).toMatchObject({
      version: "1",
      runId: t.run_id,
      currentStage: "Production",
    });
    const run = await registry.getRun(t.run_id);
    expect(run.info.status).toBe("FINISHED");
    expect(run.data.metrics["auc"]?.value).toBe(t.metrics.auc);
    for (const key of [
      "f1",
      "accuracy",
      "precision",
      "recall",
      "log_loss",
      "train_time_s",
      "n_rows",
      "n_train",
      "n_val",
    ]) {
      expect(run.data.metrics[key], key).toBeDefined();
    }
    expect(run.data.params).toMatchObject({
      as_of: "2024-01-31",
      label_as_of: "2024-01-31",
      n_estimators: "30",
      max_features: "sqrt",
      class_weight: "balanced",
      seed: "42",
      test_size: "0.25",
    });
    expect(run.data.tags).toMatchObject({
      "streamflow.model_sha256": t.model_sha256,
    });
    const root = (await registry.listArtifacts({ runId: t.run_id }))
      .map((a) => a.path)
      .sort();
    expect(root).toEqual(
      expect.arrayContaining([
        "feature_schema.json",
        "metrics.json",
        "model",
        "roc_curve.svg",
      ]),
    );
    const modelFiles = (
      await registry.listArtifacts({ runId: t.run_id, path: "model" })
    )
      .map((a) => a.path)
      .sort();
    expect(modelFiles).toEqual([
      "model/MLmodel",
      "model/model.json",
      "model/model.onnx",
      "model/python_env.yaml",
      "model/requirements.txt",
    ]);

    const dest = await mkdtemp(join(tmpdir(), "sf-dl-"));
    const downloaded = await registry.downloadModel(
      `models:/${model}/Production`,
      dest,
    );
    const text = await readFile(
      join(downloaded.localPath, "model.json"),
      "utf8",
    );
    expect(createHash("sha256").update(text).digest("hex")).toBe(
      t.model_sha256,
    );
    const mlmodel = await readFile(
      join(downloaded.localPath, "MLmodel"),
      "utf8",
    );
    // One MLmodel, three flavours: ours over model.json, and onnx + python_function over model.onnx.
    for (const flavor of [
      "streamflow:",
      "onnx:",
      "python_function:",
      "loader_module: mlflow.onnx",
    ])
      expect(mlmodel).toContain(flavor);
    expect(mlmodel).toContain('"name":"net_service"');
    const local = parseModel(await readFile(join(out, "model.json"), "utf8"));
    const remote = parseModel(text);
    const rows = [
      {
        months_active: 1,
        monthly_fee: 29.85,
        paperless_billing: true,
        plan_stream_tv: false,
        plan_stream_movies: false,
        net_service: "DSL",
        watch_hours_30d: 24.48,
        avg_session_mins_7d: 29.14,
        unique_devices_30d: 3,
        skips_7d: 4,
        rebuffer_events_7d: 1,
        failed_payments_90d: 1,
        support_tickets_90d: 0,
        ticket_avg_resolution_hrs_90d: 16,
      },
      {
        months_active: 16,
        monthly_fee: 18.95,
        paperless_billing: false,
        plan_stream_tv: null,
        plan_stream_movies: null,
        net_service: "No",
        watch_hours_30d: 30.1,
        avg_session_mins_7d: 29.14,
        unique_devices_30d: 1,
        skips_7d: 0,
        rebuffer_events_7d: 3,
        failed_payments_90d: 0,
        support_tickets_90d: 2,
        ticket_avg_resolution_hrs_90d: 4.5,
      },
    ];
    expect(Array.from(remote.predictProba(rows))).toEqual(
      Array.from(local.predictProba(rows)),
    );
  });

  it("refuses a worse candidate with --if-better (exit 5), leaving Production alone", async () => {
    const weak = await runCli(
      [
        "train",
        "--as-of",
        "2024-01-31",
        "--n-estimators",
        "1",
        "--max-depth",
        "1",
        "--model-name",
        model,
        "--json",
      ],
      env,
      work,
    );
    expect(weak.exitCode, weak.stderr).toBe(0);
    const refused = await runCli(
      [
        "promote",
        "--model-name",
        model,
        "--latest",
        "--stage",
        "Production",
        "--if-better",
        "--json",
      ],
      env,
      work,
    );
    expect(refused.exitCode, refused.stderr).toBe(5);
    const r = refused.json() as {
      promoted: boolean;
      candidate: { value: number };
      current: { version: string; value: number };
      min_delta: number;
    };
    expect(r).toMatchObject({
      promoted: false,
      current: { version: "1" },
      min_delta: 0.01,
    });
    expect(r.candidate.value).toBeLessThan(r.current.value + 0.01);
    expect(
      (await registry.getLatestVersions(model, ["Production"]))[0]?.version,
    ).toBe("1");
    const show = await runCli(["models", "show", model, "--json"], env, work);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(
      (show.json()["versions"] as { version: string; stage: string }[]).map(
        (v) => [v.version, v.stage],
      ),
    ).toEqual([
      ["2", "None"],
      ["1", "Production"],
    ]);
  });

  it("answers an unknown version with exit 4 listing the versions there are", async () => {
    const run = await runCli(
      [
        "promote",
        "--model-name",
        model,
        "--version",
        "99",
        "--stage",
        "Production",
      ],
      env,
      work,
    );
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toMatch(/99/);
    expect(run.stderr).toMatch(/\b1\b.*Production|Production.*\b1\b/);
  });
});

describe("promote --if-better on a tampered artifact", () => {
  it("refuses to compare a model whose model.json does not hash to its run's sha256 (exit 4), changing nothing", async () => {
    const env = dbEnv;
    const name = `tampered_${Math.random().toString(36).slice(2, 8)}`;
    const registry = createLocalRegistry({
      root: join(env["STREAMFLOW_HOME"]!, "registry"),
    });
    try {
      for (const n of ["5", "3"]) {
        const r = await runCli(
          [
            "train",
            "--as-of",
            "2024-01-31",
            "--n-estimators",
            n,
            "--model-name",
            name,
            "--json",
          ],
          env,
          work,
        );
        expect(r.exitCode, r.stderr).toBe(0);
      }
      expect(
        (
          await runCli(
            [
              "promote",
              "--model-name",
              name,
              "--version",
              "1",
              "--stage",
              "Production",
            ],
            env,
            work,
          )
        ).exitCode,
      ).toBe(0);
      const candidate = await registry.getModelVersion(name, "2");
      // A hand edit that keeps the file valid JSON: only the checksum can tell.
      const file = join(
        env["STREAMFLOW_HOME"]!,
        "registry",
        "runs",
        candidate.runId!,
        "artifacts",
        "model",
        "model.json",
      );
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace('"seed":', '"seed": '),
      );
      const promote = await runCli(
        [
          "promote",
          "--model-name",
          name,
          "--latest",
          "--stage",
          "Production",
          "--if-better",
          "--json",
        ],
        env,
        work,
      );
      expect(promote.exitCode, promote.stderr).toBe(4);
      expect(promote.stderr).toMatch(
        new RegExp(
          `model\\.json of models:/${name}/2 hashes to [0-9a-f]{64}, but its run recorded [0-9a-f]{64}`,
        ),
      );
      expect(
        (await registry.getLatestVersions(name, ["Production"]))[0]?.version,
      ).toBe("1");
    } finally {
      await registry.close();
    }
  });
});

describe("MLflow faults seen from streamflow train", () => {
  it("exits 3 naming the server when MLflow is unreachable", async () => {
    const env = {
      ...dbEnv,
      MLFLOW_TRACKING_URI: "http://bob:pw@127.0.0.1:1",
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1",
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0",
      MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0",
    };
    const run = await runCli(
      ["train", "--as-of", "2024-01-31", "--n-estimators", "5", "--json"],
      env,
      work,
    );
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain("127.0.0.1:1");
    expect(run.stderr + run.stdout).not.toContain("pw@");
  });

  it("ends the run FAILED (exit 3) when the server keeps failing during the artifact upload", async () => {
    await using server = await startMlflowServer({ line: "3" });
    const target = new URL(server.url);
    // Forwards everything to MLflow except artifact uploads, which get a 503 storm.
    const proxy: Server = createServer((req, res) => {
      if (
        req.method === "PUT" &&
        req.url?.includes("/mlflow-artifacts/artifacts")
      ) {
        req.resume();
        res
          .writeHead(503, { "content-type": "application/json" })
          .end('{"error_code":"TEMPORARILY_UNAVAILABLE"}');
        return;
      }
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const port = (proxy.address() as { port: number }).port;
    try {
      const env = {
        ...dbEnv,
        MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "2",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0",
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0",
      };
      const run = await runCli(
        [
          "train",
          "--as-of",
          "2024-01-31",
          "--n-estimators",
          "5",
          "--experiment",
          "storm",
          "--json",
        ],
        env,
        work,
      );
      expect(run.exitCode, run.stderr).toBe(3);
      const client = createMlflowClient({ trackingUri: server.url });
      const experiment = await client.getExperimentByName("storm");
      const runs = await client.searchRuns({
        experimentIds: [experiment!.experimentId],
      });
      expect(runs.map((r) => r.info.status)).toEqual(["FAILED"]);
      await client.close();
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
