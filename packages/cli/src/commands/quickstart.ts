import { join } from "node:path";
import { LAB_FOREST_OPTIONS } from "@streamflow/core";
import { mkdir } from "node:fs/promises";
import { buildDataset, checkOnline, generateData, ingestMonth, materialize } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";
import { withRegistry } from "../registry.ts";
import { trackTraining } from "../tracking.ts";
import { runName, runTraining } from "../training.ts";

export interface QuickstartFlags {
  users: number;
  seed: number;
}

const FIRST_AS_OF = new Date("2024-01-31T00:00:00Z");
const MODEL_NAME = "streamflow_churn";
const day = (d: Date) => d.toISOString().slice(0, 10);

/** The README's main job: the lifecycle so far (data, online store, model) on the configured database. */
export async function runQuickstart(ctx: CommandContext, flags: QuickstartFlags): Promise<void> {
  const started = performance.now();
  const root = join(ctx.config.home, "quickstart");
  await mkdir(root, { recursive: true });
  const step = (text: string) => ctx.logger.info(text);

  step(`generating ${flags.users} synthetic users × 2 months in ${join(root, "data")}`);
  const data = await generateData({ outDir: join(root, "data"), users: flags.users, months: 2, seed: flags.seed, firstAsOf: FIRST_AS_OF, onProgress: ctx.progress });
  const summary = await withFeatureStore(ctx, async (db) => {
    const ingests = [];
    for (const month of data.months) {
      step(`ingesting ${month.dir} as of ${day(month.asOf)}`);
      // A demo re-run with other options must not trip over its own earlier snapshots.
      ingests.push(await ingestMonth({ db, monthDir: join(data.outDir, month.dir), asOf: month.asOf, replace: true, onProgress: ctx.progress }));
    }
    const first = data.months[0]!.asOf;
    const last = data.months[data.months.length - 1]!.asOf;
    step(`building the training set as of ${day(first)}`);
    const dataset = await buildDataset({ db, asOf: first, out: join(root, `train_${day(first)}.csv`), onProgress: ctx.progress });
    step(`materializing the online store as of ${day(last)}`);
    const online = await materialize({ db, asOf: last });
    const check = await checkOnline({ db, minCoverage: 0.99 });
    return { ingests, dataset, online, check, database: db.location };
  });
  step(`training the churn model as of ${day(FIRST_AS_OF)} (300 trees), registering it and promoting it to Production`);
  const { training, tracked } = await withRegistry(ctx, async (registry) => {
    const { outcome, tracked } = await trackTraining(ctx, {
      registry,
      experiment: "streamflow",
      modelName: MODEL_NAME,
      runName: runName(FIRST_AS_OF, undefined),
      train: () =>
        runTraining(ctx, {
          asOf: FIRST_AS_OF,
          nEstimators: LAB_FOREST_OPTIONS.nEstimators ?? 300,
          maxFeatures: LAB_FOREST_OPTIONS.maxFeatures ?? "sqrt",
          classWeight: "balanced",
          seed: flags.seed,
          testSize: 0.25,
        }),
    });
    await registry.transitionModelVersionStage({ name: MODEL_NAME, version: tracked.modelVersion, stage: "Production", archiveExistingVersions: true });
    return { training: outcome, tracked };
  });
  const seconds = (performance.now() - started) / 1000;
  const { ingests, dataset, online, check } = summary;
  ctx.result(
    {
      database: summary.database,
      data_dir: data.outDir,
      months: ingests.map((i) => ({ as_of: i.asOf, noop: i.noop, rows: i.rows.users })),
      dataset: { out: dataset.out, rows: dataset.rows, fingerprint: dataset.fingerprint, positive_rate: dataset.positiveRate },
      online: { as_of: online.asOf, users: check.users, ok: check.ok, coverage: Object.fromEntries(check.views.map((v) => [v.featureView, v.coverage])) },
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
      duration_ms: Math.round(seconds * 1000),
    },
    () =>
      [
        `StreamFlow quickstart — done in ${seconds.toFixed(1)} s on ${summary.database}`,
        `  1. generated   ${data.months.length} months × ${data.users.toLocaleString("en-US")} users → ${data.outDir}`,
        ...ingests.map((i, k) => `  ${k === 0 ? "2. ingested " : "             "}  ${i.asOf}${i.noop ? " (already there)" : ""}: ${i.rows.users.toLocaleString("en-US")} users, features and labels snapshotted`),
        `  3. dataset     ${dataset.rows.toLocaleString("en-US")} rows as of ${dataset.asOf}, churn ${(dataset.positiveRate * 100).toFixed(1)}% → ${dataset.out}`,
        `                 fingerprint ${dataset.fingerprint.slice(0, 16)}… (same data ⇒ same fingerprint, on PGlite or PostgreSQL)`,
        `  4. online      ${check.users.toLocaleString("en-US")} users served as of ${online.asOf}; coverage ${check.views.map((v) => `${(v.coverage * 100).toFixed(1)}%`).join(" / ")} ${check.ok ? "✓" : "✗"}`,
        `  5. model       AUC ${training.metrics.auc.toFixed(4)} · F1 ${training.metrics.f1.toFixed(4)} · accuracy ${training.metrics.accuracy.toFixed(4)} in ${training.trainSeconds.toFixed(1)} s → ${training.outDir}`,
        `  6. registry    ${tracked.modelName} version ${tracked.modelVersion} (run ${tracked.runId.slice(0, 12)}…) promoted to Production on ${tracked.trackingUri}`,
        "",
        "Next: streamflow train --as-of 2024-02-29 · streamflow promote --latest --stage Production --if-better · streamflow models show streamflow_churn",
      ].join("\n"),
  );
}
