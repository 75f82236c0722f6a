import { mkdir } from "node:fs/promises";
import { writeAtomically } from "./write-atomically.ts";
import { join } from "node:path";
import {
  featureSchemaFromColumns,
  renderConfusionMatrixSvg,
  renderFeatureImportancesSvg,
  renderRocCurveSvg,
  rowsFromColumns,
  serializeModel,
  SILENT_LOGGER,
  toLabFeatureSchema,
  trainModel,
  type BinaryMetrics,
  type Logger,
  type MaxFeatures,
  type ProgressListener,
  type StreamflowModel,
  type TypedColumn,
  type CalendarDay,
} from "@streamflow/core";
import { loadDataset, type Database } from "@streamflow/features";
import { MODEL_FILE, sha256Hex } from "./model-artifact.ts";

/** The forest and split of one training; the lab's recipe unless told otherwise. */
export interface TrainingRecipe {
  nEstimators: number;
  maxFeatures: MaxFeatures;
  classWeight: "balanced" | "none";
  maxDepth?: number | undefined;
  seed: number;
  testSize: number;
  /** Worker threads; the model does not depend on it. */
  jobs?: number | undefined;
}

export interface TrainOnStoreOptions {
  db: Database;
  /** Feature cutoff. */
  asOf: CalendarDay;
  /** Label cutoff. @default asOf */
  labelAsOf?: CalendarDay | undefined;
  recipe: TrainingRecipe;
  /** Folder that receives the model and report files (created). */
  outDir: string;
  /** @default the lab's, `rf_baseline_<as_of>` (see {@link trainingRunName}) */
  runName?: string | undefined;
  logger?: Logger;
  onProgress?: ProgressListener;
}

/** A finished training: the files written and the figures a run logs. */
export interface TrainingOutcome {
  runName: string;
  asOf: CalendarDay;
  labelAsOf: CalendarDay;
  metrics: BinaryMetrics;
  trainSeconds: number;
  rows: number;
  nTrain: number;
  nVal: number;
  datasetFingerprint: string;
  /** sha256 of the feature repository the store held: where the model's features are declared. */
  repositoryHash: string;
  model: StreamflowModel;
  /** The serialised model, as written to `model.json`. */
  modelText: string;
  /** The dataset's feature columns with their store types, in order. */
  featureColumns: TypedColumn[];
  modelSha256: string;
  outDir: string;
  /** Files in `outDir`, relative names. */
  files: string[];
  params: Record<string, string | number | null>;
  /** The run's scalar metrics under the lab's names, as metrics.json and MLflow hold them. */
  runMetrics: Record<string, number>;
}

/** The lab's run name, `rf_baseline_<as_of>`, with the label date when it differs. */
export function trainingRunName(
  asOf: CalendarDay,
  labelAsOf: CalendarDay | undefined,
): string {
  const l = labelAsOf ?? asOf;
  return `rf_baseline_${asOf}` + (l === asOf ? "" : `_labels_${l}`);
}

/** Point-in-time dataset from the store → the training recipe → model and report files in one folder. */
export async function trainOnStore(
  options: TrainOnStoreOptions,
): Promise<TrainingOutcome> {
  const { db, recipe, outDir } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const progress = options.onProgress ?? (() => undefined);
  const dataset = await loadDataset({
    db,
    asOf: options.asOf,
    labelAsOf: options.labelAsOf,
    logger,
    onProgress: progress,
  });
  logger.info(
    `training on ${dataset.userIds.length} rows (features ${dataset.asOf}, labels ${dataset.labelAsOf})`,
  );

  const schema = featureSchemaFromColumns(dataset.featureColumns, {
    categorical: db.layout.repository.model.categorical,
  });
  const rows = rowsFromColumns({
    names: dataset.featureColumns.map((c) => c.name),
    columns: dataset.features,
  });
  const trained = await trainModel({
    rows,
    labels: dataset.labels,
    schema,
    asOf: dataset.asOf,
    labelAsOf: dataset.labelAsOf,
    datasetFingerprint: dataset.fingerprint,
    forest: {
      nEstimators: recipe.nEstimators,
      maxFeatures: recipe.maxFeatures,
      classWeight: recipe.classWeight === "balanced" ? "balanced" : undefined,
      maxDepth: recipe.maxDepth,
      seed: recipe.seed,
    },
    testSize: recipe.testSize,
    seed: recipe.seed,
    jobs: recipe.jobs,
    onProgress: (e) => progress({ ...e, phase: `training ${e.phase}` }),
  });

  const modelText = serializeModel(trained.model);
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
  const files: Record<string, string> = {
    [MODEL_FILE]: modelText,
    "feature_schema.json":
      JSON.stringify(toLabFeatureSchema(schema), null, 2) + "\n",
    "metrics.json":
      JSON.stringify(
        { ...runMetrics, confusion_matrix: m.confusion },
        null,
        2,
      ) + "\n",
    "roc_curve.svg": renderRocCurveSvg({
      fpr: trained.rocCurve.fpr,
      tpr: trained.rocCurve.tpr,
      auc: m.auc,
    }),
    "feature_importances.svg": renderFeatureImportancesSvg({
      importances: trained.model.featureImportances(),
    }),
    "confusion_matrix.svg": renderConfusionMatrixSvg({ matrix: m.confusion }),
  };
  await mkdir(outDir, { recursive: true });
  for (const [name, text] of Object.entries(files))
    await writeAtomically(join(outDir, name), text);

  return {
    runName:
      options.runName ?? trainingRunName(options.asOf, options.labelAsOf),
    asOf: dataset.asOf,
    labelAsOf: dataset.labelAsOf,
    metrics: m,
    trainSeconds: trained.trainSeconds,
    rows: trained.rows,
    nTrain: trained.nTrain,
    nVal: trained.nVal,
    datasetFingerprint: dataset.fingerprint,
    repositoryHash: db.layout.hash,
    model: trained.model,
    modelText,
    featureColumns: dataset.featureColumns,
    modelSha256: sha256Hex(modelText),
    outDir,
    runMetrics,
    files: Object.keys(files),
    params: {
      as_of: dataset.asOf,
      label_as_of: dataset.labelAsOf,
      n_estimators: recipe.nEstimators,
      max_features: String(recipe.maxFeatures),
      class_weight: recipe.classWeight,
      max_depth: recipe.maxDepth ?? null,
      seed: recipe.seed,
      test_size: recipe.testSize,
    },
  };
}
