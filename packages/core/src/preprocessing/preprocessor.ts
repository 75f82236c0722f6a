import { z } from "zod";
import { CoreError } from "../errors.ts";
import type { DenseMatrix } from "../matrix.ts";

/** One input value as it comes from the feature store: NULL is `null`. */
export type FeatureValue = number | boolean | string | null;

/** One entity's features by name, e.g. the 14 lab features of a user. */
export type FeatureRow = Readonly<Record<string, FeatureValue | undefined>>;

/** Which input column is encoded how; travels inside the model. */
export interface FeatureSchema {
  /** Text columns, one-hot encoded; a category unseen in training encodes to all zeros. */
  readonly categorical_cols: readonly string[];
  /** Numbers, passed through; NULL or NaN becomes the training median. */
  readonly numeric_cols: readonly string[];
  /** true/false → 1/0; if training saw NULL, NULL gets its own indicator column. */
  readonly boolean_cols: readonly string[];
}

/** The lab's `feature_schema.json` shape, where booleans count as numeric columns. */
export interface LabFeatureSchema {
  categorical_cols: string[];
  numeric_cols: string[];
}

export const featureSchemaSchema = z
  .strictObject({
    categorical_cols: z.array(z.string().min(1)),
    numeric_cols: z.array(z.string().min(1)),
    boolean_cols: z.array(z.string().min(1)),
  })
  .refine(
    (s) =>
      new Set([...s.categorical_cols, ...s.numeric_cols, ...s.boolean_cols])
        .size ===
      s.categorical_cols.length + s.numeric_cols.length + s.boolean_cols.length,
    {
      message: "a column is listed twice",
    },
  );

export const preprocessorJsonSchema = z.strictObject({
  schema: featureSchemaSchema,
  categorical: z.array(
    z.strictObject({
      name: z.string(),
      categories: z.array(z.string()),
      hasNull: z.boolean(),
    }),
  ),
  numeric: z.array(z.strictObject({ name: z.string(), median: z.number() })),
  boolean: z.array(z.strictObject({ name: z.string(), hasNull: z.boolean() })),
});

/** JSON form of a fitted preprocessor. */
export type PreprocessorJSON = z.infer<typeof preprocessorJsonSchema>;

export interface FitPreprocessorOptions {
  schema: FeatureSchema;
  /** Training rows only: categories, NULL indicators and medians are learned from them. */
  rows: readonly FeatureRow[];
}

const NULL_SUFFIX = "=null";

function dataInvalid(
  message: string,
  details?: Record<string, unknown>,
): CoreError {
  return new CoreError(
    "DATA_INVALID",
    message,
    details === undefined ? {} : { details },
  );
}

/** " of row N" for messages, or nothing for a lone row (index -1). */
function ofRow(rowIndex: number): string {
  return rowIndex < 0 ? "" : ` of row ${rowIndex}`;
}

function valueOf(
  row: FeatureRow,
  name: string,
  rowIndex: number,
): FeatureValue {
  const v = row[name];
  if (v === undefined) {
    throw dataInvalid(
      `feature '${name}' is missing${ofRow(rowIndex)}; every schema column needs a value (null for NULL)`,
      {
        row: rowIndex,
        feature: name,
      },
    );
  }
  return v;
}

/** Number or NaN for missing; NaN is what the median rule replaces. */
function toNumber(v: FeatureValue, name: string, rowIndex: number): number {
  if (v === null) return Number.NaN;
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  // PostgreSQL NUMERIC arrives as text through node-postgres.
  const n = v.trim() === "" ? Number.NaN : Number(v);
  if (Number.isNaN(n) && v.trim() !== "") {
    throw dataInvalid(
      `feature '${name}'${ofRow(rowIndex)} should be a number, got '${v}'`,
      { row: rowIndex, feature: name },
    );
  }
  return n;
}

const TRUE_TEXT = new Set(["true", "t", "1", "yes"]);
const FALSE_TEXT = new Set(["false", "f", "0", "no"]);

