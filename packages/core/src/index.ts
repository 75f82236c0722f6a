export {
  CORE_ERROR_CODES,
  CoreError,
  StreamflowError,
  isStreamflowError,
} from "./errors.ts";
export type { CoreErrorCode, StreamflowErrorOptions } from "./errors.ts";
export { SILENT_LOGGER } from "./logger.ts";
/** The one calendar-day type of every as-of date, parsed once at the edge. */
export { calendarDayOf, parseCalendarDay, startOfDay } from "./calendar-day.ts";
export type { CalendarDay } from "./calendar-day.ts";
export type { Logger, ProgressEvent, ProgressListener } from "./logger.ts";

/** Dense row-major matrix helpers for forest input. */
export { toDenseMatrix } from "./matrix.ts";
export type { DenseMatrix, MatrixInput } from "./matrix.ts";

/** Random forest classifier (CART on Gini, bootstrap, balanced class weights, worker threads, seeded). */
export {
  RandomForestClassifier,
  resolveMaxFeatures,
} from "./forest/random-forest.ts";
export type { ForestPredictor } from "./forest/parallel-predict.ts";
export type {
  MaxFeatures,
  PredictProbaInSlicesOptions,
  PredictProbaOptions,
  RandomForestJSON,
  RandomForestOptions,
  RandomForestParams,
  TrainOptions,
} from "./forest/random-forest.ts";
/** scikit-learn's balanced class weights, n_samples / (n_classes × count(c)). */
export { computeClassWeights } from "./forest/class-weight.ts";
export type { ClassWeightOptions } from "./forest/class-weight.ts";

/** Schema-driven preprocessing (one-hot categoricals, NULL-aware booleans, median-imputed numerics) stored in the model. */
export {
  Preprocessor,
  toLabFeatureSchema,
} from "./preprocessing/preprocessor.ts";
export type {
  FeatureRow,
  FeatureSchema,
  FeatureValue,
  FitPreprocessorOptions,
  LabFeatureSchema,
  PreprocessorJSON,
} from "./preprocessing/preprocessor.ts";
/** Feature schema from the feature store's column types (text → categorical, boolean, integer/double → numeric). */
export {
  featureSchemaFromColumns,
  rowsFromColumns,
} from "./preprocessing/columns.ts";
export type {
  RowsFromColumnsOptions,
  TypedColumn,
  FeatureSchemaOptions,
} from "./preprocessing/columns.ts";

/** Binary classification metrics with scikit-learn's conventions (ties, zero division, clipping). */
export {
  accuracy,
  confusionMatrix,
  evaluateBinary,
  f1Score,
  logLoss,
  precision,
  recall,
  rocAuc,
  rocCurve,
  trapezoidArea,
} from "./metrics/classification.ts";
export type {
  BinaryMetrics,
  ConfusionMatrix,
  EvaluateBinaryOptions,
  RocCurve,
} from "./metrics/classification.ts";
/** Deterministic stratified train/validation split with scikit-learn's per-class allocation. */
export { stratifiedSplit } from "./metrics/split.ts";
export type {
  StratifiedSplitOptions,
  StratifiedSplitResult,
} from "./metrics/split.ts";

/** Versioned model file (`streamflow.model`, format 1): the model class, canonical serialisation and validated parsing. */
export {
  DECISION_THRESHOLD,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  StreamflowModel,
  parseModel,
  serializeModel,
} from "./model-format/model-file.ts";
export type {
  FeatureImportance,
  ModelFile,
  ModelPredictor,
  ModelMetrics,
  StreamflowModelOptions,
  TrainingMetadata,
} from "./model-format/model-file.ts";
/** ONNX export: preprocessing and forest in one graph (raw features in, label and p_churn out) for onnxruntime and MLflow's onnx flavour. */
export {
  exportOnnx,
  exportOnnxModel,
  ONNX_INPUT,
  ONNX_IR_VERSION,
  ONNX_ML_OPSET,
  ONNX_OPSET,
  ONNX_OUTPUTS,
} from "./model-format/onnx/export-onnx.ts";
export type {
  ExportOnnxOptions,
  OnnxExport,
} from "./model-format/onnx/export-onnx.ts";
export type { ForestGraphStats } from "./model-format/onnx/forest-graph.ts";
export {
  MLFLOW_ONNX_REQUIREMENTS,
  mlflowOnnxFiles,
} from "./model-format/onnx/mlflow-files.ts";
export type {
  MlflowOnnxFiles,
  MlflowOnnxFilesOptions,
} from "./model-format/onnx/mlflow-files.ts";
export type { OnnxColumn } from "./model-format/onnx/preprocessing-graph.ts";
/** Canonical JSON text (keys sorted at every level) for hashing. */
export { canonicalJson } from "./model-format/canonical-json.ts";
/** Version of @streamflow/core written into model files. */
export { TOOLKIT_VERSION } from "./version.ts";

/** The lab's training run: split, preprocessing, forest, validation metrics. */
export { LAB_FOREST_OPTIONS, trainModel } from "./training/train-model.ts";
export type {
  TrainModelOptions,
  TrainModelResult,
} from "./training/train-model.ts";

/** SVG charts for training reports: ROC curve, feature importances, confusion matrix. */
export { renderConfusionMatrixSvg } from "./plots/confusion-matrix.ts";
export type { ConfusionMatrixSvgOptions } from "./plots/confusion-matrix.ts";
export { renderFeatureImportancesSvg } from "./plots/feature-importances.ts";
export type { FeatureImportancesSvgOptions } from "./plots/feature-importances.ts";
export { renderRocCurveSvg } from "./plots/roc-curve.ts";
export type { RocCurveSvgOptions } from "./plots/roc-curve.ts";

/** Data-drift statistics reproducing Evidently 0.7.15 (KS, chi-square, z, normed Wasserstein, Jensen–Shannon, PSI) from value counts. */
export {
  DEFAULT_DRIFT_THRESHOLDS,
  DRIFT_METHODS,
  chooseDriftMethod,
  driftTest,
  methodApplies,
} from "./drift/drift-test.ts";
export type { DriftMethod, DriftTestResult } from "./drift/drift-test.ts";
export { DistributionBuilder, distributionOf } from "./drift/distribution.ts";
export type { Distribution, DriftValue } from "./drift/distribution.ts";
export {
  chiSquarePValue,
  jensenShannonDistance,
  ksTwoSamplePValue,
  normedWassersteinDistance,
  populationStabilityIndex,
  zTestPValue,
} from "./drift/statistics.ts";
export type { DriftColumnKind } from "./drift/statistics.ts";
