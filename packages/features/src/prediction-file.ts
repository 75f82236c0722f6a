import { parseCalendarDay, type CalendarDay } from "@streamflow/core";
import {
  TableFileWriter,
  type TableFileFormat,
} from "./internal/table-file.ts";
import { PREDICTION_COLUMNS, type PredictionModel } from "./predictions.ts";

export interface OpenPredictionsFileOptions {
  /** `.csv` or `.parquet`. */
  out: string;
  asOf: CalendarDay;
  model: PredictionModel;
  threshold: number;
  scoredAt: Date;
}

/** A predictions file being written: nothing appears under its name until `commit`. */
export interface PredictionsFile {
  readonly out: string;
  readonly format: TableFileFormat;
  append(chunk: {
    userIds: readonly string[];
    pChurn: Float64Array;
    labels: ArrayLike<number>;
  }): Promise<void>;
  commit(): Promise<void>;
  /** Removes what was written; safe after commit. */
  discard(): Promise<void>;
}

/**
 * Predictions to a CSV or Parquet file instead of the table, same columns. p_churn is written as
 * the shortest decimal that round-trips the double (CSV) or as float64 (Parquet).
 * @throws FeaturesError OUTPUT_INVALID for another extension or a missing directory.
 */
export async function openPredictionsFile(
  options: OpenPredictionsFileOptions,
): Promise<PredictionsFile> {
  const asOf = parseCalendarDay(options.asOf, "asOf");
  const { name, version, runId } = options.model;
  const scoredAt = options.scoredAt.toISOString();
  const file = await TableFileWriter.open(
    options.out,
    PREDICTION_COLUMNS,
    "scores.csv",
  );
  return {
    out: file.out,
    format: file.format,
    append: ({ userIds, pChurn, labels }) =>
      file.append(
        userIds.map((id, i) => [
          id,
          asOf,
          name,
          version,
          pChurn[i]!,
          labels[i]!,
          options.threshold,
          runId,
          scoredAt,
        ]),
      ),
    commit: () => file.commit(),
    discard: () => file.discard(),
  };
}
