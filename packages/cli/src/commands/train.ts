import { type CalendarDay } from "@streamflow/core";
import type { MaxFeatures } from "@streamflow/core";
import type { CommandContext } from "../context.ts";
import { withRegistry } from "../registry.ts";
import { withFeatureStore } from "../store.ts";
import { trainAndRegisterFromCli } from "../tracking.ts";
import type { TrainingRecipe } from "@streamflow/lifecycle";

export interface TrainFlags {
  asOf: CalendarDay;
  labelAsOf?: CalendarDay;
  nEstimators: number;
  maxFeatures: MaxFeatures;
  classWeight: "balanced" | "none";
  maxDepth?: number;
  seed: number;
  testSize: number;
  jobs?: number;
  outDir?: string;
  experiment: string;
  modelName: string;
}

const f4 = (x: number) => x.toFixed(4);

/** The forest recipe the training flags describe (train, retrain and pipeline run share them). */
export function recipeFromFlags(flags: TrainFlags): TrainingRecipe {
  const { nEstimators, maxFeatures, classWeight, maxDepth, seed } = flags;
  return {
    nEstimators,
    maxFeatures,
    classWeight,
    maxDepth,
    seed,
    testSize: flags.testSize,
    jobs: flags.jobs,
  };
}

export async function runTrain(
  ctx: CommandContext,
  flags: TrainFlags,
): Promise<void> {
  const { training: r, registered: tracked } = await withFeatureStore(
    ctx,
    (db) =>
      withRegistry(ctx, (registry) =>
        trainAndRegisterFromCli(
          ctx,
          { db, registry },
          {
            ...flags,
            recipe: recipeFromFlags(flags),
          },
        ),
      ),
  );
  const m = r.metrics;
  ctx.result(
    {
      metrics: {
        auc: m.auc,
        f1: m.f1,
        accuracy: m.accuracy,
        precision: m.precision,
        recall: m.recall,
        log_loss: m.log_loss,
      },
      train_seconds: r.trainSeconds,
      rows: r.rows,
      n_train: r.nTrain,
      n_val: r.nVal,
      dataset_fingerprint: r.datasetFingerprint,
      feature_repository: r.repositoryHash,
      model_sha256: r.modelSha256,
      out_dir: r.outDir,
      run_name: r.runName,
      as_of: r.asOf,
      label_as_of: r.labelAsOf,
      params: r.params,
      run_id: tracked.runId,
      experiment_id: tracked.experimentId,
      model_name: tracked.modelName,
      model_version: tracked.modelVersion,
      tracking_uri: tracked.trackingUri,
    },
    () =>
      [
        `[OK] Trained ${r.runName}. AUC=${f4(m.auc)} F1=${f4(m.f1)} ACC=${f4(m.accuracy)} in ${r.trainSeconds.toFixed(2)} s`,
        `  ${r.rows.toLocaleString("en-US")} rows (train ${r.nTrain.toLocaleString("en-US")} / validation ${r.nVal.toLocaleString("en-US")}), features as of ${r.asOf}, labels as of ${r.labelAsOf}`,
        `  precision ${f4(m.precision)} · recall ${f4(m.recall)} · log loss ${f4(m.log_loss)}`,
        `  model sha256 ${r.modelSha256}`,
        `  dataset fingerprint ${r.datasetFingerprint}`,
        `  wrote ${r.files.join(", ")} to ${r.outDir}`,
        `  run ${tracked.runId} registered as ${tracked.modelName} version ${tracked.modelVersion} on ${tracked.trackingUri}`,
        `  next: streamflow promote --model-name ${tracked.modelName} --version ${tracked.modelVersion} --stage Production`,
      ].join("\n"),
  );
}
