/**
 * ONNX export of a StreamflowModel: the preprocessor and the forest in one graph, so Python users
 * score raw features with onnxruntime or MLflow's onnx flavour and get predictProba's numbers.
 *
 * The graph's contract: one input `features`, tensor(string) [N, nColumns], the raw columns in
 * the order of `columns` (the schema's text, numeric, then boolean columns), each cell as text —
 * what onnxruntime makes of a pandas DataFrame's `.values`. (A model of numeric columns only
 * takes tensor(double) instead.)
 * - text column: a training category one-hot encodes; any other text encodes to all zeros (an
 *   unknown category). "None", "nan" and "" are NULL, which gets the column's NULL indicator when
 *   training saw NULL, else all zeros — unless one of them was itself a training category.
 * - numeric column: parsed as a double ("3", "20.5", "1e-3", "inf"); NULL text or NaN gets the
 *   training median.
 * - boolean column: "True"/"False" (str() of a Python bool; also true/false, t/f, 1/0, 1.0/0.0,
 *   yes/no) are the values, any other text is NULL (its own indicator when training saw NULL,
 *   else false, as the preprocessor). Its MLflow type is `boolean`, or `string` when training saw
 *   NULL (MLflow's JSON parsing would turn NULL into false): from pandas, pass such a column as
 *   object dtype (True/False/None); MLflow refuses a bool-dtype column for it.
 * - outputs: `p_churn` double [N] (predictProba's value: same summands, same rounding, up to
 *   summation order) and `label` int64 [N], the positive class when p_churn > 0.5.
 * Where it differs from the preprocessor, which throws instead: an unrecognised boolean text is
 * NULL here, ±Infinity passes through, text is matched exactly (no trimming or lower-casing), and
 * a numeric cell that is not a number makes onnxruntime fail the whole batch.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { CoreError } from "../../errors.ts";
import type { TypedColumn } from "../../preprocessing/columns.ts";
import { TOOLKIT_VERSION } from "../../version.ts";
import { DECISION_THRESHOLD, type StreamflowModel } from "../model-file.ts";
import { buildForestGraph, type ForestGraphStats } from "./forest-graph.ts";
import {
  DataType,
  doubleTensor,
  GraphBuilder,
  int64Tensor,
  ML_DOMAIN,
  node,
  valueInfo,
} from "./graph-builder.ts";
import {
  buildPreprocessingGraph,
  type OnnxColumn,
} from "./preprocessing-graph.ts";

/**
 * IR 10 and the opsets of ONNX 1.16, the release that added TreeEnsemble (ml opset 5);
 * onnxruntime 1.32 and onnx ≥ 1.16 read them.
 */
export const ONNX_IR_VERSION = 10;
export const ONNX_OPSET = 21;
export const ONNX_ML_OPSET = 5;

/** Name of the graph's one input. */
export const ONNX_INPUT = "features";

/** Names of the graph's two [N] outputs. */
export const ONNX_OUTPUTS = Object.freeze({
  label: "label",
  probability: "p_churn",
});

export interface ExportOnnxOptions {
  /**
   * Column types as the feature store gives them (`featureSchemaFromColumns`'s input). A numeric
   * column typed `integer` is declared `long` in the MLflow signature (pandas holds an integer
   * column without NULL as int64, which MLflow refuses for `double`); the graph is the same.
   * @default every numeric column `double`
   */
  columns?: readonly TypedColumn[];
}

export interface OnnxExport {
  /** The serialised ModelProto; the same model and options always give the same bytes. */
  bytes: Uint8Array;
  /** The input's columns in order, with their MLflow signature types. */
  columns: readonly OnnxColumn[];
  forest: ForestGraphStats;
}

function integerColumns(
  model: StreamflowModel,
  columns: readonly TypedColumn[] | undefined,
): Set<string> {
  const integers = new Set<string>();
  const numeric = new Set(model.preprocessor.schema.numeric_cols);
  for (const c of columns ?? []) {
    if (!numeric.has(c.name)) continue;
    if (c.type !== "integer" && c.type !== "double") {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `column '${c.name}' is numeric in the model but typed '${c.type}' in the export options`,
        {
          hint: "Pass the columns the model was trained on, or leave the column out to declare it double.",
        },
      );
    }
    if (c.type === "integer") integers.add(c.name);
  }
  return integers;
}

/**
 * The model as an ONNX graph: raw features in (one [N, nColumns] input), preprocessing and forest
 * inside, `label` (int64 [N]) and `p_churn` (double [N], predictProba's value) out.
 * @throws CoreError INVALID_ARGUMENT for a forest of more than two classes, non-integer class
 * labels, or a column type that contradicts the model's schema.
 */
export function exportOnnxModel(
  model: StreamflowModel,
  options: ExportOnnxOptions = {},
): OnnxExport {
  const classes = model.forest.classes;
  if (!classes.every((c) => Number.isSafeInteger(c))) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `ONNX export needs integer class labels for the int64 label output, got ${classes.join(", ")}`,
    );
  }
  const b = new GraphBuilder();
  b.reserve([ONNX_INPUT, ONNX_OUTPUTS.label, ONNX_OUTPUTS.probability]);
  const pre = buildPreprocessingGraph({
    builder: b,
    preprocessing: model.preprocessor.toJSON(),
    integerColumns: integerColumns(model, options.columns),
    input: ONNX_INPUT,
  });
  const ensemble = buildForestGraph({
    builder: b,
    forest: model.forest,
    features: pre.features,
  });
  // MLflow makes every output of a DataFrame prediction a column, so both are [N].
  const axes = b.constant("axis_1", int64Tensor([1]));
  b.nodes.push(
    node({
      op: "Squeeze",
      inputs: [ensemble.output, axes],
      outputs: [ONNX_OUTPUTS.probability],
    }),
  );
  const positive = b.add({
    op: "Greater",
    inputs: [
      ONNX_OUTPUTS.probability,
      b.constant("threshold", doubleTensor([DECISION_THRESHOLD], [])),
    ],
    output: "positive",
  });
  b.nodes.push(
    node({
      op: "Where",
      inputs: [
        positive,
        b.constant("class_1", int64Tensor([classes[1] as number], [])),
        b.constant("class_0", int64Tensor([classes[0] as number], [])),
      ],
      outputs: [ONNX_OUTPUTS.label],
    }),
  );

  const proto = create(ModelProtoSchema, {
    irVersion: BigInt(ONNX_IR_VERSION),
    opsetImport: [
      { domain: "", version: BigInt(ONNX_OPSET) },
      { domain: ML_DOMAIN, version: BigInt(ONNX_ML_OPSET) },
    ],
    producerName: "streamflow",
    producerVersion: TOOLKIT_VERSION,
    docString:
      "StreamFlow churn model: preprocessing and random forest; outputs label and p_churn.",
    graph: {
      name: "streamflow_churn",
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(ONNX_INPUT, pre.inputType, pre.columns.length)],
      output: [
        valueInfo(ONNX_OUTPUTS.label, DataType.INT64),
        valueInfo(ONNX_OUTPUTS.probability, DataType.DOUBLE),
      ],
    },
  });
  return {
    bytes: toBinary(ModelProtoSchema, proto),
    columns: pre.columns,
    forest: ensemble.stats,
  };
}

/**
 * The model as ONNX bytes (see exportOnnxModel); the same model and options give the same bytes.
 * @throws CoreError INVALID_ARGUMENT as exportOnnxModel.
 */
export function exportOnnx(
  model: StreamflowModel,
  options: ExportOnnxOptions = {},
): Uint8Array {
  return exportOnnxModel(model, options).bytes;
}
