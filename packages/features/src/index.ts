export {
  FEATURE_COLUMNS,
  FEATURE_VIEWS,
  LAB_LAYOUT,
  LABEL_SNAPSHOT,
  MAX_FIELD_LENGTH,
  MAX_USER_ID_LENGTH,
  SOURCE_FILES,
  USER_ENTITY,
} from "./schema.ts";
export type {
  ColumnSpec,
  ColumnType,
  FeatureViewSpec,
  SourceFileName,
  SourceFileSpec,
} from "./schema.ts";
export { storeLayout, viewAsOfColumn } from "./layout.ts";
export type { StoreLayout } from "./layout.ts";
export type {
  RepositoryApplied,
  ApplyRepositoryOptions,
} from "./internal/repository-record.ts";
export type { RepositoryLoss } from "./internal/repository-tables.ts";
export { FEATURES_ERROR_CODES, FeaturesError } from "./errors.ts";
export type { FeaturesErrorCode } from "./errors.ts";
export { openDatabase, redactDatabaseUrl } from "./internal/db.ts";
export type {
  Database,
  OpenDatabaseOptions,
  PoolOptions,
  SqlExecutor,
} from "./internal/db.ts";
export { LATEST_SCHEMA_VERSION, migrate } from "./internal/migrations.ts";
export type { MigrateResult } from "./internal/migrations.ts";
export type {
  ValidationIssue,
  ValidationRule,
} from "./internal/month-reader.ts";
export { openFeatureStore } from "./store.ts";
export type { OpenFeatureStoreOptions } from "./store.ts";
export { ingestedMonths, ingestMonth } from "./ingest.ts";
export type { IngestMonthOptions, IngestMonthResult } from "./ingest.ts";
export { buildDataset, loadDataset, scanDataset } from "./dataset.ts";
export type {
  BuildDatasetOptions,
  BuildDatasetResult,
  Dataset,
  DatasetBatch,
  DatasetColumn,
  DatasetOptions,
  FeatureValue,
  ScannedDataset,
} from "./dataset.ts";
export {
  checkOnline,
  describeOnlineStore,
  getOnlineFeatures,
  materialize,
} from "./online.ts";
export type {
  CheckOnlineOptions,
  CheckOnlineResult,
  FeatureStatus,
  MaterializeOptions,
  MaterializeResult,
  MaterializedView,
  OnlineFeatures,
  OnlineStoreColumn,
  OnlineStoreDescription,
  OnlineViewCheck,
} from "./online.ts";
export {
  generateData,
  MAX_SYNTHETIC_MONTHS,
  MAX_SYNTHETIC_USERS,
} from "./synthetic/index.ts";
export {
  generateRepositoryData,
  MAX_REPOSITORY_USERS,
} from "./synthetic/repository-data.ts";
export type { GenerateRepositoryDataOptions } from "./synthetic/repository-data.ts";
export type {
  GenerateDataOptions,
  GenerateDataResult,
  GeneratedMonth,
} from "./synthetic/index.ts";
export { readScoringRows } from "./scoring.ts";
export type {
  ReadScoringRowsOptions,
  ReadScoringRowsResult,
  ScoringChunk,
} from "./scoring.ts";
export {
  countPredictions,
  DEFAULT_PREDICTIONS_TABLE,
  preparePredictionsTable,
  summarizePredictions,
  writePredictions,
} from "./predictions.ts";
export type {
  CountPredictionsOptions,
  PredictionModel,
  PreparePredictionsTableOptions,
  PreparePredictionsTableResult,
  PredictionsSummary,
  PredictionQuantiles,
  WritePredictionsOptions,
  WritePredictionsResult,
} from "./predictions.ts";
export { MAX_SHARDS, parseShard, shardBucket } from "./internal/shards.ts";
export type { Shard } from "./internal/shards.ts";
export { openPredictionsFile } from "./prediction-file.ts";
export type {
  OpenPredictionsFileOptions,
  PredictionsFile,
} from "./prediction-file.ts";
export { latestDriftReport, recordDriftReport } from "./drift-reports.ts";
export type {
  DriftFeatureScore,
  DriftReportRecord,
  StoredDriftReport,
} from "./drift-reports.ts";
export {
  beginPipelineStep,
  endPipelineStep,
  isStepSettled,
  latestPipelineRun,
  PIPELINE_STEP_STATUSES,
  pipelineHistory,
  pipelineRunSteps,
} from "./pipeline-runs.ts";
export {
  recordPipelineWorkerHeartbeat,
  registerPipelineWorker,
  sweepDeadPipelineWorkers,
  unregisterPipelineWorker,
} from "./pipeline-workers.ts";
export type {
  DeadPipelineWorker,
  RegisterPipelineWorkerOptions,
} from "./pipeline-workers.ts";
export type {
  PipelineStepRecord,
  PipelineStepStatus,
} from "./pipeline-runs.ts";

export type {
  FeatureRepository,
  RepositoryColumn,
  RepositoryEntity,
  RepositoryFeatureView,
  RepositoryLabel,
  RepositoryModelDefaults,
  RepositorySource,
  SourceFormat,
} from "./repository/feature-repository.ts";
export { parseFeatureRepository } from "./repository/parse-repository.ts";
export {
  LAB_REPOSITORY,
  LAB_REPOSITORY_YAML,
} from "./repository/lab-repository.ts";
export {
  renderFeatureRepository,
  repositoryFileForm,
  repositoryHash,
} from "./repository/render-repository.ts";
