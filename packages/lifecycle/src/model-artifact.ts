import { createHash, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  mlflowOnnxFiles,
  TOOLKIT_VERSION,
  type StreamflowModel,
  type TypedColumn,
} from "@streamflow/core";

/**
 * The model artifact contract, in one place: a registered version's `model/` folder holds
 * `model.json` (what StreamFlow loads), `model.onnx` with the MLflow files around it (what Python
 * loads: `mlflow.pyfunc.load_model("models:/…")`) and one `MLmodel` naming all three flavours;
 * its run carries the sha256 of `model.json` under this tag. Every load (serve, promote, score)
 * verifies the file against it.
 */
export const MODEL_SHA256_TAG = "streamflow.model_sha256";
/** The run artifact folder a version's source points at. */
export const MODEL_ARTIFACT_PATH = "model";
export const MODEL_FILE = "model.json";

export function sha256Hex(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/** MLflow's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
function mlflowTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "000");
}

export interface WriteModelDirectoryOptions {
  /** Folder to create; it receives `model.json`, `model.onnx`, `MLmodel`, `requirements.txt`, `python_env.yaml`. */
  dir: string;
  runId: string;
  model: StreamflowModel;
  /** The serialised model, written byte for byte (its sha256 is what the run records). */
  modelText: string;
  /** The model's input columns as the feature store declares them: integers become `long` in the signature. */
  columns: readonly TypedColumn[];
  createdAt: Date;
}

/** What MLflow's logged-model record needs: the flavours and the creation time as written in `MLmodel`. */
export interface ModelDirectory {
  flavors: Record<string, unknown>;
  utcTimeCreated: string;
  files: string[];
  /** Size of `model.onnx` in bytes. */
  onnxBytes: number;
}

/** Writes the folder logged as a version's `model/` artifacts. */
export async function writeModelDirectory(
  options: WriteModelDirectoryOptions,
): Promise<ModelDirectory> {
  const utcTimeCreated = mlflowTime(options.createdAt);
  const streamflow = {
    model_file: MODEL_FILE,
    format: MODEL_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    toolkit_version: TOOLKIT_VERSION,
  };
  const onnx = mlflowOnnxFiles(options.model, {
    columns: options.columns,
    artifactPath: MODEL_ARTIFACT_PATH,
    runId: options.runId,
    modelUuid: randomUUID().replace(/-/g, ""),
    utcTimeCreated,
    extraFlavors: { streamflow },
  });
  const files: Record<string, string | Uint8Array> = {
    [MODEL_FILE]: options.modelText,
    ...onnx,
  };
  await mkdir(options.dir, { recursive: true });
  for (const [name, content] of Object.entries(files))
    await writeFile(join(options.dir, name), content);
  return {
    flavors: {
      onnx: {
        data: "model.onnx",
        providers: ["CPUExecutionProvider"],
        code: null,
      },
      python_function: {
        data: "model.onnx",
        loader_module: "mlflow.onnx",
        env: { virtualenv: "python_env.yaml" },
      },
      streamflow,
    },
    utcTimeCreated,
    files: Object.keys(files),
    onnxBytes: onnx["model.onnx"].byteLength,
  };
}
