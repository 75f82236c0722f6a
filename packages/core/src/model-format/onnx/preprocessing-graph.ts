/**
 * The preprocessor as ONNX nodes. The graph takes the raw features as one [N, nColumns] input,
 * each column encoded exactly as Preprocessor.transform does and joined into the forest's
 * [N, nFeatures] double input.
 *
 * Why one input and not one per feature: MLflow's onnx flavour feeds a multi-input model each
 * DataFrame column as it is, so a boolean column arrives as bool when the batch has no NULL and as
 * objects when it has one, and no single input type takes both. A one-input model is fed
 * `DataFrame.values`: for a frame mixing text and numbers that is an object array, which
 * onnxruntime turns into str() of every cell ("DSL", "3", "20.5", "True", "None", "nan"), the
 * same way whatever the batch holds. str() of a float is its shortest round-trip form, so parsing
 * it back gives the same double. A model whose columns are all numeric takes doubles instead
 * (DataFrame.values is then a float array), and declares every column `double`.
 */
import { CoreError } from "../../errors.ts";
import type { PreprocessorJSON } from "../../preprocessing/preprocessor.ts";
import {
  DataType,
  doubleTensor,
  int64Tensor,
  ML_DOMAIN,
  stringTensor,
  type GraphBuilder,
} from "./graph-builder.ts";

/** A raw feature column of the graph input, with the MLflow column type its signature declares. */
export interface OnnxColumn {
  name: string;
  mlflowType: "string" | "double" | "long" | "boolean";
}

/**
 * Texts a boolean column reads as true / false: Python's str() of a bool, the preprocessor's
 * accepted spellings, and str() of the floats 1.0 / 0.0. Anything else ("None", "nan", "") is NULL.
 */
export const BOOLEAN_TRUE_TEXT = ["True", "true", "t", "1", "1.0", "yes"];
export const BOOLEAN_FALSE_TEXT = ["False", "false", "f", "0", "0.0", "no"];

/**
 * Texts that are NULL in a text or numeric column: str() of Python's None and of a float NaN (a
 * missing CSV cell in pandas), and the empty text. In a text column they are categories instead
 * when training saw them as such.
 */
export const NULL_TEXT = ["None", "nan", ""];

const NO_CODE = -1;

interface PreprocessingGraphOptions {
  builder: GraphBuilder;
  preprocessing: PreprocessorJSON;
  /** Numeric columns that hold integers: declared `long` in the signature. */
  integerColumns: ReadonlySet<string>;
  /** Name of the [N, nColumns] input. */
  input: string;
}

export interface PreprocessingGraph {
  columns: OnnxColumn[];
  /** DataType.STRING, or DataType.DOUBLE when every column is numeric. */
  inputType: DataType;
  /** Name of the [N, nFeatures] double value. */
  features: string;
}

/** [N] value → [N, 1]. */
function asColumn(b: GraphBuilder, value: string, hint: string): string {
  return b.add({
    op: "Unsqueeze",
    inputs: [value, b.constant("axis_1", int64Tensor([1]))],
    output: `${hint}_col`,
  });
}

interface CodeSpec {
  value: string;
  hint: string;
  /** Texts and the code each maps to; any other text gets NO_CODE. */
  keys: readonly string[];
  codes: readonly number[];
}

function encode(
  b: GraphBuilder,
  { value, hint, keys, codes }: CodeSpec,
): string {
  return b.add({
    op: "LabelEncoder",
    domain: ML_DOMAIN,
    inputs: [value],
    output: `${hint}_code`,
    attributes: {
      keys_strings: keys,
      values_int64s: codes,
      default_int64: NO_CODE,
    },
  });
}

/**
 * One double 0/1 column per wanted code, in order: `Equal([N, 1], [1, k])` broadcasts to the
 * one-hot block.
 */
function oneHot(
  b: GraphBuilder,
  spec: CodeSpec & { wanted: readonly number[] },
): string {
  const row = b.constant(
    `${spec.hint}_codes`,
    int64Tensor(spec.wanted, [1, spec.wanted.length]),
  );
  const hit = b.add({
    op: "Equal",
    inputs: [asColumn(b, encode(b, spec), spec.hint), row],
    output: `${spec.hint}_hit`,
  });
  return b.add({
    op: "Cast",
    inputs: [hit],
    output: `${spec.hint}_onehot`,
    attributes: { to: DataType.DOUBLE },
  });
}

