import { z } from "zod";
import { CoreError } from "../errors.ts";
import {
  RandomForestClassifier,
  randomForestJsonSchema,
} from "../forest/random-forest.ts";
import {
  featureSchemaSchema,
  Preprocessor,
  preprocessorJsonSchema,
  type FeatureRow,
} from "../preprocessing/preprocessor.ts";
import { TOOLKIT_VERSION } from "../version.ts";
import { canonicalJson } from "./canonical-json.ts";

export const MODEL_FORMAT = "streamflow.model";

/** p(churn) above this is a churner — in serve, score and the ONNX export alike: scikit-learn's `predict` on two classes. */
export const DECISION_THRESHOLD = 0.5;
export const MODEL_FORMAT_VERSION = 1;

const metricsSchema = z.strictObject({
  auc: z.number(),
  f1: z.number(),
  accuracy: z.number(),
  precision: z.number(),
  recall: z.number(),
  log_loss: z.number(),
});

const dateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a YYYY-MM-DD date");

/**
 * How the model was trained. Only facts that the data, parameters and seed determine belong
 * here (no wall-clock time, no host), so retraining gives the same bytes.
 */
const trainingSchema = z.strictObject({
  asOf: dateSchema,
  labelAsOf: dateSchema,
  seed: z.number().int(),
  datasetFingerprint: z.string(),
  rows: z.number().int().min(0),
  split: z.strictObject({
    testSize: z.number(),
    nTrain: z.number().int(),
    nVal: z.number().int(),
  }),
  /** Validation metrics of the model on the split above. */
  metrics: metricsSchema,
});

const modelFileSchema = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  toolkit: z.strictObject({ name: z.string(), version: z.string() }),
  training: trainingSchema,
  featureSchema: featureSchemaSchema,
  preprocessing: preprocessorJsonSchema,
  forest: randomForestJsonSchema,
});

/** The JSON content of a `model.json` file, format version 1. */
export type ModelFile = z.infer<typeof modelFileSchema>;

/** Training facts stored in the model. */
export type TrainingMetadata = z.infer<typeof trainingSchema>;

export type ModelMetrics = z.infer<typeof metricsSchema>;

export interface StreamflowModelOptions {
  preprocessor: Preprocessor;
  forest: RandomForestClassifier;
  training: TrainingMetadata;
}

export interface FeatureImportance {
  name: string;
  importance: number;
}

/** A model's batch predictor on worker threads (see StreamflowModel.openPredictor). */
export interface ModelPredictor {
  readonly jobs: number;
  predictProba(rows: readonly FeatureRow[]): Promise<Float64Array>;
  close(): Promise<void>;
}

/** A trained churn model: the preprocessing and the forest that travel together in one file. */
export class StreamflowModel {
  readonly preprocessor: Preprocessor;
  readonly forest: RandomForestClassifier;
  readonly training: TrainingMetadata;
  readonly #row: Float64Array;

  constructor({ preprocessor, forest, training }: StreamflowModelOptions) {
    if (forest.nFeatures !== preprocessor.columnNames.length) {
      throw new CoreError(
        "MODEL_FORMAT_INVALID",
        `the forest expects ${forest.nFeatures} columns but the preprocessing produces ${preprocessor.columnNames.length}`,
        { hint: "The model file is inconsistent; train it again." },
      );
    }
    this.preprocessor = preprocessor;
    this.forest = forest;
    this.training = training;
    this.#row = new Float64Array(forest.nFeatures);
  }

