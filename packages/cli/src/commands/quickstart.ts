import { join } from "node:path";
import { LAB_FOREST_OPTIONS } from "@streamflow/core";
import { mkdir, open } from "node:fs/promises";
import {
  buildDataset,
  checkOnline,
  generateData,
  ingestMonth,
  materialize,
} from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";
import { CliError } from "../errors.ts";
import { withRegistry } from "../registry.ts";
import { trainAndRegisterFromCli } from "../tracking.ts";
import { createPredictionService } from "@streamflow/serving";
import { createServerLogger, SERVING_POOL } from "../serving.ts";

export interface QuickstartFlags {
  users: number;
  seed: number;
  /** Keep the prediction service running after the sample prediction, until Ctrl-C. */
  serve?: boolean;
  port: number;
}

const FIRST_AS_OF = new Date("2024-01-31T00:00:00Z");
const MODEL_NAME = "streamflow_churn";
const day = (d: Date) => d.toISOString().slice(0, 10);

/** The README's main job: the lifecycle so far (data, online store, model) on the configured database. */
export async function runQuickstart(
  ctx: CommandContext,
  flags: QuickstartFlags,
): Promise<void> {
  const started = performance.now();
  const root = join(ctx.config.home, "quickstart");
  await mkdir(root, { recursive: true });
  const step = (text: string) => ctx.logger.info(text);

  step(
    `generating ${flags.users} synthetic users × 2 months in ${join(root, "data")}`,
  );
  const data = await generateData({
    outDir: join(root, "data"),
    users: flags.users,
    months: 2,
    seed: flags.seed,
    firstAsOf: FIRST_AS_OF,
    onProgress: ctx.progress,
  });
  const summary = await withFeatureStore(ctx, async (db) => {
    const ingests = [];
    for (const month of data.months) {
      step(`ingesting ${month.dir} as of ${day(month.asOf)}`);
      // A demo re-run with other options must not trip over its own earlier snapshots.
      ingests.push(
        await ingestMonth({
          db,
          monthDir: join(data.outDir, month.dir),
          asOf: month.asOf,
          replace: true,
          onProgress: ctx.progress,
        }),
      );
    }
    const first = data.months[0]!.asOf;
    const last = data.months[data.months.length - 1]!.asOf;
    step(`building the training set as of ${day(first)}`);
    const dataset = await buildDataset({
      db,
      asOf: first,
      out: join(root, `train_${day(first)}.csv`),
      onProgress: ctx.progress,
    });
    step(`materializing the online store as of ${day(last)}`);
    const online = await materialize({ db, asOf: last });
    const check = await checkOnline({ db, minCoverage: 0.99 });
    return { ingests, dataset, online, check, database: db.location };
  });
  step(
    `training the churn model as of ${day(FIRST_AS_OF)} (300 trees), registering it and promoting it to Production`,
  );
  const { training, tracked } = await withFeatureStore(ctx, (db) =>
    withRegistry(ctx, async (registry) => {
      const { training, registered } = await trainAndRegisterFromCli(
        ctx,
        { db, registry },
        {
          asOf: FIRST_AS_OF,
          recipe: {
            nEstimators: LAB_FOREST_OPTIONS.nEstimators ?? 300,
            maxFeatures: LAB_FOREST_OPTIONS.maxFeatures ?? "sqrt",
            classWeight: "balanced",
            seed: flags.seed,
            testSize: 0.25,
          },
          experiment: "streamflow",
          modelName: MODEL_NAME,
        },
      );
      await registry.transitionModelVersionStage({
        name: MODEL_NAME,
        version: registered.modelVersion,
        stage: "Production",
        archiveExistingVersions: true,
      });
      return { training, tracked: registered };
    }),
  );
  step(`starting the prediction service and asking it for a sample prediction`);
  const sampleUser = await firstUserId(
    join(data.outDir, data.months[data.months.length - 1]!.dir, "users.csv"),
  );
  await withFeatureStore(
    ctx,
    (db) =>
      withRegistry(ctx, async (registry) => {
        const service = await createPredictionService({
          db,
          registry,
          modelUri: `models:/${MODEL_NAME}/Production`,
          logger: createServerLogger(ctx, flags.serve ? "info" : "warn"),
        });
        try {
          const url = await service.listen({
            port: flags.serve ? flags.port : 0,
          });
          const response = await fetch(`${url}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ user_id: sampleUser }),
          });
          const sample = (await response.json()) as {
            churn_probability?: number;
            prediction?: number;
            error?: string;
            message?: string;
          };
          if (response.status !== 200) {
            throw new CliError(
              "CHECK_FAILED",
              `the prediction service answered ${response.status} for ${sampleUser}: ${sample.message ?? ""}`,
              { hint: "Run streamflow serve --verbose and GET /ready to see why." },
            );
          }
          printSummary({
            url,
            sampleUser,
            sample: sample as { churn_probability: number; prediction: number },
          });
          if (flags.serve) {
            const signal = await (ctx.io.stopRequested?.() ??
              new Promise<string>(() => undefined));
            ctx.logger.info(`${signal}: stopping the prediction service`);
          }
        } finally {
          await service.close();
        }
      }),
    { pool: SERVING_POOL },
  );

  function printSummary(serving: {
    url: string;
    sampleUser: string;
    sample: { churn_probability: number; prediction: number };
  }): void {
    const seconds = (performance.now() - started) / 1000;
    const { ingests, dataset, online, check } = summary;
    const curl = `curl -s ${serving.url}/predict -H 'Content-Type: application/json' -d '{"user_id":"${serving.sampleUser}"}'`;
    ctx.result(
      {
        database: summary.database,
        data_dir: data.outDir,
        months: ingests.map((i) => ({
          as_of: i.asOf,
          noop: i.noop,
          rows: i.rows.users,
        })),
        dataset: {
          out: dataset.out,
          rows: dataset.rows,
          fingerprint: dataset.fingerprint,
          positive_rate: dataset.positiveRate,
        },
        online: {
          as_of: online.asOf,
          users: check.users,
          ok: check.ok,
          coverage: Object.fromEntries(
            check.views.map((v) => [v.featureView, v.coverage]),
          ),
        },
        model: {
          out_dir: training.outDir,
          auc: training.metrics.auc,
          f1: training.metrics.f1,
          accuracy: training.metrics.accuracy,
          train_seconds: training.trainSeconds,
          model_sha256: training.modelSha256,
          run_id: tracked.runId,
          model_name: tracked.modelName,
          model_version: tracked.modelVersion,
          stage: "Production",
          tracking_uri: tracked.trackingUri,
        },
        serve: {
          url: serving.url,
          running: flags.serve === true,
          sample: {
            user_id: serving.sampleUser,
            churn_probability: serving.sample.churn_probability,
            prediction: serving.sample.prediction,
          },
        },
        duration_ms: Math.round(seconds * 1000),
      },
      () =>
        [
          `StreamFlow quickstart — done in ${seconds.toFixed(1)} s on ${summary.database}`,
          `  1. generated   ${data.months.length} months × ${data.users.toLocaleString("en-US")} users → ${data.outDir}`,
          ...ingests.map(
            (i, k) =>
              `  ${k === 0 ? "2. ingested " : "             "}  ${i.asOf}${i.noop ? " (already there)" : ""}: ${i.rows.users.toLocaleString("en-US")} users, features and labels snapshotted`,
          ),
          `  3. dataset     ${dataset.rows.toLocaleString("en-US")} rows as of ${dataset.asOf}, churn ${(dataset.positiveRate * 100).toFixed(1)}% → ${dataset.out}`,
          `                 fingerprint ${dataset.fingerprint.slice(0, 16)}… (same data ⇒ same fingerprint, on PGlite or PostgreSQL)`,
          `  4. online      ${check.users.toLocaleString("en-US")} users served as of ${online.asOf}; coverage ${check.views.map((v) => `${(v.coverage * 100).toFixed(1)}%`).join(" / ")} ${check.ok ? "✓" : "✗"}`,
          `  5. model       AUC ${training.metrics.auc.toFixed(4)} · F1 ${training.metrics.f1.toFixed(4)} · accuracy ${training.metrics.accuracy.toFixed(4)} in ${training.trainSeconds.toFixed(1)} s → ${training.outDir}`,
          `  6. registry    ${tracked.modelName} version ${tracked.modelVersion} (run ${tracked.runId.slice(0, 12)}…) promoted to Production on ${tracked.trackingUri}`,
          `  7. serve       POST /predict {"user_id":"${serving.sampleUser}"} → churn probability ${serving.sample.churn_probability.toFixed(3)}, prediction ${serving.sample.prediction}`,
          "",
          flags.serve
            ? `The prediction service is running on ${serving.url} (Ctrl-C stops it). Try:\n  ${curl}\n  curl -s ${serving.url}/features/${serving.sampleUser}\n  curl -s ${serving.url}/ready`
            : "Serve it: streamflow serve (or streamflow quickstart --serve), then POST /predict; see streamflow serve --help.",
          "Next: streamflow train --as-of 2024-02-29 · streamflow promote --latest --stage Production --if-better · streamflow models show streamflow_churn",
        ].join("\n"),
    );
  }
}

/** The first user id of a generated users.csv, for the sample prediction. */
async function firstUserId(usersCsv: string): Promise<string> {
  const file = await open(usersCsv);
  try {
    const { buffer, bytesRead } = await file.read({
      buffer: Buffer.alloc(4096),
    });
    const line =
      buffer.subarray(0, bytesRead).toString("utf8").split("\n")[1] ?? "";
    return line.split(",")[0]!;
  } finally {
    await file.close();
  }
}
