import {
  CoreError,
  parseCalendarDay,
  type CalendarDay,
} from "@streamflow/core";
import { FeaturesError } from "./errors.ts";
import type { Database, SqlExecutor } from "./internal/db.ts";
import type { FileColumn } from "./internal/table-file.ts";

/** The table migration 2 creates; other tables are created on demand with its shape. */
export const DEFAULT_PREDICTIONS_TABLE = "churn_predictions";

/** The predictions table's columns, in its order (migration 2): a file and the table hold the same facts. */
export const PREDICTION_COLUMNS: readonly FileColumn[] = [
  { name: "user_id", type: "text" },
  { name: "as_of", type: "date" },
  { name: "model_name", type: "text" },
  { name: "model_version", type: "text" },
  { name: "p_churn", type: "double" },
  { name: "label", type: "integer" },
  { name: "threshold", type: "double" },
  { name: "run_id", type: "text" },
  { name: "scored_at", type: "text" },
];

/** Rows per INSERT: ~10k keeps a statement's arrays at a few hundred kB and its round trips few. */
const STATEMENT_ROWS = 10_000;

export interface PredictionModel {
  name: string;
  version: string;
  /** The training run, when the registry knows it. */
  runId: string | null;
}

export interface WritePredictionsOptions {
  /** A database, or the transaction readScoringRows hands to onChunk. */
  db: SqlExecutor;
  /** @default "churn_predictions"; another table must exist (preparePredictionsTable). */
  table?: string | undefined;
  asOf: CalendarDay;
  model: PredictionModel;
  threshold: number;
  scoredAt: Date;
  userIds: readonly string[];
  /** Stored as double precision exactly, bit for bit. */
  pChurn: Float64Array;
  /** 0/1 per user, as the model decided with `threshold`. */
  labels: ArrayLike<number>;
}

export interface WritePredictionsResult {
  /** Predictions given. */
  rows: number;
  /** Rows inserted: less than `rows` when a (user, as_of, model version) was already scored; 0 on a rerun. */
  written: number;
}

export interface PreparePredictionsTableOptions {
  db: Database;
  /** @default "churn_predictions" */
  table?: string | undefined;
}

export interface PreparePredictionsTableResult {
  table: string;
  /** False when the table was already there (with the right shape). */
  created: boolean;
}

/**
 * Lower case only: the name is quoted, and a quoted `Scores` is not the `scores` an unquoted
 * query finds. 63 bytes is PostgreSQL's identifier limit (longer names are silently cut).
 */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function quotedTable(table: string | undefined): { name: string; sql: string } {
  const name = table ?? DEFAULT_PREDICTIONS_TABLE;
  if (!TABLE_NAME.test(name)) {
    throw new FeaturesError(
      "OUTPUT_INVALID",
      `predictions table name '${name}' is not a plain SQL identifier`,
      {
        hint: "Use lower-case letters, digits and underscores, starting with a letter or underscore, at most 63 characters (e.g. churn_predictions_test).",
        details: { table: name },
      },
    );
  }
  return { name, sql: `"${name}"` };
}

type ColumnRow = {
  column_name: string;
  data_type: string;
  is_nullable: string;
};

async function columnsOf(db: SqlExecutor, table: string): Promise<string[]> {
  const rows = await db.query<ColumnRow>(
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map(
    (r) =>
      `${r.column_name} ${r.data_type}${r.is_nullable === "NO" ? " not null" : ""}`,
  );
}

/**
 * Makes sure the predictions table exists: `churn_predictions` comes with the schema; another name
 * is created like it (columns, check, primary key). An existing table of another shape — one of
 * the store's own, say — is refused rather than written into. Call it before readScoringRows:
 * creating a table inside a long read transaction would hold every other worker's creation until
 * that transaction ends.
 *
 * @throws FeaturesError OUTPUT_INVALID for a bad name or a table of another shape.
 */
export async function preparePredictionsTable(
  options: PreparePredictionsTableOptions,
): Promise<PreparePredictionsTableResult> {
  const table = quotedTable(options.table);
  return options.db.transaction(async (tx) => {
    // Two workers creating the same table at once: the loser of an unlocked race fails on pg_type's unique index.
    await tx.exec("SELECT pg_advisory_xact_lock(7409237405)");
    const existing = await columnsOf(tx, table.name);
    const created = existing.length === 0;
    if (created)
      await tx.exec(
        `CREATE TABLE ${table.sql} (LIKE ${DEFAULT_PREDICTIONS_TABLE} INCLUDING ALL)`,
      );
    else if (
      existing.join(", ") !==
      (await columnsOf(tx, DEFAULT_PREDICTIONS_TABLE)).join(", ")
    ) {
      throw new FeaturesError(
        "OUTPUT_INVALID",
        `table ${table.name} exists and is not a predictions table`,
        {
          hint: `Pick another --table name; its columns are ${existing.join(", ")}.`,
          details: { table: table.name, columns: existing },
        },
      );
    }
    return { table: table.name, created };
  });
}

function checkPredictions(options: WritePredictionsOptions): void {
  const n = options.userIds.length;
  if (options.pChurn.length !== n || options.labels.length !== n) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `userIds, pChurn and labels must have the same length, got ${n}, ${options.pChurn.length} and ${options.labels.length}`,
    );
  }
  if (!(
    Number.isFinite(options.threshold) &&
    options.threshold >= 0 &&
    options.threshold <= 1
  )) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `threshold must be a probability in [0, 1], got ${options.threshold}`,
    );
  }
  if (
    !(options.scoredAt instanceof Date) ||
    Number.isNaN(options.scoredAt.getTime())
  ) {
    throw new CoreError("INVALID_ARGUMENT", "scoredAt must be a valid date");
  }
  const { name, version } = options.model;
  if (name === "" || version === "") {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `model name and version must not be empty, got '${name}' and '${version}'`,
    );
  }
  for (let i = 0; i < n; i++) {
    const p = options.pChurn[i]!;
    if (!(p >= 0 && p <= 1)) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `pChurn of ${options.userIds[i]} must be a probability in [0, 1], got ${p}`,
      );
    }
    const label = options.labels[i];
    if (label !== 0 && label !== 1) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `label of ${options.userIds[i]} must be 0 or 1, got ${String(label)}`,
      );
    }
  }
}