/** 1, 0, or null for NULL. */
function toBoolean(
  v: FeatureValue,
  name: string,
  rowIndex: number,
): 0 | 1 | null {
  if (v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" && (v === 0 || v === 1)) return v;
  if (typeof v === "string") {
    const t = v.trim().toLowerCase();
    if (t === "") return null;
    if (TRUE_TEXT.has(t)) return 1;
    if (FALSE_TEXT.has(t)) return 0;
  }
  throw dataInvalid(
    `feature '${name}'${ofRow(rowIndex)} should be a boolean or NULL, got ${JSON.stringify(v)}`,
    {
      row: rowIndex,
      feature: name,
    },
  );
}

function toCategory(v: FeatureValue): string | null {
  return v === null ? null : String(v);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1
    ? (values[mid] as number)
    : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

/**
 * Turns feature rows into the forest's numeric matrix, by rules fitted on training rows and
 * stored in the model so serving encodes exactly as training did.
 *
 * Columns, in order: for each categorical column its sorted categories (`name=value`, then
 * `name=null` if training saw NULL); each numeric column; for each boolean column its 0/1 value
 * and, if training saw NULL, `name=null`. Rules for values training did not see: an unknown
 * category (or NULL) encodes to all zeros (scikit-learn's `handle_unknown="ignore"`); a NULL
 * boolean whose column had no NULL in training encodes as false; a NULL or NaN numeric gets the
 * training median (0 if training had no value at all).
 */
export class Preprocessor {
  readonly #json: PreprocessorJSON;
  readonly #columnNames: readonly string[];
  readonly #categoryIndex: ReadonlyMap<string, number>[];

  private constructor(json: PreprocessorJSON) {
    this.#json = json;
    const names: string[] = [];
    this.#categoryIndex = json.categorical.map((c) => {
      const index = new Map<string, number>();
      for (const cat of c.categories) {
        index.set(cat, names.length);
        names.push(`${c.name}=${cat}`);
      }
      if (c.hasNull) names.push(`${c.name}${NULL_SUFFIX}`);
      return index;
    });
    for (const n of json.numeric) names.push(n.name);
    for (const b of json.boolean) {
      names.push(b.name);
      if (b.hasNull) names.push(`${b.name}${NULL_SUFFIX}`);
    }
    this.#columnNames = Object.freeze(names);
  }

  /**
   * Learns categories, NULL indicators and medians from training rows.
   * @throws CoreError DATA_INVALID when a row lacks a schema column or holds a value of the wrong type.
   */
  static fit({ schema, rows }: FitPreprocessorOptions): Preprocessor {
    const parsed = featureSchemaSchema.safeParse(schema);
    if (!parsed.success) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `feature schema is invalid: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
      );
    }
    if (rows.length === 0)
      throw dataInvalid("cannot fit the preprocessor on zero rows");
    const categorical = schema.categorical_cols.map((name) => {
      const seen = new Set<string>();
      let hasNull = false;
      rows.forEach((row, i) => {
        const c = toCategory(valueOf(row, name, i));
        if (c === null) hasNull = true;
        else seen.add(c);
      });
      // Code-unit order, which is what numpy's sort gives scikit-learn's OneHotEncoder for str.
      return {
        name,
        categories: [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        hasNull,
      };
    });
    const numeric = schema.numeric_cols.map((name) => {
      const values: number[] = [];
      rows.forEach((row, i) => {
        const v = toNumber(valueOf(row, name, i), name, i);
        if (Number.isFinite(v)) values.push(v);
        else if (!Number.isNaN(v))
          throw dataInvalid(`feature '${name}' of row ${i} is ${v}`, {
            row: i,
            feature: name,
          });
      });
      return { name, median: median(values) };
    });
    const boolean = schema.boolean_cols.map((name) => ({
      name,
      hasNull: rows.some(
        (row, i) => toBoolean(valueOf(row, name, i), name, i) === null,
      ),
    }));
    return new Preprocessor({
      schema: {
        categorical_cols: [...schema.categorical_cols],
        numeric_cols: [...schema.numeric_cols],
        boolean_cols: [...schema.boolean_cols],
      },
      categorical,
      numeric,
      boolean,
    });
  }

  /**
   * Rebuilds a preprocessor from `toJSON()` output.
   * @throws CoreError MODEL_FORMAT_INVALID when the JSON does not describe a preprocessor.
   */
  static load(json: unknown): Preprocessor {
    const parsed = preprocessorJsonSchema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new CoreError(
        "MODEL_FORMAT_INVALID",
        `preprocessing is malformed at ${first?.path.join(".") ?? "?"}: ${first?.message ?? "invalid"}`,
        {
          hint: "The model file is damaged or was not written by streamflow; train it again.",
        },
      );
    }
    return new Preprocessor(parsed.data);
  }

  /** The schema the preprocessor was fitted with. */
  get schema(): FeatureSchema {
    return this.#json.schema;
  }

  /** Names of the encoded columns, in matrix order (`net_service=DSL`, `plan_stream_tv=null`…). */
  get columnNames(): readonly string[] {
    return this.#columnNames;
  }

  /**
   * Encodes one row into `out` (allocated when absent) and returns it.
   * @throws CoreError DATA_INVALID when the row lacks a schema column or holds a value of the wrong type.
   */
  transformRow(
    row: FeatureRow,
    out: Float64Array = new Float64Array(this.#columnNames.length),
  ): Float64Array {
    return this.#encode(row, out, -1);
  }

  /** `rowIndex` only names the row in error messages; -1 for a lone row. */
  #encode(row: FeatureRow, out: Float64Array, rowIndex: number): Float64Array {
    if (out.length < this.#columnNames.length) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `out holds ${out.length} values, ${this.#columnNames.length} are needed`,
      );
    }
    let j = 0;
    const { categorical, numeric, boolean } = this.#json;
    for (let c = 0; c < categorical.length; c++) {
      const spec = categorical[c] as PreprocessorJSON["categorical"][number];
      const width = spec.categories.length + (spec.hasNull ? 1 : 0);
      out.fill(0, j, j + width);
      const cat = toCategory(valueOf(row, spec.name, rowIndex));
      if (cat === null) {
        if (spec.hasNull) out[j + spec.categories.length] = 1;
      } else {
        const at = (this.#categoryIndex[c] as ReadonlyMap<string, number>).get(
          cat,
        );
        if (at !== undefined) out[at] = 1;
      }
      j += width;
    }
    for (const spec of numeric) {
      const v = toNumber(
        valueOf(row, spec.name, rowIndex),
        spec.name,
        rowIndex,
      );
      if (!Number.isNaN(v) && !Number.isFinite(v)) {
        throw dataInvalid(`feature '${spec.name}'${ofRow(rowIndex)} is ${v}`, {
          row: rowIndex,
          feature: spec.name,
        });
      }
      out[j++] = Number.isNaN(v) ? spec.median : v;
    }
    for (const spec of boolean) {
      const b = toBoolean(
        valueOf(row, spec.name, rowIndex),
        spec.name,
        rowIndex,
      );
      out[j++] = b ?? 0;
      if (spec.hasNull) out[j++] = b === null ? 1 : 0;
    }
    return out;
  }

  /**
   * Encodes rows into a dense row-major matrix.
   * @throws CoreError DATA_INVALID naming the first row that lacks a schema column or holds a value of the wrong type.
   */
  transform(rows: readonly FeatureRow[]): DenseMatrix {
    const nCols = this.#columnNames.length;
    const data = new Float64Array(rows.length * nCols);
    rows.forEach((row, i) =>
      this.#encode(row, data.subarray(i * nCols, (i + 1) * nCols), i),
    );
    return { data, nRows: rows.length, nCols };
  }

  /** Serialisable form, stored in the model file. */
  toJSON(): PreprocessorJSON {
    return structuredClone(this.#json);
  }
}

/** The lab's `feature_schema.json` for `schema`: booleans are listed with the numeric columns, as the lab's pandas dtypes had them. */
export function toLabFeatureSchema(schema: FeatureSchema): LabFeatureSchema {
  return {
    categorical_cols: [...schema.categorical_cols],
    numeric_cols: [...schema.numeric_cols, ...schema.boolean_cols],
  };
}
