import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TOOLKIT_VERSION } from "@streamflow/core";
import { FEATURE_COLUMNS } from "@streamflow/features";
import { MODEL_ARTIFACT_PATH, MODEL_FILE, MODEL_SHA256_TAG, writeModelDirectory } from "@streamflow/lifecycle";
import { ATTEMPT_ID_TAG, RegistryError, isRegistryError, newAttemptId, type ModelVersion, type Registry, type Run } from "@streamflow/registry-client";
import type { CommandContext } from "./context.ts";
import { pendingRunStore, trackingServer } from "./registry.ts";
import type { TrainingOutcome } from "./training.ts";

/** What MLflow knows of a tracked training: where to find the run and the registered version. */
export interface TrackedRun {
  runId: string;
  experimentId: string;
  modelName: string;
  modelVersion: string;
  trackingUri: string;
}

async function gitCommit(cwd: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], { cwd, timeout: 5_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records a run this process could not end, so the next command that reaches the same server ends
 * it FAILED; says so. When even the journal cannot be written, says what is left open.
 */
async function leavePending(
  ctx: CommandContext,
  run: { experimentId: string; attemptId: string; runId: string | undefined },
  cause: unknown,
): Promise<void> {
  const which = run.runId === undefined ? `the run tagged ${ATTEMPT_ID_TAG}=${run.attemptId}` : `run ${run.runId}`;
  const reason = (cause as Error).message;
  try {
    await pendingRunStore(ctx).add({ server: trackingServer(ctx), ...run, recordedAt: new Date().toISOString(), reason });
    ctx.logger.warn(`could not end ${which} (${reason}); the next streamflow command that reaches ${trackingServer(ctx)} ends it FAILED`);
  } catch (error) {
    ctx.logger.warn(`could not end ${which} (${reason}), nor record it for later (${(error as Error).message}): end it FAILED in MLflow yourself`);
  }
}

/** Ends the run FAILED after `cause`; when that fails too, leaves it for the next command. */
async function endFailed(
  ctx: CommandContext,
  { registry, run }: { registry: Registry; run: { experimentId: string; attemptId: string; runId: string } },
  cause: unknown,
): Promise<void> {
  try {
    await registry.terminateRun(run.runId, "FAILED");
  } catch {
    await leavePending(ctx, run, cause);
  }
}

/**
 * Runs `train` as an MLflow run (or a local-registry run), in an order that keeps run and version
 * states consistent whichever request fails: the run is created first (tagged with an attempt id
 * so it can be found even if its id never comes back), everything is logged, the run is marked
 * FINISHED, and only then is a version registered, so no version ever points at an unfinished run.
 * A run that cannot be ended is recorded in `$STREAMFLOW_HOME` and ended FAILED by the next command.
 */
export async function trackTraining(
  ctx: CommandContext,
  { registry, experiment, modelName, runName, train }: { registry: Registry; experiment: string; modelName: string; runName: string; train: () => Promise<TrainingOutcome> },
): Promise<{ outcome: TrainingOutcome; tracked: TrackedRun }> {
  const info = await registry.describe();
  const exp = await registry.getOrCreateExperiment(experiment);
  const commit = await gitCommit(ctx.io.cwd);
  const attemptId = newAttemptId();
  let run: Run;
  try {
    run = await registry.createRun({
      experimentId: exp.experimentId,
      runName,
      tags: {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "streamflow train",
        ...(commit ? { "mlflow.source.git.commit": commit } : {}),
        [ATTEMPT_ID_TAG]: attemptId,
      },
    });
  } catch (error) {
    // The server may have created the run and the answer been lost: an orphan only the attempt id finds.
    await leavePending(ctx, { experimentId: exp.experimentId, attemptId, runId: undefined }, error);
    throw error;
  }
  const runId = run.info.runId;
  const ids = { experimentId: exp.experimentId, attemptId, runId };
  ctx.logger.info(`tracking run ${runId} (${runName}) in experiment '${experiment}' on ${info.location}`);
  let outcome: TrainingOutcome;
  try {
    outcome = await train();
    await logOutcome(registry, runId, outcome);
    await registry.terminateRun(runId, "FINISHED");
  } catch (error) {
    await endFailed(ctx, { registry, run: ids }, error);
    throw error;
  }
  let version: ModelVersion;
  try {
    await registry.getOrCreateRegisteredModel(modelName);
    version = await registry.getOrCreateModelVersion({ name: modelName, source: `${run.info.artifactUri}/${MODEL_ARTIFACT_PATH}`, runId });
  } catch (error) {
    if (!isRegistryError(error)) throw error;
    // The run is FINISHED and complete either way; only the registration is in doubt (a lost answer may have done it).
    throw new RegistryError(error.code, `Run ${runId} is FINISHED with its model logged, but its registration as a version of '${modelName}' was not confirmed: ${error.message}`, {
      cause: error,
      hint:
        `Once the registry is back, 'streamflow models show ${modelName}' shows whether a version from run ${runId} exists; ` +
        `if none does, run train again to register a new one${error.hint ? `. ${error.hint}` : "."}`,
      details: { ...error.details, run_id: runId, run_status: "FINISHED", model_name: modelName, registered: false },
      ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    });
  }
  return {
    outcome,
    tracked: { runId, experimentId: exp.experimentId, modelName, modelVersion: version.version, trackingUri: info.location },
  };
}

/** Params, metrics, tags, the model folder, the other files and the logged-model record. */
async function logOutcome(registry: Registry, runId: string, outcome: TrainingOutcome): Promise<void> {
  await registry.logBatch({
    runId,
    params: Object.fromEntries(Object.entries(outcome.params).map(([k, v]) => [k, v === null ? "None" : String(v)])),
    metrics: Object.entries(outcome.runMetrics).map(([key, value]) => ({ key, value })),
    tags: {
      "streamflow.dataset_fingerprint": outcome.datasetFingerprint,
      [MODEL_SHA256_TAG]: outcome.modelSha256,
      "streamflow.toolkit_version": TOOLKIT_VERSION,
    },
  });
  const modelDir = join(outcome.outDir, MODEL_ARTIFACT_PATH);
  const written = await writeModelDirectory({
    dir: modelDir,
    runId,
    modelText: await readFile(join(outcome.outDir, MODEL_FILE), "utf8"),
    columns: FEATURE_COLUMNS,
    createdAt: new Date(),
  });
  await registry.logArtifacts({ runId, localDir: modelDir, artifactPath: MODEL_ARTIFACT_PATH });
  for (const file of outcome.files.filter((f) => f !== MODEL_FILE)) {
    await registry.logArtifact({ runId, localPath: join(outcome.outDir, file) });
  }
  await registry.recordLoggedModel(runId, { artifact_path: MODEL_ARTIFACT_PATH, flavors: written.flavors, utc_time_created: written.utcTimeCreated, run_id: runId });
}
