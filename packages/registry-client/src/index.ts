/** Registry errors: the closed code table the CLI maps to exit codes, and the error class. */
export {
  REGISTRY_ERROR_CODES,
  RegistryError,
  isRegistryError,
} from "./errors.ts";
export type { RegistryErrorCode, RegistryErrorOptions } from "./errors.ts";

/** The registry interface both implementations share, its DTOs and option objects. */
export { MODEL_STAGES, RUN_STATUSES } from "./types.ts";
export type {
  ArtifactFile,
  CreateExperimentOptions,
  CreateModelVersionOptions,
  CreateRegisteredModelOptions,
  CreateRunOptions,
  DownloadArtifactsOptions,
  DownloadModelResult,
  Experiment,
  ListArtifactsOptions,
  LogArtifactContentOptions,
  LogArtifactOptions,
  LogArtifactsOptions,
  LogBatchOptions,
  LoggedModelRecord,
  Metric,
  MetricInput,
  ModelStage,
  ModelVersion,
  RegisteredModel,
  Registry,
  RegistryInfo,
  ResolvedArtifactLocation,
  Run,
  RunData,
  RunInfo,
  RunStatus,
  SearchModelVersionsOptions,
  SearchRegisteredModelsOptions,
  SearchRunsOptions,
  SetAliasOptions,
  TransitionStageOptions,
} from "./types.ts";

/** MLflow REST client (servers 2.x and 3.x): retries, artifact proxy, registry, model URIs. */
export { createMlflowClient } from "./mlflow-client.ts";
export type { MlflowClientOptions } from "./mlflow-client.ts";

/** The zero-setup registry in a local folder, safe for concurrent processes. */
export { createLocalRegistry } from "./local-registry.ts";
export type { LocalRegistryOptions } from "./local-registry.ts";

/** Runs that could not be ended while the server was away: the journal, and the recovery that ends them FAILED. */
export {
  ATTEMPT_ID_TAG,
  createPendingRunStore,
  endPendingRuns,
  newAttemptId,
} from "./pending-runs.ts";
export type {
  EndedPendingRun,
  PendingRun,
  PendingRunStore,
} from "./pending-runs.ts";

/** Parsing of `models:/` and `runs:/` URIs by MLflow's rules. */
export { canonicalStage, parseModelUri } from "./model-uri.ts";
export type { ModelUri } from "./model-uri.ts";

/** Removes `user:password@` from a URL, for messages and `--json` output. */
export { redactUrl } from "./internal/redact.ts";

/** Server-side limits of `runs/log-batch`, which `logBatch` chunks to. */
export { LOG_BATCH_LIMITS } from "./internal/batch.ts";
