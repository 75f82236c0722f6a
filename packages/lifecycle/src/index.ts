/** Lifecycle errors: the closed code table the CLI maps to exit codes, and the error class. */
export { LIFECYCLE_ERROR_CODES, LifecycleError } from "./errors.ts";
export type { LifecycleErrorCode } from "./errors.ts";

/** The model artifact contract: files of a version's `model/` folder and the checksum tag on its run. */
export {
  MODEL_ARTIFACT_PATH,
  MODEL_FILE,
  MODEL_SHA256_TAG,
  sha256Hex,
  writeModelDirectory,
} from "./model-artifact.ts";
export type {
  ModelDirectory,
  WriteModelDirectoryOptions,
} from "./model-artifact.ts";

/** Registered-model URIs and what they point at now. */
export {
  describeTarget,
  parseModelTarget,
  resolveTarget,
} from "./model-target.ts";
export type { ModelTarget } from "./model-target.ts";

/** The one verified loader, and the check of a model against a feature store's columns. */
export {
  checkModelAgainstStore,
  loadVerifiedModel,
  modelFeatures,
} from "./verified-model.ts";
export type { StoreColumn, VerifiedModel } from "./verified-model.ts";

/** Training on the feature store, and the tracked, registered run around it. */
export { trainOnStore, trainingRunName } from "./training.ts";
export type {
  TrainingOutcome,
  TrainingRecipe,
  TrainOnStoreOptions,
} from "./training.ts";
export { trainAndRegister } from "./registration.ts";
export type { PendingRunJournal } from "./tracked-run.ts";
export type {
  RegisteredRun,
  TrainAndRegisterOptions,
  TrainAndRegisterResult,
} from "./registration.ts";

/** Promotion to a stage or alias, optionally only when the candidate is better on its own validation rows. */
export {
  compareOnCandidateData,
  currentHolder,
  newestFinishedVersion,
  promote,
  PROMOTION_METRICS,
} from "./promotion.ts";
export { shouldPromote } from "./promotion-rule.ts";

/** Retrain-and-compare: a candidate trained on a month, promoted only when it beats the current holder. */
export { candidateRunName, retrain } from "./retraining.ts";
/** The monthly flow's runner: each step recorded in pipeline_runs, a crashed run resumed at its first unfinished step. */
export { runPipeline } from "./pipeline-runner.ts";
export type {
  PipelineRunResult,
  PipelineStep,
  PipelineStepOutcome,
  RunPipelineOptions,
} from "./pipeline-runner.ts";
/** The same flow over a PostgreSQL job queue: steps taken by `streamflow worker` processes, one step fanned out as shards. */
export {
  pipelineJobHandler,
  PIPELINE_STEP_TASK,
  runDistributedPipeline,
} from "./distributed/distributed-pipeline.ts";
export type {
  FanOut,
  PipelineJobPayload,
  PipelineStepFactory,
  RunDistributedPipelineOptions,
} from "./distributed/distributed-pipeline.ts";
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_STALE_AFTER_MS,
  JobQueue,
  startWorker,
} from "./distributed/job-queue.ts";
export type {
  JobContext,
  JobHandler,
  QueuedJob,
  RunningWorker,
  StartWorkerOptions,
} from "./distributed/job-queue.ts";
export type {
  RetrainDecision,
  RetrainOptions,
  RetrainResult,
} from "./retraining.ts";
export type {
  CandidateSpec,
  Comparison,
  PromoteOptions,
  PromotionMetric,
  PromotionResult,
} from "./promotion.ts";

/** The forward path on synthetic data, end to end: what `streamflow quickstart` runs before it serves. */
export { quickstart } from "./quickstart.ts";
export type { QuickstartOptions, QuickstartResult } from "./quickstart.ts";

/** Batch scoring: every user with features at a date, by a verified registered model, into the insert-only table or a file. */
export { scoreUsers } from "./scoring.ts";
export type {
  ScoreQuantiles,
  ScoreUsersOptions,
  ScoreUsersResult,
} from "./scoring.ts";

/** Monitoring: drift between two months over the declared features, target, scores and performance; a report; a tracked run. */
export { DRIFT_METHOD_CHOICES, driftKindOf } from "./drift/column-tests.ts";
export type {
  ColumnDrift,
  DriftMethodChoice,
  DriftTestPlan,
  FeatureDriftSetting,
} from "./drift/column-tests.ts";
export { detectDrift } from "./drift/detect-drift.ts";
export type {
  DetectDriftOptions,
  DriftOutcome,
  DriftPeriod,
  FeatureDrift,
  PerformanceFigures,
  RealisedPerformance,
  TargetDrift,
  WatchedModel,
} from "./drift/detect-drift.ts";
export { driftJson } from "./drift/drift-json.ts";
export type { DriftJson } from "./drift/drift-json.ts";
export { renderDriftReportHtml } from "./drift/report-html.ts";
export {
  DRIFT_JSON_ARTIFACT,
  DRIFT_REPORT_ARTIFACT,
  driftRunName,
  monitorDrift,
  MONITORING_EXPERIMENT,
} from "./drift/monitor-drift.ts";
export type {
  MonitorDriftOptions,
  MonitorDriftResult,
} from "./drift/monitor-drift.ts";