const UNDEFINED_TABLE = "42P01";

/** A missing table as the caller's mistake it is; any other error unchanged. */
function missingTable(error: unknown, table: string): unknown {
  if ((error as { code?: unknown } | null)?.code !== UNDEFINED_TABLE)
    return error;
  return new FeaturesError(
    "OUTPUT_INVALID",
    `predictions table ${table} does not exist`,
    {
      cause: error,
      hint: "Create it with preparePredictionsTable before scoring (streamflow score does).",
      details: { table },
    },
  );
}

/**
 * Inserts predictions, ~10k rows a statement, skipping any (user, as_of, model version) already
 * stored: the table is insert-only, so a rerun is a no-op (written 0) and never changes a score
 * marketing has read. p_churn travels as the shortest decimal that round-trips a double (what
 * JavaScript's number-to-string gives), so the stored value is the computed one bit for bit.
 *
 * @throws FeaturesError OUTPUT_INVALID for a bad table name or a table that does not exist.
 *   CoreError INVALID_ARGUMENT for arrays of different lengths, a probability outside [0, 1], a
 *   label other than 0/1, an empty model name or version, an invalid scoredAt.
 */
export async function writePredictions(
  options: WritePredictionsOptions,
): Promise<WritePredictionsResult> {
  const table = quotedTable(options.table);
  const asOf = parseCalendarDay(options.asOf, "asOf");
  checkPredictions(options);
  const sql = `INSERT INTO ${table.sql} (${PREDICTION_COLUMNS.map((c) => c.name).join(", ")})
    SELECT u.user_id, $4::date, $5, $6, u.p_churn, u.label, $7::float8, $8, $9::timestamptz
    FROM unnest($1::text[], $2::float8[], $3::int2[]) AS u(user_id, p_churn, label)
    ON CONFLICT DO NOTHING`;
  const { model } = options;
  const scoredAt = options.scoredAt.toISOString();
  let written = 0;
  try {
    for (
      let start = 0;
      start < options.userIds.length;
      start += STATEMENT_ROWS
    ) {
      const end = Math.min(start + STATEMENT_ROWS, options.userIds.length);
      written += await options.db.execute(sql, [
        options.userIds.slice(start, end),
        // A typed array would be sent as bytes; a plain array of numbers goes as their decimal text.
        Array.from(options.pChurn.subarray(start, end)),
        Array.from(
          { length: end - start },
          (_, i) => options.labels[start + i]!,
        ),
        asOf,
        model.name,
        model.version,
        options.threshold,
        model.runId,
        scoredAt,
      ]);
    }
  } catch (error) {
    throw missingTable(error, table.name);
  }
  return { rows: options.userIds.length, written };
}

export interface CountPredictionsOptions {
  db: SqlExecutor;
  table?: string | undefined;
  asOf: CalendarDay;
  model: Pick<PredictionModel, "name" | "version">;
}

/** How many users a model version has scores for at `asOf`: lets a caller tell a finished run from a partial one. */
export async function countPredictions(
  options: CountPredictionsOptions,
): Promise<number> {
  const table = quotedTable(options.table);
  const asOf = parseCalendarDay(options.asOf, "asOf");
  const rows = await options.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table.sql} WHERE as_of = $1::date AND model_name = $2 AND model_version = $3`,
    [asOf, options.model.name, options.model.version],
  );
  return rows[0]?.n ?? 0;
}

/** Distribution of a month's scores, for a glance at a run. */
export interface PredictionQuantiles {
  min: number;
  p05: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
  max: number;
}

export interface PredictionsSummary {
  rows: number;
  /** Rows with label 1. */
  positives: number;
  /** Order statistics of p_churn, interpolated linearly as numpy's default (percentile_cont); null without rows. */
  quantiles: PredictionQuantiles | null;
}

/**
 * The scores a model version holds at `asOf`, summed up in the database: how shards scored by
 * different workers are joined into the figures one process would have computed from its scores.
 */
export async function summarizePredictions(
  options: CountPredictionsOptions,
): Promise<PredictionsSummary> {
  const table = quotedTable(options.table);
  const asOf = parseCalendarDay(options.asOf, "asOf");
  const rows = await options.db.query<{
    rows: number;
    positives: number;
    q: number[] | null;
  }>(
    `SELECT count(*)::int AS rows, count(*) FILTER (WHERE label = 1)::int AS positives,
       percentile_cont(ARRAY[0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]) WITHIN GROUP (ORDER BY p_churn) AS q
     FROM ${table.sql} WHERE as_of = $1::date AND model_name = $2 AND model_version = $3`,
    [asOf, options.model.name, options.model.version],
  );
  const r = rows[0]!;
  const q = r.rows === 0 || r.q === null ? null : r.q.map(Number);
  return {
    rows: r.rows,
    positives: r.positives,
    quantiles:
      q === null
        ? null
        : {
            min: q[0]!,
            p05: q[1]!,
            p25: q[2]!,
            p50: q[3]!,
            p75: q[4]!,
            p95: q[5]!,
            max: q[6]!,
          },
  };
}
