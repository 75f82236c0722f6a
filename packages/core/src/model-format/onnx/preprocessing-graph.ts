/**
 * The preprocessor as ONNX nodes: one typed graph input per feature, encoded column by column
 * exactly as Preprocessor.transform does, and joined into the forest's [N, nFeatures] double input.
 */
import { CoreError } from "../../errors.ts";
import type { PreprocessorJSON } from "../../preprocessing/preprocessor.ts";
import {
  DataType,
  doubleTensor,
  int64Tensor,
  ML_DOMAIN,
  valueInfo,
  type GraphBuilder,
} from "./graph-builder.ts";
import type { ValueInfoProto } from "onnx-buf";

/** How a numeric column enters the graph: `double` accepts NaN for NULL; `integer` is int64 and cannot be NULL. */
export type OnnxNumericType = "double" | "integer";

/** One graph input, with the MLflow tensor-spec dtype a caller feeds it with. */
export interface OnnxInput {
  name: string;
  /** numpy dtype name for the MLflow signature: float64, int64 or object (strings). */
  numpyType: "float64" | "int64" | "object";
}

/**
 * Texts a boolean input reads as true / false: Python's str() of a bool (what onnxruntime makes of
 * an object array), the preprocessor's accepted spellings, and str() of the floats 1.0 / 0.0.
 * Anything else — "None", "nan", "" — is NULL.
 */
export const BOOLEAN_TRUE_TEXT = ["True", "true", "t", "1", "1.0", "yes"];
export const BOOLEAN_FALSE_TEXT = ["False", "false", "f", "0", "0.0", "no"];

/**
 * Texts a categorical input reads as NULL: str() of Python's None and of a float NaN (a missing
 * CSV cell in pandas) — unless training saw them as real categories.
 */
export const CATEGORICAL_NULL_TEXT = ["None", "nan"];

const NO_CODE = -1;

interface PreprocessingGraphOptions {
  builder: GraphBuilder;
  preprocessing: PreprocessorJSON;
  numericTypes: ReadonlyMap<string, OnnxNumericType>;
}

export interface PreprocessingGraph {
  inputs: OnnxInput[];
  inputInfos: ValueInfoProto[];
  /** Name of the [N, nFeatures] double value. */
  features: string;
  width: number;
}

/** [N] value → [N, 1]. */
function column(b: GraphBuilder, value: string, hint: string): string {
  const axes = b.constant("axis_1", int64Tensor([1]));
  return b.add({
    op: "Unsqueeze",
    inputs: [value, axes],
    output: `${hint}_col`,
  });
}

/**
 * Strings → int64 codes (unmatched → NO_CODE), then one double 0/1 column per wanted code:
 * `Equal([N, 1], [1, k])` broadcasts to the one-hot block.
 */
interface OneHotSpec {
  input: string;
  /** Texts and the code each maps to. */
  keys: readonly string[];
  codes: readonly number[];
  /** Codes that get a column, in column order. */
  wanted: readonly number[];
}

function oneHot(
  b: GraphBuilder,
  { input, keys, codes, wanted }: OneHotSpec,
): string {
  const coded = b.add({
    op: "LabelEncoder",
    domain: ML_DOMAIN,
    inputs: [input],
    output: `${input}_code`,
    attributes: {
      keys_strings: keys,
      values_int64s: codes,
      default_int64: NO_CODE,
    },
  });
  const row = b.constant(
    `${input}_codes`,
    int64Tensor(wanted, [1, wanted.length]),
  );
  const hit = b.add({
    op: "Equal",
    inputs: [column(b, coded, input), row],
    output: `${input}_hit`,
  });
  return b.add({
    op: "Cast",
    inputs: [hit],
    output: `${input}_onehot`,
    attributes: { to: DataType.DOUBLE },
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function buildPreprocessingGraph({
  builder: b,
  preprocessing,
  numericTypes,
}: PreprocessingGraphOptions): PreprocessingGraph {
  const inputs: OnnxInput[] = [];
  const inputInfos: ValueInfoProto[] = [];
  const blocks: string[] = [];
  let width = 0;
  const declare = (
    name: string,
    elemType: DataType,
    numpyType: OnnxInput["numpyType"],
  ) => {
    b.reserve([name]);
    inputs.push({ name, numpyType });
    inputInfos.push(valueInfo(name, elemType));
  };

  for (const c of preprocessing.categorical) {
    declare(c.name, DataType.STRING, "object");
    const n = c.categories.length;
    const keys = [...c.categories];
    const codes = range(n);
    if (c.hasNull) {
      for (const t of CATEGORICAL_NULL_TEXT) {
        if (c.categories.includes(t)) continue;
        keys.push(t);
        codes.push(n);
      }
    }
    const w = n + (c.hasNull ? 1 : 0);
    // Only a hand-made preprocessing JSON can have a column with no encoded width; skip it.
    if (w === 0) continue;
    blocks.push(oneHot(b, { input: c.name, keys, codes, wanted: range(w) }));
    width += w;
  }

  for (const c of preprocessing.numeric) {
    const type = numericTypes.get(c.name) ?? "double";
    if (type === "integer") {
      declare(c.name, DataType.INT64, "int64");
      const asDouble = b.add({
        op: "Cast",
        inputs: [c.name],
        output: `${c.name}_double`,
        attributes: { to: DataType.DOUBLE },
      });
      blocks.push(column(b, asDouble, c.name));
    } else {
      declare(c.name, DataType.DOUBLE, "float64");
      const isNan = b.add({
        op: "IsNaN",
        inputs: [c.name],
        output: `${c.name}_isnan`,
      });
      const median = b.constant(
        `${c.name}_median`,
        doubleTensor([c.median], []),
      );
      const imputed = b.add({
        op: "Where",
        inputs: [isNan, median, c.name],
        output: `${c.name}_imputed`,
      });
      blocks.push(column(b, imputed, c.name));
    }
    width += 1;
  }

  // Booleans are string inputs whether or not training saw NULL: pandas gives a boolean column
  // holding a None the object dtype, and an MLflow tensor spec of dtype object turns True/False
  // into "True"/"False" for every batch, so one input type serves batches with and without NULL.
  for (const c of preprocessing.boolean) {
    declare(c.name, DataType.STRING, "object");
    const keys = [...BOOLEAN_TRUE_TEXT, ...BOOLEAN_FALSE_TEXT];
    const codes = [
      ...BOOLEAN_TRUE_TEXT.map(() => 1),
      ...BOOLEAN_FALSE_TEXT.map(() => 0),
    ];
    // The value column is 1 only for true (NULL → 0, as the preprocessor); the NULL column is 1
    // for anything that is neither true nor false.
    const wanted = c.hasNull ? [1, NO_CODE] : [1];
    blocks.push(oneHot(b, { input: c.name, keys, codes, wanted }));
    width += wanted.length;
  }

  if (blocks.length === 0) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      "the model's preprocessing produces no column, so there is nothing to export",
    );
  }
  const features =
    blocks.length === 1
      ? (blocks[0] as string)
      : b.add({
          op: "Concat",
          inputs: blocks,
          output: "features",
          attributes: { axis: 1 },
        });
  return { inputs, inputInfos, features, width };
}
