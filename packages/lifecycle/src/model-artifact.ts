import { createHash, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, TOOLKIT_VERSION } from "@streamflow/core";
import type { ColumnSpec, ColumnType } from "@streamflow/features";

/**
 * The model artifact contract, in one place: a registered version's `model/` folder holds
 * `model.json` and an `MLmodel`, and its run carries the sha256 of `model.json` under this tag.
 * Every load (serve, promote, score) verifies the file against it.
 */
export const MODEL_SHA256_TAG = "streamflow.model_sha256";
/** The run artifact folder a version's source points at. */
export const MODEL_ARTIFACT_PATH = "model";
export const MODEL_FILE = "model.json";

export function sha256Hex(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

const MLFLOW_TYPE: Record<ColumnType, string> = { integer: "long", double: "double", boolean: "boolean", text: "string", date: "datetime" };

/** MLflow's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
function mlflowTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "000");
}

export interface WriteModelDirectoryOptions {
  /** Folder to create; it receives `model.json` and `MLmodel`. */
  dir: string;
  runId: string;
  /** The serialised model, written byte for byte (its sha256 is what the run records). */
  modelText: string;
  /** The model's input columns as the feature store declares them, for the MLflow signature. */
  columns: readonly Pick<ColumnSpec, "name" | "type" | "nullable">[];
  createdAt: Date;
}

/** What MLflow's logged-model record needs: the flavours and the creation time as written in `MLmodel`. */
export interface ModelDirectory {
  flavors: Record<string, unknown>;
  utcTimeCreated: string;
}

/** Writes the folder logged as a version's `model/` artifacts, so MLflow's UI and clients see our flavour and a typed signature. */
export async function writeModelDirectory(options: WriteModelDirectoryOptions): Promise<ModelDirectory> {
  const created = mlflowTime(options.createdAt);
  const inputs = options.columns.map((c) => ({ type: MLFLOW_TYPE[c.type], name: c.name, required: !c.nullable }));
  const flavors = {
    streamflow: { model_file: MODEL_FILE, format: MODEL_FORMAT, format_version: MODEL_FORMAT_VERSION, toolkit_version: TOOLKIT_VERSION },
  };
  // JSON strings are valid YAML scalars; MLflow itself stores the signature as JSON text.
  const mlmodel = [
    `artifact_path: ${MODEL_ARTIFACT_PATH}`,
    "flavors:",
    "  streamflow:",
    `    format: ${MODEL_FORMAT}`,
    `    format_version: ${MODEL_FORMAT_VERSION}`,
    `    model_file: ${MODEL_FILE}`,
    `    toolkit_version: ${JSON.stringify(TOOLKIT_VERSION)}`,
    `model_uuid: ${randomUUID().replace(/-/g, "")}`,
    `run_id: ${options.runId}`,
    "signature:",
    `  inputs: ${JSON.stringify(JSON.stringify(inputs))}`,
    `  outputs: ${JSON.stringify(JSON.stringify([{ type: "long", name: "prediction", required: true }]))}`,
    "  params: null",
    `utc_time_created: '${created}'`,
    "",
  ].join("\n");
  await mkdir(options.dir, { recursive: true });
  await writeFile(join(options.dir, MODEL_FILE), options.modelText);
  await writeFile(join(options.dir, "MLmodel"), mlmodel);
  return { flavors, utcTimeCreated: created };
}