  /** Churn probability of one entity's raw features; reuses one buffer, so no allocation per call. */
  predictProbaRow(row: FeatureRow): number {
    return this.forest.predictProbaOne(
      this.preprocessor.transformRow(row, this.#row),
    );
  }

  /**
   * Churn probability of every row.
   * @throws CoreError DATA_INVALID naming the first row that lacks a feature or holds a value of the wrong type.
   */
  predictProba(rows: readonly FeatureRow[]): Float64Array {
    return this.forest.predictProba(this.preprocessor.transform(rows));
  }

  /**
   * Churn probabilities of large batches on `jobs` threads, bit-for-bit those of predictProba;
   * preprocessing runs on this thread. Close the predictor to stop its workers.
   */
  openPredictor(options: { jobs?: number } = {}): ModelPredictor {
    const forest = this.forest.openPredictor(options);
    return {
      jobs: forest.jobs,
      predictProba: (rows) =>
        forest.predictProba(this.preprocessor.transform(rows)),
      close: () => forest.close(),
    };
  }

  /** Impurity importances by encoded column (`net_service=DSL`…), largest first. */
  featureImportances(): FeatureImportance[] {
    const values = this.forest.featureImportances();
    return this.preprocessor.columnNames
      .map((name, i) => ({ name, importance: values[i] as number }))
      .sort(
        (a, b) => b.importance - a.importance || (a.name < b.name ? -1 : 1),
      );
  }

  /** The model as a `ModelFile` object. */
  toFile(): ModelFile {
    const preprocessing = this.preprocessor.toJSON();
    return {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      toolkit: { name: "@streamflow/core", version: TOOLKIT_VERSION },
      training: structuredClone(this.training),
      featureSchema: structuredClone(preprocessing.schema),
      preprocessing,
      forest: this.forest.toJSON(),
    };
  }
}

/**
 * The model file's text: canonical JSON (keys sorted at every level) plus a final newline, so
 * the same model always gives the same bytes and the caller can hash them.
 */
export function serializeModel(model: StreamflowModel): string {
  try {
    return `${canonicalJson(model.toFile())}\n`;
  } catch (error) {
    // V8 caps a string near 512 MiB: deep unbounded trees on a million rows pass it.
    if (!(error instanceof RangeError)) throw error;
    throw new CoreError(
      "MODEL_TOO_LARGE",
      `the trained model (${model.forest.nTrees} trees, trained on ${model.training.split.nTrain} rows) is too large for a model file: its JSON exceeds the longest string this runtime holds`,
      {
        hint: "Bound the trees: train again with --max-depth (12 to 16, say) or fewer --n-estimators.",
        cause: error,
        details: { n_trees: model.forest.nTrees },
      },
    );
  }
}

function formatError(
  message: string,
  hint: string,
  cause?: unknown,
): CoreError {
  return new CoreError(
    "MODEL_FORMAT_INVALID",
    message,
    cause === undefined ? { hint } : { hint, cause },
  );
}

const RETRAIN_HINT =
  "Train the model again with `streamflow train`, or fetch the file again if it was copied.";

/**
 * Reads a model file's text (or its parsed JSON), checking format, version and every field.
 * @throws CoreError MODEL_FORMAT_INVALID when the text is not JSON, not a streamflow model, of an unknown format version, or malformed.
 */
export function parseModel(input: unknown): StreamflowModel {
  let json: unknown = input;
  if (typeof input === "string") {
    try {
      json = JSON.parse(input);
    } catch (cause) {
      throw formatError(
        `the model file is not valid JSON (${(cause as Error).message})`,
        RETRAIN_HINT,
        cause,
      );
    }
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw formatError(
      "the model file does not hold a JSON object",
      RETRAIN_HINT,
    );
  }
  const head = json as { format?: unknown; formatVersion?: unknown };
  if (head.format !== MODEL_FORMAT) {
    throw formatError(
      `not a streamflow model: format is ${JSON.stringify(head.format) ?? "missing"}, expected "${MODEL_FORMAT}"`,
      "Point to a model.json written by `streamflow train`.",
    );
  }
  if (head.formatVersion !== MODEL_FORMAT_VERSION) {
    const newer =
      typeof head.formatVersion === "number" &&
      head.formatVersion > MODEL_FORMAT_VERSION;
    throw formatError(
      `model format version ${JSON.stringify(head.formatVersion) ?? "missing"} is ${newer ? "newer than" : "not"} the version this toolkit reads (${MODEL_FORMAT_VERSION})`,
      newer
        ? `Upgrade streamflow (this is @streamflow/core ${TOOLKIT_VERSION}) or retrain with this version.`
        : RETRAIN_HINT,
    );
  }
  const parsed = modelFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw formatError(
      `the model file is malformed: ${issues.join("; ")}`,
      RETRAIN_HINT,
    );
  }
  const file = parsed.data;
  if (
    canonicalJson(file.featureSchema) !==
    canonicalJson(file.preprocessing.schema)
  ) {
    throw formatError(
      "the model's featureSchema and its preprocessing schema differ",
      RETRAIN_HINT,
    );
  }
  return new StreamflowModel({
    preprocessor: Preprocessor.load(file.preprocessing),
    forest: RandomForestClassifier.load(file.forest),
    training: file.training,
  });
}
