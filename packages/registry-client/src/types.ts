/** MLflow run statuses (names, as the REST API sends them). */
export const RUN_STATUSES = [
  "RUNNING",
  "SCHEDULED",
  "FINISHED",
  "FAILED",
  "KILLED",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Model version stages, in MLflow's spelling. Deprecated by MLflow since 2.9 but still served by 2.x and 3.x. */
export const MODEL_STAGES = [
  "None",
  "Staging",
  "Production",
  "Archived",
] as const;
export type ModelStage = (typeof MODEL_STAGES)[number];

export interface Experiment {
  experimentId: string;
  name: string;
  /** Where new runs put their artifacts: `mlflow-artifacts:/1` on a proxying server, a `file:` URL locally. */
  artifactLocation: string;
  lifecycleStage: "active" | "deleted";
  creationTime: Date | undefined;
  lastUpdateTime: Date | undefined;
  tags: Record<string, string>;
}

export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string | undefined;
  status: RunStatus;
  startTime: Date | undefined;
  endTime: Date | undefined;
  /** Root of the run's artifacts; `${artifactUri}/model` is what a model version's source should be. */
  artifactUri: string;
  lifecycleStage: "active" | "deleted";
}

export interface Metric {
  key: string;
  value: number;
  timestamp: Date;
  step: number;
}

export interface RunData {
  /** Latest point of each metric (MLflow's notion: highest step, then newest timestamp). */
  metrics: Record<string, Metric>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

export interface Run {
  info: RunInfo;
  data: RunData;
}

export interface RegisteredModel {
  name: string;
  description: string | undefined;
  creationTime: Date | undefined;
  lastUpdatedTime: Date | undefined;
  tags: Record<string, string>;
  /** alias → version. */
  aliases: Record<string, string>;
}

export interface ModelVersion {
  name: string;
  /** A decimal string, as MLflow sends it ("1", "2"…). */
  version: string;
  currentStage: ModelStage;
  /** Where the model's files are: `mlflow-artifacts:/…`, `runs:/…` or, locally, a `file:` URL. */
  source: string;
  runId: string | undefined;
  status: string;
  description: string | undefined;
  creationTime: Date | undefined;
  lastUpdatedTime: Date | undefined;
  tags: Record<string, string>;
  aliases: string[];
}

/** One entry of an artifact listing. `path` is relative to the run's artifact root, like MLflow's. */
export interface ArtifactFile {
  path: string;
  isDir: boolean;
  fileSize: number | undefined;
}

export interface MetricInput {
  key: string;
  value: number;
  /** @default the registry's clock at the time of the call — fixed once, so a retried request repeats the same point */
  timestamp?: Date;
  /** @default 0 */
  step?: number;
}

export interface CreateExperimentOptions {
  name: string;
  artifactLocation?: string;
  tags?: Record<string, string>;
}

export interface CreateRunOptions {
  experimentId: string;
  runName?: string;
  /** @default now */
  startTime?: Date;
  tags?: Record<string, string>;
}

export interface LogBatchOptions {
  runId: string;
  metrics?: readonly MetricInput[];
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

export interface UpdateRunOptions {
  runId: string;
  status?: RunStatus;
  /** @default now when `status` is terminal */
  endTime?: Date;
  runName?: string;
}

export interface SearchRunsOptions {
  experimentIds: readonly string[];
  /** Conjunction of equality tests; turned into MLflow's filter string by the REST client. */
  filter?: {
    runName?: string;
    status?: RunStatus;
    params?: Record<string, string>;
    tags?: Record<string, string>;
  };
  /** @default 1000 */
  maxResults?: number;
}

export interface LogArtifactOptions {
  runId: string;
  /** A file; it is stored as `artifactPath/<its base name>`. */
  localPath: string;
  /** Folder inside the run's artifacts. @default the root */
  artifactPath?: string;
}

export interface LogArtifactsOptions {
  runId: string;
  /** A folder; its contents (recursively) are stored under `artifactPath`. */
  localDir: string;
  /** @default the root */
  artifactPath?: string;
}

export interface LogArtifactContentOptions {
  runId: string;
  /** File path inside the run's artifacts, e.g. `metrics.json`. */
  path: string;
  content: string | Uint8Array;
}

export interface ListArtifactsOptions {
  runId: string;
  /** Folder inside the run's artifacts. @default the root */
  path?: string;
}

export interface DownloadArtifactsOptions {
  runId: string;
  /** A file or folder inside the run's artifacts. @default the root */
  path?: string;
  /** Created when missing. A folder is downloaded as `destDir/<its base name>`, or into `destDir` for the root. */
  destDir: string;
}

export interface CreateRegisteredModelOptions {
  name: string;
  description?: string;
  tags?: Record<string, string>;
}

export interface SearchRegisteredModelsOptions {
  /** SQL LIKE pattern on the name (`%churn%`). */
  nameLike?: string;
  /** @default 1000 */
  maxResults?: number;
}

export interface CreateModelVersionOptions {
  name: string;
  /** The model folder: `${run.info.artifactUri}/model` (an `mlflow-artifacts:` URI on a server). */
  source: string;
  runId?: string;
  description?: string;
  tags?: Record<string, string>;
}

export interface SearchModelVersionsOptions {
  name?: string;
  runId?: string;
  /** @default 1000 */
  maxResults?: number;
}

export interface TransitionStageOptions {
  name: string;
  version: string;
  /** Matched case-insensitively, like MLflow. */
  stage: ModelStage | Lowercase<ModelStage>;
  /** Move the other versions in the target stage to Archived. Only for Staging and Production. @default false */
  archiveExistingVersions?: boolean;
}

export interface SetAliasOptions {
  name: string;
  alias: string;
  version: string;
}

/** What a `models:/…`, `runs:/…` or storage URI points at. */
export interface ResolvedArtifactLocation {
  /** Storage URI the files can be downloaded from (`mlflow-artifacts:/…` or `file:` URL). */
  artifactUri: string;
  /** The model version the URI named, for `models:/` URIs. */
  modelVersion: ModelVersion | undefined;
  /** The run that produced the files, when known. */
  runId: string | undefined;
}

export interface DownloadModelResult extends ResolvedArtifactLocation {
  /** Local folder (or file) holding the downloaded artifacts. */
  localPath: string;
}

/** The 2.x run-page record of a logged model (`mlflow.log-model.history`): the MLmodel file's content as a dict. */
export interface LoggedModelRecord {
  artifact_path: string;
  flavors: Record<string, unknown>;
  /** `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, as MLflow writes it. */
  utc_time_created: string;
  run_id: string;
  [key: string]: unknown;
}

export interface RegistryInfo {
  kind: "mlflow" | "local";
  /** The tracking URI with credentials removed, or the local registry's root folder. */
  location: string;
  /** MLflow server version from `GET /version`; undefined for the local registry or a server that does not say. */
  serverVersion: string | undefined;
}

/**
 * What StreamFlow needs from a model registry. Implemented by the MLflow REST client and by the
 * local file registry, with the same semantics (stages, aliases, `models:/` URIs, write-once params).
 */
export interface Registry {
  /** Where this registry is and which server version answers. @throws REGISTRY_UNAVAILABLE */
  describe(): Promise<RegistryInfo>;

