import type { CsvRecord } from "./csv-records.ts";

const ROWS_PER_BUFFER = 16_384;

export interface ParquetHandlers {
  /** The column names first (as a header record, line 1), then each row; false stops the read. */
  onRecord(record: CsvRecord): boolean;
  /** Called after every slice of rows, so rows flow on without the file in memory as text. */
  afterBuffer(): Promise<void>;
  /** The file is not Parquet, or Polars cannot read it. */
  onUnreadable(message: string): void;
}

/** A Parquet value spelled as its CSV field would be, so both formats pass the same cell rules. */
function fieldText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value instanceof Date)
    return Number.isNaN(value.getTime())
      ? String(value)
      : value.toISOString().slice(0, 10);
  if (typeof value === "number" || typeof value === "bigint")
    return String(value);
  // A nested Parquet type: spelled out, so the column's type rule names what it holds.
  return JSON.stringify(value);
}

/**
 * Reads a Parquet source as records of text fields: the column names as a header on line 1, row
 * i (0-based) on line i + 2, as if the file were a CSV with a header. Values are spelled as their
 * CSV fields (True/False, YYYY-MM-DD, the shortest number), so every declared rule applies to a
 * Parquet file exactly as to a CSV, and a column of the wrong Parquet type fails the same rule.
 */
export async function forEachParquetRecord(
  path: string,
  handlers: ParquetHandlers,
): Promise<void> {
  // Loaded lazily: the native Polars binding is only needed for Parquet sources.
  const { default: pl } = await import("nodejs-polars");
  let frame: ReturnType<typeof pl.readParquet>;
  try {
    frame = pl.readParquet(path);
  } catch (error) {
    handlers.onUnreadable((error as Error).message.split("\n")[0] ?? "");
    return;
  }
  const names = frame.columns;
  const header: CsvRecord = {
    fields: names,
    line: 1,
    fieldLines: undefined,
    text: names.join(","),
    mayHoldNul: true,
  };
  if (!handlers.onRecord(header)) return;
  for (let start = 0; start < frame.height; start += ROWS_PER_BUFFER) {
    const slice = frame.slice(start, ROWS_PER_BUFFER);
    const columns = names.map((n) => slice.getColumn(n).toArray() as unknown[]);
    for (let r = 0; r < slice.height; r++) {
      const fields = columns.map((c) => fieldText(c[r]));
      const record: CsvRecord = {
        fields,
        line: start + r + 2,
        fieldLines: undefined,
        text: fields.join(","),
        mayHoldNul: true,
      };
      if (!handlers.onRecord(record)) return;
    }
    await handlers.afterBuffer();
  }
}
