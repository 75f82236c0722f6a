import { join } from "node:path";
import {
  SILENT_LOGGER,
  TOOLKIT_VERSION,
  type Logger,
  type ProgressListener,
  type CalendarDay,
} from "@streamflow/core";
import type { Database } from "@streamflow/features";
import {
  RegistryError,
  isRegistryError,
  type ModelVersion,
  type Registry,
} from "@streamflow/registry-client";
import {
  MODEL_ARTIFACT_PATH,
  MODEL_FILE,
  MODEL_SHA256_TAG,
  writeModelDirectory,
} from "./model-artifact.ts";
import {
  trainOnStore,
  trainingRunName,
  type TrainingOutcome,
  type TrainingRecipe,
} from "./training.ts";
import { withTrackedRun, type PendingRunJournal } from "./tracked-run.ts";

export interface TrainAndRegisterOptions {
  db: Database;
  registry: Registry;
  pendingRuns: PendingRunJournal;
  asOf: CalendarDay;
  labelAsOf?: CalendarDay | undefined;
  recipe: TrainingRecipe;
  /** Folder for the model and report files (created). */
  outDir: string;
  experiment: string;
  modelName: string;
  /** @default the lab's, `rf_baseline_<as_of>` */
  runName?: string | undefined;
  /** Extra run tags, e.g. `mlflow.source.git.commit`. */
  tags?: Readonly<Record<string, string>>;
  logger?: Logger;
  onProgress?: ProgressListener;
}

/** What MLflow knows of a tracked training: where to find the run and the registered version. */
export interface RegisteredRun {
  runId: string;
  experimentId: string;
  modelName: string;
  modelVersion: string;
  trackingUri: string;
}

export interface TrainAndRegisterResult {
  training: TrainingOutcome;
  registered: RegisteredRun;
}

/**
 * Trains on the store as an MLflow run (or a local-registry run), in an order that keeps run and
 * version states consistent whichever request fails: the run is created first (tagged with an
 * attempt id so it can be found even if its id never comes back), everything is logged, the run is
 * marked FINISHED, and only then is a version registered, so no version ever points at an
 * unfinished run. A run that cannot be ended is journaled and ended FAILED by the next command.
 */
export async function trainAndRegister(
  options: TrainAndRegisterOptions,
): Promise<TrainAndRegisterResult> {
  const { registry, pendingRuns, experiment, modelName } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const runName =
    options.runName ?? trainingRunName(options.asOf, options.labelAsOf);
  const {
    value: training,
    run,
    experimentId,
    trackingUri,
  } = await withTrackedRun(
    {
      registry,
      pendingRuns,
      experiment,
      runName,
      tags: {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "streamflow train",
        ...options.tags,
      },
      logger,
    },
    async (run) => {
      const training = await trainOnStore({ ...options, runName });
      await logTraining(registry, run.info.runId, training);
      return training;
    },
  );
  const runId = run.info.runId;
  let version: ModelVersion;
  try {
    await registry.getOrCreateRegisteredModel(modelName);
    version = await registry.getOrCreateModelVersion({
      name: modelName,
      source: `${run.info.artifactUri}/${MODEL_ARTIFACT_PATH}`,
      runId,
    });
  } catch (error) {
    if (!isRegistryError(error)) throw error;
    // The run is FINISHED and complete either way; only the registration is in doubt (a lost answer may have done it).
    throw new RegistryError(
      error.code,
      `Run ${runId} is FINISHED with its model logged, but its registration as a version of '${modelName}' was not confirmed: ${error.message}`,
      {
        cause: error,
        hint:
          `Once the registry is back, 'streamflow models show ${modelName}' shows whether a version from run ${runId} exists; ` +
          `if none does, run train again to register a new one${error.hint ? `. ${error.hint}` : "."}`,
        details: {
          ...error.details,
          run_id: runId,
          run_status: "FINISHED",
          model_name: modelName,
          registered: false,
        },
        ...(error.httpStatus === undefined
          ? {}
          : { httpStatus: error.httpStatus }),
      },
    );
  }
  return {
    training,
    registered: {
      runId,
      experimentId,
      modelName,
      modelVersion: version.version,
      trackingUri,
    },
  };
}

/** Params, metrics, tags, the model folder, the other files and the logged-model record. */
async function logTraining(
  registry: Registry,
  runId: string,
  training: TrainingOutcome,
): Promise<void> {
  await registry.logBatch({
    runId,
    params: Object.fromEntries(
      Object.entries(training.params).map(([k, v]) => [
        k,
        v === null ? "None" : String(v),
      ]),
    ),
    metrics: Object.entries(training.runMetrics).map(([key, value]) => ({
      key,
      value,
    })),
    tags: {
      "streamflow.dataset_fingerprint": training.datasetFingerprint,
      "streamflow.feature_repository": training.repositoryHash,
      [MODEL_SHA256_TAG]: training.modelSha256,
      "streamflow.toolkit_version": TOOLKIT_VERSION,
    },
  });
  const modelDir = join(training.outDir, MODEL_ARTIFACT_PATH);
  const written = await writeModelDirectory({
    dir: modelDir,
    runId,
    model: training.model,
    modelText: training.modelText,
    columns: training.featureColumns,
    createdAt: new Date(),
  });
  await registry.logArtifacts({
    runId,
    localDir: modelDir,
    artifactPath: MODEL_ARTIFACT_PATH,
  });
  for (const file of training.files.filter((f) => f !== MODEL_FILE)) {
    await registry.logArtifact({
      runId,
      localPath: join(training.outDir, file),
    });
  }
  await registry.recordLoggedModel(runId, {
    artifact_path: MODEL_ARTIFACT_PATH,
    flavors: written.flavors,
    utc_time_created: written.utcTimeCreated,
    run_id: runId,
  });
}
