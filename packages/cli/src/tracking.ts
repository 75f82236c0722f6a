import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, TOOLKIT_VERSION } from "@streamflow/core";
import { FEATURE_COLUMNS, type ColumnType } from "@streamflow/features";
import type { Registry } from "@streamflow/registry-client";
import type { CommandContext } from "./context.ts";
import type { TrainingOutcome } from "./training.ts";
import { MODEL_SHA256_TAG } from "@streamflow/serving";

/** What MLflow knows of a tracked training: where to find the run and the registered version. */
export interface TrackedRun {
  runId: string;
  experimentId: string;
  modelName: string;
  modelVersion: string;
  trackingUri: string;
}

const MLFLOW_TYPE: Record<ColumnType, string> = { integer: "long", double: "double", boolean: "boolean", text: "string", date: "datetime" };

/** MLflow's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
function mlflowTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "000");
}

/** The MLmodel file, so MLflow's UI and clients see a model with our flavour and a 14-input signature. */
function mlmodelYaml(runId: string, created: string): { text: string; flavors: Record<string, unknown> } {
  const inputs = FEATURE_COLUMNS.map((c) => ({ type: MLFLOW_TYPE[c.type], name: c.name, required: !c.nullable }));
  const flavors = {
    streamflow: { model_file: "model.json", format: MODEL_FORMAT, format_version: MODEL_FORMAT_VERSION, toolkit_version: TOOLKIT_VERSION },
  };
  // JSON strings are valid YAML scalars; MLflow itself stores the signature as JSON text.
  const text = [
    "artifact_path: model",
    "flavors:",
    "  streamflow:",
    `    format: ${MODEL_FORMAT}`,
    `    format_version: ${MODEL_FORMAT_VERSION}`,
    "    model_file: model.json",
    `    toolkit_version: ${JSON.stringify(TOOLKIT_VERSION)}`,
    `model_uuid: ${randomUUID().replace(/-/g, "")}`,
    `run_id: ${runId}`,
    "signature:",
    `  inputs: ${JSON.stringify(JSON.stringify(inputs))}`,
    `  outputs: ${JSON.stringify(JSON.stringify([{ type: "long", name: "prediction", required: true }]))}`,
    "  params: null",
    `utc_time_created: '${created}'`,
    "",
  ].join("\n");
  return { text, flavors };
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
 * Runs `train` as an MLflow run (or a local-registry run): created first, so that any failure
 * — bad data, a server error mid-upload — ends it FAILED instead of leaving it RUNNING.
 */
export async function trackTraining(
  ctx: CommandContext,
  { registry, experiment, modelName, runName, train }: { registry: Registry; experiment: string; modelName: string; runName: string; train: () => Promise<TrainingOutcome> },
): Promise<{ outcome: TrainingOutcome; tracked: TrackedRun }> {
  const info = await registry.describe();
  const exp = await registry.getOrCreateExperiment(experiment);
  const commit = await gitCommit(ctx.io.cwd);
  const run = await registry.createRun({
    experimentId: exp.experimentId,
    runName,
    tags: { "mlflow.source.type": "LOCAL", "mlflow.source.name": "streamflow train", ...(commit ? { "mlflow.source.git.commit": commit } : {}) },
  });
  const runId = run.info.runId;
  ctx.logger.info(`tracking run ${runId} (${runName}) in experiment '${experiment}' on ${info.location}`);
  try {
    const outcome = await train();
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
    const created = mlflowTime(new Date());
    const modelDir = join(outcome.outDir, "model");
    await mkdir(modelDir, { recursive: true });
    const mlmodel = mlmodelYaml(runId, created);
    await writeFile(join(modelDir, "MLmodel"), mlmodel.text);
    await copyFile(join(outcome.outDir, "model.json"), join(modelDir, "model.json"));
    await registry.logArtifacts({ runId, localDir: modelDir, artifactPath: "model" });
    for (const file of outcome.files.filter((f) => f !== "model.json")) {
      await registry.logArtifact({ runId, localPath: join(outcome.outDir, file) });
    }
    await registry.recordLoggedModel(runId, { artifact_path: "model", flavors: mlmodel.flavors, utc_time_created: created, run_id: runId });
    await registry.getOrCreateRegisteredModel(modelName);
    const version = await registry.createModelVersion({ name: modelName, source: `${run.info.artifactUri}/model`, runId });
    await registry.terminateRun(runId, "FINISHED");
    return {
      outcome,
      tracked: { runId, experimentId: exp.experimentId, modelName, modelVersion: version.version, trackingUri: info.location },
    };
  } catch (error) {
    await registry.terminateRun(runId, "FAILED").catch((cause: unknown) => {
      ctx.logger.warn(`could not mark run ${runId} FAILED: ${(cause as Error).message}`);
    });
    throw error;
  }
}
