import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { rename, rm, stat } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { FeaturesError } from "../errors.ts";
import type { ColumnType } from "../schema.ts";

export type TableFileFormat = "csv" | "parquet";

export interface FileColumn {
  name: string;
  /** Dates and timestamps travel as ISO text, in CSV and Parquet alike. */
  type: ColumnType;
}

function csvText(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** RFC 4180 cell: NULL is empty, booleans are true/false, numbers their shortest round-trip decimal. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return String(value);
  return csvText(typeof value === "string" ? value : JSON.stringify(value));
}

/**
 * A CSV or Parquet file written under a temporary name and renamed into place on commit, so a
 * crash never leaves a partial file under the final name. CSV streams; Parquet is built in memory
 * (one column array per column) and written at commit.
 */
export class TableFileWriter {
  readonly out: string;
  readonly format: TableFileFormat;
  readonly #tmp: string;
  readonly #columns: readonly FileColumn[];
  readonly #stream: WriteStream | undefined;
  readonly #parquet: unknown[][] | undefined;

  private constructor(
    out: string,
    format: TableFileFormat,
    columns: readonly FileColumn[],
  ) {
    this.out = out;
    this.format = format;
    this.#columns = columns;
    this.#tmp = `${out}.tmp-${process.pid}`;
    if (format === "csv") {
      this.#stream = createWriteStream(this.#tmp);
      this.#stream.write(columns.map((c) => c.name).join(",") + "\n");
    } else {
      this.#parquet = columns.map(() => []);
    }
  }

  /**
   * @param example an output name to show in the hint, e.g. "train.csv"
   * @throws FeaturesError OUTPUT_INVALID for another extension or a missing directory.
   */
  static async open(
    path: string,
    columns: readonly FileColumn[],
    example: string,
  ): Promise<TableFileWriter> {
    const out = resolve(path);
    const ext = extname(out).toLowerCase();
    const stem = example.replace(/\.[a-z]+$/, "");
    if (ext !== ".csv" && ext !== ".parquet") {
      throw new FeaturesError(
        "OUTPUT_INVALID",
        `output file must end in .csv or .parquet, got '${path}'`,
        {
          hint: `e.g. --out ${stem}.csv or --out ${stem}.parquet`,
        },
      );
    }
    try {
      if (!(await stat(dirname(out))).isDirectory())
        throw new Error("not a directory");
    } catch {
      throw new FeaturesError(
        "OUTPUT_INVALID",
        `output directory '${dirname(out)}' does not exist`,
        {
          hint: "Create it first or pick another --out path.",
        },
      );
    }
    return new TableFileWriter(
      out,
      ext === ".csv" ? "csv" : "parquet",
      columns,
    );
  }

  /** Appends rows (one value per column); `csv`, when the caller already has their CSV lines, is written as is. */
  async append(
    rows: readonly (readonly unknown[])[],
    csv?: string,
  ): Promise<void> {
    if (this.#stream !== undefined) {
      const text =
        csv ?? rows.map((r) => r.map(csvCell).join(",") + "\n").join("");
      if (!this.#stream.write(text)) await once(this.#stream, "drain");
      return;
    }
    const columns = this.#parquet!;
    for (const values of rows)
      for (let i = 0; i < columns.length; i++)
        columns[i]!.push(values[i] ?? null);
  }

  async commit(): Promise<void> {
    if (this.#stream !== undefined) {
      this.#stream.end();
      await once(this.#stream, "finish");
    } else {
      await writeParquet(this.#tmp, this.#columns, this.#parquet!);
    }
    await rename(this.#tmp, this.out);
  }

  /** Removes the temporary file; safe after commit. */
  async discard(): Promise<void> {
    if (this.#stream !== undefined && !this.#stream.closed) {
      this.#stream.destroy();
      await once(this.#stream, "close");
    }
    await rm(this.#tmp, { force: true });
  }
}

async function writeParquet(
  path: string,
  columns: readonly FileColumn[],
  values: unknown[][],
): Promise<void> {
  // Loaded lazily: the native Polars binding is only needed for Parquet output.
  const { default: pl } = await import("nodejs-polars");
  const dtype = (t: ColumnType) =>
    t === "integer"
      ? pl.Int32
      : t === "double"
        ? pl.Float64
        : t === "boolean"
          ? pl.Bool
          : pl.Utf8;
  pl.DataFrame(
    columns.map((c, i) => pl.Series(c.name, values[i]!, dtype(c.type))),
  ).writeParquet(path);
}