/** Text → double, NULL text → NaN first, since Cast refuses text that is not a number. */
function parseNumber(b: GraphBuilder, value: string, hint: string): string {
  const isNull = b.add({
    op: "Equal",
    inputs: [
      encode(b, {
        value,
        hint: `${hint}_null`,
        keys: NULL_TEXT,
        codes: NULL_TEXT.map(() => 1),
      }),
      b.constant("one", int64Tensor([1], [])),
    ],
    output: `${hint}_isnull`,
  });
  const text = b.add({
    op: "Where",
    inputs: [isNull, b.constant("nan_text", stringTensor(["nan"], [])), value],
    output: `${hint}_text`,
  });
  return b.add({
    op: "Cast",
    inputs: [text],
    output: `${hint}_parsed`,
    attributes: { to: DataType.DOUBLE },
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function buildPreprocessingGraph({
  builder: b,
  preprocessing,
  integerColumns,
  input,
}: PreprocessingGraphOptions): PreprocessingGraph {
  const { categorical, numeric, boolean } = preprocessing;
  const allNumeric = categorical.length === 0 && boolean.length === 0;
  const columns: OnnxColumn[] = [];
  const blocks: string[] = [];
  /** Column j of the input as an [N] value. */
  const take = (name: string, mlflowType: OnnxColumn["mlflowType"]) => {
    const index = b.constant(
      `${name}_index`,
      int64Tensor([columns.length], []),
    );
    columns.push({ name, mlflowType });
    return b.add({
      op: "Gather",
      inputs: [input, index],
      output: name,
      attributes: { axis: 1 },
    });
  };

  for (const c of categorical) {
    const value = take(c.name, "string");
    const n = c.categories.length;
    const keys = [...c.categories];
    const codes = range(n);
    if (c.hasNull) {
      for (const t of NULL_TEXT) {
        if (c.categories.includes(t)) continue;
        keys.push(t);
        codes.push(n);
      }
    }
    const width = n + (c.hasNull ? 1 : 0);
    // Only a hand-made preprocessing JSON can have a column with no encoded width; skip it.
    if (width === 0) continue;
    blocks.push(
      oneHot(b, { value, hint: c.name, keys, codes, wanted: range(width) }),
    );
  }

  for (const c of numeric) {
    // An all-numeric model takes doubles, which an int64 DataFrame column would not give.
    const integer = integerColumns.has(c.name) && !allNumeric;
    const value = take(c.name, integer ? "long" : "double");
    const parsed = allNumeric ? value : parseNumber(b, value, c.name);
    const isNan = b.add({
      op: "IsNaN",
      inputs: [parsed],
      output: `${c.name}_isnan`,
    });
    const imputed = b.add({
      op: "Where",
      inputs: [
        isNan,
        b.constant(`${c.name}_median`, doubleTensor([c.median], [])),
        parsed,
      ],
      output: `${c.name}_imputed`,
    });
    blocks.push(asColumn(b, imputed, c.name));
  }

  for (const c of boolean) {
    // MLflow's scoring server casts a `boolean` column of a JSON request with astype(bool), which
    // makes NULL false; a column that had NULL in training is declared `string` so NULL survives.
    const value = take(c.name, c.hasNull ? "string" : "boolean");
    // The value column is 1 only for true (NULL → 0, as the preprocessor); the NULL column is 1
    // for any text that is neither true nor false.
    const wanted = c.hasNull ? [1, NO_CODE] : [1];
    blocks.push(
      oneHot(b, {
        value,
        hint: c.name,
        keys: [...BOOLEAN_TRUE_TEXT, ...BOOLEAN_FALSE_TEXT],
        codes: [
          ...BOOLEAN_TRUE_TEXT.map(() => 1),
          ...BOOLEAN_FALSE_TEXT.map(() => 0),
        ],
        wanted,
      }),
    );
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
          output: "encoded",
          attributes: { axis: 1 },
        });
  return {
    columns,
    inputType: allNumeric ? DataType.DOUBLE : DataType.STRING,
    features,
  };
}
