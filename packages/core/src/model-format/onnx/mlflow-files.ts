/**
 * The files of an MLflow model directory holding the ONNX export: what `mlflow.onnx.save_model`
 * would write (an `onnx` and a `python_function` flavour over `model.onnx` at the root), so
 * `mlflow.pyfunc.load_model`, `mlflow models predict` and `mlflow models serve` run it with
 * onnxruntime. A pure function: the caller decides where the files go.
 */
import type { StreamflowModel } from "../model-file.ts";
import { exportOnnxModel, ONNX_OUTPUTS } from "./export-onnx.ts";
import type { OnnxInput } from "./preprocessing-graph.ts";

/** The versions the export was tested with (scripts/mlflow-venv.sh, 3.x line). */
export const MLFLOW_ONNX_REQUIREMENTS: readonly string[] = Object.freeze([
  "mlflow==3.17.2",
  "onnx==1.23.2",
  "onnxruntime==1.32.0",
]);

export interface MlflowOnnxFilesOptions {
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

function tensorSpec(name: string, dtype: string): unknown {
  return { name, type: "tensor", "tensor-spec": { dtype, shape: [-1] } };
}

/**
 * A tensor signature with one named [-1] spec per input, not a column signature: for a DataFrame,
 * MLflow then converts each column with `np.array(column, dtype)`, so an int64 column reaches a
 * double input, and a boolean column reaches its string input as "True"/"False" whether the
 * batch holds a None (object dtype) or not (bool dtype). A column signature passes bool columns
 * through unconverted, which a string input refuses.
 */
function signature(inputs: readonly OnnxInput[]): {
  inputs: string;
  outputs: string;
} {
  return {
    inputs: JSON.stringify(inputs.map((i) => tensorSpec(i.name, i.numpyType))),
    outputs: JSON.stringify([
      tensorSpec(ONNX_OUTPUTS.label, "int64"),
      tensorSpec(ONNX_OUTPUTS.probability, "float64"),
    ]),
  };
}

/**
 * The ONNX export and the MLflow files around it. Numeric columns are double inputs (MLflow's
 * signature casts integer columns to them, and a missing value arrives as NaN and gets the median).
 * @throws CoreError INVALID_ARGUMENT as exportOnnxModel.
 */
export function mlflowOnnxFiles(
  model: StreamflowModel,
  options: MlflowOnnxFilesOptions = {},
): MlflowOnnxFiles {
  const exported = exportOnnxModel(model);
  const python = options.pythonVersion ?? "3.11.7";
  const requirements = options.requirements ?? MLFLOW_ONNX_REQUIREMENTS;
  const mlflowPin = requirements.find((r) => r.startsWith("mlflow=="));
  const sig = signature(exported.inputs);
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