  getExperiment(experimentId: string): Promise<Experiment>;
  /** undefined when no experiment has that name. */
  getExperimentByName(name: string): Promise<Experiment | undefined>;
  /** @returns the new experiment id. @throws REGISTRY_CONFLICT when the name is taken */
  createExperiment(options: CreateExperimentOptions): Promise<string>;
  /** Safe against a concurrent creator of the same name. */
  getOrCreateExperiment(name: string): Promise<Experiment>;

  createRun(options: CreateRunOptions): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  /** Newest first. */
  searchRuns(options: SearchRunsOptions): Promise<Run[]>;
  /** Splits into requests within MLflow's limits; safe to retry (metric points get explicit timestamps and steps). */
  logBatch(options: LogBatchOptions): Promise<void>;
  /** Every point of one metric, in logging order. */
  getMetricHistory(runId: string, key: string): Promise<Metric[]>;
  /** Ends a run: FINISHED unless told otherwise, end time now. */
  terminateRun(
    runId: string,
    status?: "FINISHED" | "FAILED" | "KILLED",
  ): Promise<RunInfo>;
  /** Records a logged model on the run (`mlflow.log-model.history`), which the 2.x UI's runs table shows. */
  recordLoggedModel(runId: string, record: LoggedModelRecord): Promise<void>;

  logArtifact(options: LogArtifactOptions): Promise<void>;
  logArtifacts(options: LogArtifactsOptions): Promise<void>;
  logArtifactContent(options: LogArtifactContentOptions): Promise<void>;
  /** Direct children of one folder. */
  listArtifacts(options: ListArtifactsOptions): Promise<ArtifactFile[]>;
  /** @returns the local path of the downloaded file or folder */
  downloadArtifacts(options: DownloadArtifactsOptions): Promise<string>;

  createRegisteredModel(
    options: CreateRegisteredModelOptions,
  ): Promise<RegisteredModel>;
  /** @throws REGISTRY_NOT_FOUND naming the models that exist */
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  /** Safe against a concurrent creator of the same name. */
  getOrCreateRegisteredModel(name: string): Promise<RegisteredModel>;
  searchRegisteredModels(
    options?: SearchRegisteredModelsOptions,
  ): Promise<RegisteredModel[]>;
  createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion>;
  /**
   * The version of `name` registered from `runId` (the lowest, should there be several), created
   * when there is none. Safe to retry after a lost answer: it looks before it creates, and looks
   * again when the create failed without an answer.
   */
  getOrCreateModelVersion(
    options: CreateModelVersionOptions & { runId: string },
  ): Promise<ModelVersion>;
  /** @throws REGISTRY_NOT_FOUND naming the versions that exist */
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  /** Highest version first. */
  searchModelVersions(
    options: SearchModelVersionsOptions,
  ): Promise<ModelVersion[]>;
  /** The newest version in each stage (or in each of `stages`). */
  getLatestVersions(
    name: string,
    stages?: readonly ModelStage[],
  ): Promise<ModelVersion[]>;
  transitionModelVersionStage(
    options: TransitionStageOptions,
  ): Promise<ModelVersion>;
  setRegisteredModelAlias(options: SetAliasOptions): Promise<void>;
  /** @throws REGISTRY_NOT_FOUND naming the aliases that exist */
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;

  /** Where `models:/NAME/VERSION|STAGE|latest`, `models:/NAME@ALIAS`, `runs:/RUN_ID/path` (or a storage URI) points. */
  resolveArtifactLocation(uri: string): Promise<ResolvedArtifactLocation>;
  /** Resolves `uri` (as above) and downloads the files into `destDir`. */
  downloadModel(uri: string, destDir: string): Promise<DownloadModelResult>;

  /** Releases sockets or handles. The registry is unusable afterwards. */
  close(): Promise<void>;
}
