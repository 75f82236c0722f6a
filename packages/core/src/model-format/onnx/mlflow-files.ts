/**
 * The files of an MLflow model directory holding the ONNX export: what `mlflow.onnx.save_model`
 * would write (an `onnx` and a `python_function` flavour over `model.onnx` at the root), so
 * `mlflow.pyfunc.load_model`, `mlflow models predict` and `mlflow models serve` run it with
 * onnxruntime. A pure function: the caller decides where the files go.
 */
import type { StreamflowModel } from "../model-file.ts";
import {
  exportOnnxModel,
  ONNX_OUTPUTS,
  type ExportOnnxOptions,
} from "./export-onnx.ts";
import type { OnnxColumn } from "./preprocessing-graph.ts";

/** The versions the export was tested with (scripts/mlflow-venv.sh, 3.x line). */
export const MLFLOW_ONNX_REQUIREMENTS: readonly string[] = Object.freeze([
  "mlflow==3.17.2",
  "onnx==1.23.2",
  "onnxruntime==1.32.0",
]);

export interface MlflowOnnxFilesOptions extends ExportOnnxOptions {
  /** MLmodel's `artifact_path`. @default "model" */
  artifactPath?: string;
  /** MLmodel's `run_id`; left out when absent. */
  runId?: string;
  /** MLmodel's `model_uuid` (32 hex digits); left out when absent. */
  modelUuid?: string;
  /** MLmodel's `utc_time_created`, e.g. "2026-12-02 16:00:00.000000"; left out when absent, so the files stay a function of the model. */
  utcTimeCreated?: string;
  /** python_env.yaml's interpreter and the flavour's python_version. @default "3.11.7" */
  pythonVersion?: string;
  /** requirements.txt lines. @default MLFLOW_ONNX_REQUIREMENTS */
  requirements?: readonly string[];
  /**
   * More flavours beside `onnx` and `python_function`, e.g. the toolkit's own over its model
   * file in the same directory; values are written as quoted YAML scalars.
   */
  extraFlavors?: Readonly<
    Record<string, Readonly<Record<string, string | number>>>
  >;
}

/** File name → content, every name directly in the model directory. */
export interface MlflowOnnxFiles {
  "model.onnx": Uint8Array;
  MLmodel: string;
  "requirements.txt": string;
  "python_env.yaml": string;
}

/** onnx.proto version of onnx-buf, which wrote the bytes; MLflow records it as the flavour's onnx_version. */
const ONNX_PROTO_VERSION = "1.20.0";

/** A YAML single-quoted scalar: no escapes but '' for '. */
function quoted(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A column signature, in the input's column order: MLflow checks each DataFrame column's type
 * against it, reorders the columns to it and drops others before the one-input model gets
 * `DataFrame.values`, so the column order of the caller's frame does not matter.
 */
function signature(columns: readonly OnnxColumn[]): {
  inputs: string;
  outputs: string;
} {
  return {
    inputs: JSON.stringify(
      columns.map((c) => ({
        type: c.mlflowType,
        name: c.name,
        required: true,
      })),
    ),
    outputs: JSON.stringify([
      { type: "long", name: ONNX_OUTPUTS.label, required: true },
      { type: "double", name: ONNX_OUTPUTS.probability, required: true },
    ]),
  };
}

/**
 * The ONNX export and the MLflow files around it; pass `columns` so integer columns are declared
 * `long` (else MLflow refuses an int64 DataFrame column for a `double` one).
 * @throws CoreError INVALID_ARGUMENT as exportOnnxModel.
 */
export function mlflowOnnxFiles(
  model: StreamflowModel,
  options: MlflowOnnxFilesOptions = {},
): MlflowOnnxFiles {
  const exported = exportOnnxModel(model, { columns: options.columns });
  const python = options.pythonVersion ?? "3.11.7";
  const requirements = options.requirements ?? MLFLOW_ONNX_REQUIREMENTS;
  const mlflowPin = requirements.find((r) => r.startsWith("mlflow=="));
  const sig = signature(exported.columns);
  const lines = [
    `artifact_path: ${quoted(options.artifactPath ?? "model")}`,
    "flavors:",
    "  onnx:",
    "    code: null",
    "    data: model.onnx",
    `    onnx_version: ${quoted(ONNX_PROTO_VERSION)}`,
    "    providers:",
    "    - CPUExecutionProvider",
    "  python_function:",
    "    data: model.onnx",
    "    env:",
    "      virtualenv: python_env.yaml",
    "    loader_module: mlflow.onnx",
    `    python_version: ${quoted(python)}`,
    ...Object.entries(options.extraFlavors ?? {}).flatMap(
      ([flavor, fields]) => [
        `  ${flavor}:`,
        ...Object.entries(fields).map(
          ([key, value]) =>
            `    ${key}: ${typeof value === "number" ? String(value) : quoted(value)}`,
        ),
      ],
    ),
    ...(mlflowPin === undefined
      ? []
      : [`mlflow_version: ${quoted(mlflowPin.slice("mlflow==".length))}`]),
    ...(options.modelUuid === undefined
      ? []
      : [`model_uuid: ${quoted(options.modelUuid)}`]),
    ...(options.runId === undefined
      ? []
      : [`run_id: ${quoted(options.runId)}`]),
    "signature:",
    `  inputs: ${quoted(sig.inputs)}`,
    `  outputs: ${quoted(sig.outputs)}`,
    "  params: null",
    ...(options.utcTimeCreated === undefined
      ? []
      : [`utc_time_created: ${quoted(options.utcTimeCreated)}`]),
  ];
  const pythonEnv = [
    `python: ${quoted(python)}`,
    "build_dependencies:",
    "- pip",
    "- setuptools",
    "- wheel",
    "dependencies:",
    "- -r requirements.txt",
  ];
  return {
    "model.onnx": exported.bytes,
    MLmodel: `${lines.join("\n")}\n`,
    "requirements.txt": `${requirements.join("\n")}\n`,
    "python_env.yaml": `${pythonEnv.join("\n")}\n`,
  };
}
