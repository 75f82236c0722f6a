import { CoreError } from "../errors.ts";
import type {
  FeatureRow,
  FeatureSchema,
  FeatureValue,
} from "./preprocessor.ts";

/** A dataset column as the feature store describes it. */
export interface TypedColumn {
  readonly name: string;
  readonly type: "text" | "boolean" | "integer" | "double" | "date";
}

export interface FeatureSchemaOptions {
  /**
   * Columns to one-hot encode although their type would not say so (an integer code, a score of
   * a few levels); text columns are categorical either way.
   */
  categorical?: readonly string[] | undefined;
}

/**
 * Feature schema for store columns: text is categorical, boolean stays boolean, integer and
 * double are numeric (the lab's rule: string-typed columns are the categorical ones), unless
 * `categorical` names them.
 * @throws CoreError INVALID_ARGUMENT for a date column, which the model cannot take as is, or a
 * `categorical` name that is not a column.
 */
export function featureSchemaFromColumns(
  columns: readonly TypedColumn[],
  options: FeatureSchemaOptions = {},
): FeatureSchema {
  const categorical = new Set(options.categorical ?? []);
  for (const name of categorical) {
    if (!columns.some((c) => c.name === name))
      throw new CoreError(
        "INVALID_ARGUMENT",
        `'${name}' is to be categorical but is not one of the columns (${columns.map((c) => c.name).join(", ")})`,
      );
  }
  const schema = {
    categorical_cols: [] as string[],
    numeric_cols: [] as string[],
    boolean_cols: [] as string[],
  };
  for (const c of columns) {
    if (c.type === "date")
      throw new CoreError(
        "INVALID_ARGUMENT",
        `feature '${c.name}' is a date; derive a number from it before training`,
      );
    if (c.type === "text" || categorical.has(c.name))
      schema.categorical_cols.push(c.name);
    else if (c.type === "boolean") schema.boolean_cols.push(c.name);
    else schema.numeric_cols.push(c.name);
  }
  return schema;
}

export interface RowsFromColumnsOptions {
  names: readonly string[];
  /** One array per name, all of the same length (a columnar dataset). */
  columns: readonly (readonly FeatureValue[])[];
}

/** Turns a columnar dataset into row objects for the preprocessor. */
export function rowsFromColumns({
  names,
  columns,
}: RowsFromColumnsOptions): FeatureRow[] {
  if (names.length !== columns.length) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `${names.length} column names for ${columns.length} columns`,
    );
  }
  const n = columns[0]?.length ?? 0;
  columns.forEach((col, j) => {
    if (col.length !== n)
      throw new CoreError(
        "DATA_INVALID",
        `column '${names[j]}' has ${col.length} values, the first has ${n}`,
      );
  });
  const rows: FeatureRow[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, FeatureValue> = {};
    names.forEach((name, j) => {
      row[name] = (columns[j] as readonly FeatureValue[])[i] as FeatureValue;
    });
    rows.push(row);
  }
  return rows;
}
