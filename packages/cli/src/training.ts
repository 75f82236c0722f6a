import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  featureSchemaFromColumns,
  renderConfusionMatrixSvg,
  renderFeatureImportancesSvg,
  renderRocCurveSvg,
  rowsFromColumns,
  serializeModel,
  toLabFeatureSchema,
  trainModel,
  type BinaryMetrics,
  type MaxFeatures,
} from "@streamflow/core";
import { loadDataset } from "@streamflow/features";
import type { CommandContext } from "./context.ts";
import { withFeatureStore } from "./store.ts";

/** What a training run needs beyond the dataset dates; the lab's recipe by default. */
export interface TrainingRequest {
  asOf: Date;
  labelAsOf?: Date | undefined;
  nEstimators: number;
  maxFeatures: MaxFeatures;
  classWeight: "balanced" | "none";
  maxDepth?: number | undefined;
  seed: number;
  testSize: number;
  jobs?: number | undefined;
  outDir?: string | undefined;
}

/** A finished run: the files written and the figures reported (and, with F3, logged to MLflow). */
export interface TrainingOutcome {
  runName: string;
  asOf: string;
  labelAsOf: string;
  metrics: BinaryMetrics;
  trainSeconds: number;
  rows: number;
  nTrain: number;
  nVal: number;
  datasetFingerprint: string;
  modelSha256: string;
  outDir: string;
  /** Files in `outDir`, relative names. */
  files: string[];
  params: Record<string, string | number | null>;
  /** The run's scalar metrics under the lab's names, as metrics.json and MLflow hold them. */
  runMetrics: Record<string, number>;
}


/** The lab's run name, `rf_baseline_<as_of>`, with the label date when it differs. */
export function runName(asOf: Date, labelAsOf: Date | undefined): string {
  const a = asOf.toISOString().slice(0, 10);
  const l = (labelAsOf ?? asOf).toISOString().slice(0, 10);
  return `rf_baseline_${a}` + (l === a ? "" : `_labels_${l}`);
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * Dataset from the feature store → the lab's training recipe → model and report files in one
 * folder. The seam F3 plugs MLflow into: everything it logs is in the outcome and the folder.
 */
export async function runTraining(ctx: CommandContext, request: TrainingRequest): Promise<TrainingOutcome> {
  const dataset = await withFeatureStore(ctx, (db) =>
    loadDataset({ db, asOf: request.asOf, labelAsOf: request.labelAsOf, logger: ctx.logger, onProgress: ctx.progress }),
  );
  const name = runName(request.asOf, request.labelAsOf);
  const outDir = resolve(ctx.io.cwd, request.outDir ?? join(ctx.config.home, "runs", name));
  ctx.logger.info(`training on ${dataset.userIds.length} rows (features ${dataset.asOf}, labels ${dataset.labelAsOf})`);

  const schema = featureSchemaFromColumns(dataset.featureColumns);
  const rows = rowsFromColumns({ names: dataset.featureColumns.map((c) => c.name), columns: dataset.features });
  const trained = await trainModel({
    rows,
    labels: dataset.labels,
    schema,
    asOf: new Date(`${dataset.asOf}T00:00:00Z`),
    labelAsOf: new Date(`${dataset.labelAsOf}T00:00:00Z`),
    datasetFingerprint: dataset.fingerprint,
    forest: {
      nEstimators: request.nEstimators,
      maxFeatures: request.maxFeatures,
      classWeight: request.classWeight === "balanced" ? "balanced" : undefined,
      maxDepth: request.maxDepth,
      seed: request.seed,
    },
    testSize: request.testSize,
    seed: request.seed,
    jobs: request.jobs,
    onProgress: (e) => ctx.progress({ ...e, phase: `training ${e.phase}` }),
  });

  const modelText = serializeModel(trained.model);
  const modelSha256 = createHash("sha256").update(modelText).digest("hex");
  const m = trained.metrics;
  const runMetrics = {
    auc: m.auc,
    f1: m.f1,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    log_loss: m.log_loss,
    train_time_s: trained.trainSeconds,
    n_rows: trained.rows,
    n_train: trained.nTrain,
    n_val: trained.nVal,
  };
  const metricsJson = { ...runMetrics, confusion_matrix: m.confusion };
  const files: Record<string, string> = {
    "model.json": modelText,
    "feature_schema.json": JSON.stringify(toLabFeatureSchema(schema), null, 2) + "\n",
    "metrics.json": JSON.stringify(metricsJson, null, 2) + "\n",
    "roc_curve.svg": renderRocCurveSvg({ fpr: trained.rocCurve.fpr, tpr: trained.rocCurve.tpr, auc: m.auc }),
    "feature_importances.svg": renderFeatureImportancesSvg({ importances: trained.model.featureImportances() }),
    "confusion_matrix.svg": renderConfusionMatrixSvg({ matrix: m.confusion }),
  };
  await mkdir(outDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeAtomically(join(outDir, name), text);

  return {
    runName: name,
    asOf: dataset.asOf,
    labelAsOf: dataset.labelAsOf,
    metrics: m,
    trainSeconds: trained.trainSeconds,
    rows: trained.rows,
    nTrain: trained.nTrain,
    nVal: trained.nVal,
    datasetFingerprint: dataset.fingerprint,
    modelSha256,
    outDir,
    runMetrics,
    files: Object.keys(files),
    params: {
      as_of: dataset.asOf,
      label_as_of: dataset.labelAsOf,
      n_estimators: request.nEstimators,
      max_features: String(request.maxFeatures),
      class_weight: request.classWeight,
      max_depth: request.maxDepth ?? null,
      seed: request.seed,
      test_size: request.testSize,
    },
  };
}
