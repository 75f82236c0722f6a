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
  ATTEMPT_ID_TAG,
  RegistryError,
  isRegistryError,
  newAttemptId,
  type ModelVersion,
  type PendingRunStore,
  type Registry,
  type Run,
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

/** Where runs this process could not end are journaled, so the next command ends them FAILED. */
export interface PendingRunJournal {
  store: PendingRunStore;
  /** The journal's key: the tracking server (credentials removed) or the local registry folder. */
  server: string;
}

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

interface OpenRun {
  experimentId: string;
  attemptId: string;
  runId: string | undefined;
}

/**
 * Records a run this process could not end, so the next command that reaches the same server ends
 * it FAILED; says so. When even the journal cannot be written, says what is left open.
 */
async function leavePending(
  { journal, logger }: { journal: PendingRunJournal; logger: Logger },
  run: OpenRun,
  cause: unknown,
): Promise<void> {
  const which =
    run.runId === undefined
      ? `the run tagged ${ATTEMPT_ID_TAG}=${run.attemptId}`
      : `run ${run.runId}`;
  const reason = (cause as Error).message;
  try {
    await journal.store.add({
      server: journal.server,
      ...run,
      recordedAt: new Date().toISOString(),
      reason,
    });
    logger.warn(
      `could not end ${which} (${reason}); the next streamflow command that reaches ${journal.server} ends it FAILED`,
    );
  } catch (error) {
    logger.warn(
      `could not end ${which} (${reason}), nor record it for later (${(error as Error).message}): end it FAILED in MLflow yourself`,
    );
  }
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
  const runName = trainingRunName(options.asOf, options.labelAsOf);
  const info = await registry.describe();
  const exp = await registry.getOrCreateExperiment(experiment);
  const attemptId = newAttemptId();
  let run: Run;
  try {
    run = await registry.createRun({
      experimentId: exp.experimentId,
      runName,
      tags: {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "streamflow train",
        ...options.tags,
        [ATTEMPT_ID_TAG]: attemptId,
      },
    });
  } catch (error) {
    // The server may have created the run and the answer been lost: an orphan only the attempt id finds.
    await leavePending(
      { journal: pendingRuns, logger },
      { experimentId: exp.experimentId, attemptId, runId: undefined },
      error,
    );
    throw error;
  }
  const runId = run.info.runId;
  logger.info(
    `tracking run ${runId} (${runName}) in experiment '${experiment}' on ${info.location}`,
  );
  let training: TrainingOutcome;
  try {
    training = await trainOnStore(options);
    await logTraining(registry, runId, training);
    await registry.terminateRun(runId, "FINISHED");
  } catch (error) {
    try {
      await registry.terminateRun(runId, "FAILED");
    } catch {
      await leavePending(
        { journal: pendingRuns, logger },
        { experimentId: exp.experimentId, attemptId, runId },
        error,
      );
    }
    throw error;
  }
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
      experimentId: exp.experimentId,
      modelName,
      modelVersion: version.version,
      trackingUri: info.location,
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
