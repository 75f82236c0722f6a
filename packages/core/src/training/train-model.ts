import { parseCalendarDay, type CalendarDay } from "../calendar-day.ts";
import { CoreError } from "../errors.ts";
import {
  RandomForestClassifier,
  type RandomForestOptions,
} from "../forest/random-forest.ts";
import type { ProgressListener } from "../logger.ts";
import {
  evaluateBinary,
  rocCurve,
  type BinaryMetrics,
  type RocCurve,
} from "../metrics/classification.ts";
import { stratifiedSplit } from "../metrics/split.ts";
import { StreamflowModel } from "../model-format/model-file.ts";
import {
  Preprocessor,
  type FeatureRow,
  type FeatureSchema,
} from "../preprocessing/preprocessor.ts";

/** The lab's baseline recipe (lab notes §6): 300 trees, sqrt features, balanced classes, seed 42. */
export const LAB_FOREST_OPTIONS: Readonly<RandomForestOptions> = Object.freeze({
  nEstimators: 300,
  maxFeatures: "sqrt",
  classWeight: "balanced",
  seed: 42,
});

export interface TrainModelOptions {
  /** One object per entity with every schema column (NULL as null). */
  rows: readonly FeatureRow[];
  /** Label per row, 0 or 1 (1 = churned). */
  labels: ArrayLike<number>;
  schema: FeatureSchema;
  /** Feature cutoff of the dataset. */
  asOf: CalendarDay;
  /** Label cutoff of the dataset. @default asOf */
  labelAsOf?: CalendarDay | undefined;
  /** Fingerprint of the dataset (e.g. the sha256 the dataset builder computed); stored as given. */
  datasetFingerprint: string;
  /** Forest parameters; unset ones take LAB_FOREST_OPTIONS, then the forest's defaults. */
  forest?: RandomForestOptions;
  /** Share of rows held out, stratified. @default 0.25 */
  testSize?: number;
  /** Seed of the split, and of the forest unless `forest.seed` is set. @default 42 */
  seed?: number;
  /** Worker threads for the forest; the model does not depend on it. @default os.availableParallelism() */
  jobs?: number;
  /** Progress of the slow phase: `{ phase: "trees", done, total }` after each tree. */
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Monotonic clock in milliseconds, injectable for tests. @default performance.now */
  now?: () => number;
}

export interface TrainModelResult {
  model: StreamflowModel;
  /** Validation metrics (also stored in the model). */
  metrics: BinaryMetrics;
  /** Wall time of preprocessing fit plus forest training, in seconds (not stored in the model). */
  trainSeconds: number;
  rows: number;
  nTrain: number;
  nVal: number;
  /** Validation rows (indices into `rows`), their labels and predicted probabilities, for plots. */
  validation: {
    rowIndex: Uint32Array;
    yTrue: Uint8Array;
    yProba: Float64Array;
  };
  rocCurve: RocCurve;
}

/**
 * The lab's training run: stratified split, preprocessing fitted on the training rows, forest,
 * validation metrics. Returns the model (ready for `serializeModel`) and what a report needs.
 * @throws CoreError DATA_INVALID when rows and labels disagree, labels are not 0/1, or a class is missing.
 */
export async function trainModel(
  options: TrainModelOptions,
): Promise<TrainModelResult> {
  const { rows, labels, schema } = options;
  if (rows.length !== labels.length) {
    throw new CoreError(
      "DATA_INVALID",
      `${rows.length} rows but ${labels.length} labels`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) {
      throw new CoreError(
        "DATA_INVALID",
        `label of row ${i} is ${labels[i]}; labels must be 0 or 1`,
      );
    }
  }
  const seed = options.seed ?? 42;
  const testSize = options.testSize ?? 0.25;
  const now = options.now ?? (() => performance.now());
  const asOf = parseCalendarDay(options.asOf, "asOf");
  const labelAsOf = parseCalendarDay(
    options.labelAsOf ?? options.asOf,
    "labelAsOf",
  );

  const { trainIndex, testIndex } = stratifiedSplit({
    y: labels,
    testSize,
    seed,
  });
  const trainRows = Array.from(trainIndex, (i) => rows[i] as FeatureRow);
  const valRows = Array.from(testIndex, (i) => rows[i] as FeatureRow);
  const yTrain = Uint8Array.from(trainIndex, (i) => labels[i] as number);
  const yVal = Uint8Array.from(testIndex, (i) => labels[i] as number);
  if (
    !yTrain.includes(0) ||
    !yTrain.includes(1) ||
    !yVal.includes(0) ||
    !yVal.includes(1)
  ) {
    throw new CoreError(
      "DATA_INVALID",
      "both classes are needed in the training and the validation rows",
      {
        hint: "Every label is the same: check the label date (--label-as-of).",
      },
    );
  }

  const started = now();
  const preprocessor = Preprocessor.fit({ schema, rows: trainRows });
  const forest = new RandomForestClassifier({
    ...LAB_FOREST_OPTIONS,
    seed,
    ...options.forest,
  });
  await forest.train(preprocessor.transform(trainRows), yTrain, {
    jobs: options.jobs,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const trainSeconds = (now() - started) / 1000;

  const yProba = forest.predictProba(preprocessor.transform(valRows));
  const metrics = evaluateBinary({ yTrue: yVal, yProba });
  const { auc, f1, accuracy, precision, recall, log_loss } = metrics;
  const model = new StreamflowModel({
    preprocessor,
    forest,
    training: {
      asOf,
      labelAsOf,
      seed,
      datasetFingerprint: options.datasetFingerprint,
      rows: rows.length,
      split: { testSize, nTrain: trainRows.length, nVal: valRows.length },
      metrics: { auc, f1, accuracy, precision, recall, log_loss },
    },
  });
  return {
    model,
    metrics,
    trainSeconds,
    rows: rows.length,
    nTrain: trainRows.length,
    nVal: valRows.length,
    validation: { rowIndex: testIndex, yTrue: yVal, yProba },
    rocCurve: rocCurve(yVal, yProba),
  };
}
