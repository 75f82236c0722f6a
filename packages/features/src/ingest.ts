import type { Logger, ProgressListener } from "@streamflow/core";
import { SILENT_LOGGER } from "@streamflow/core";
import { FeaturesError } from "./errors.ts";
import type { Database, SqlExecutor } from "./internal/db.ts";
import { readMonthDirectory, type ValidatedFile } from "./internal/month-reader.ts";
import { formatDate, parseDateOption } from "./internal/dates.ts";
import { FEATURE_VIEWS, LABEL_SNAPSHOT, type SourceFileName } from "./schema.ts";

export interface IngestMonthOptions {
  db: Database;
  /** Directory holding the month's six CSVs. */
  monthDir: string;
  /** The month's snapshot date (UTC calendar day). */
  asOf: Date;
  /** Overwrite a snapshot at `asOf` whose content differs, instead of refusing. */
  replace?: boolean;
  logger?: Logger;
  onProgress?: ProgressListener;
}

export interface IngestMonthResult {
  asOf: string;
  monthDir: string;
  /** True when the same content was already ingested at this as_of: nothing was written. */
  noop: boolean;
  /** True when a differing snapshot at this as_of was replaced. */
  replaced: boolean;
  contentSha256: string;
  /** Rows read from each CSV (and upserted into its live table unless noop). */
  rows: Record<SourceFileName, number>;
  /** Rows written into each snapshot table (0 for all when noop). */
  snapshotRows: Record<string, number>;
  /** Where the time went: CSV validation, then each table's load (staging + upsert, or snapshot insert). */
  timingsMs: { validate: number; tables: Record<string, number> };
  durationMs: number;
}

const SNAPSHOTS = [
  ...FEATURE_VIEWS.map((v) => ({ table: v.snapshotTable, source: v.sourceFile, columns: v.features.map((f) => f.name) })),
  { table: LABEL_SNAPSHOT.snapshotTable, source: LABEL_SNAPSHOT.sourceFile, columns: [LABEL_SNAPSHOT.column.name] },
];

function stageTable(name: SourceFileName): string {
  return `streamflow_stage_${name}`;
}

async function stage(tx: SqlExecutor, file: ValidatedFile): Promise<void> {
  const table = stageTable(file.name);
  // Same column types as the live table, no constraints: COPY stays fast, the upsert checks keys.
  await tx.exec(`CREATE TEMP TABLE ${table} (LIKE ${file.name}) ON COMMIT DROP`);
  await tx.copyIn(table, file.columns, file.copyChunks);
}

async function upsertLive(tx: SqlExecutor, file: ValidatedFile): Promise<void> {
  const cols = file.columns.join(", ");
  const values = file.columns.filter((c) => c !== "user_id");
  // Rows whose values did not change are left alone: most of a month repeats the last one, and
  // an update writes a whole new row version.
  await tx.execute(
    `INSERT INTO ${file.name} AS live (${cols}) SELECT ${cols} FROM ${stageTable(file.name)}
     ON CONFLICT (user_id) DO UPDATE SET ${values.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}
     WHERE (${values.map((c) => `live.${c}`).join(", ")}) IS DISTINCT FROM (${values.map((c) => `EXCLUDED.${c}`).join(", ")})`,
  );
}

/**
 * Validates a month directory, then in one transaction upserts the live tables (last write wins)
 * and writes the insert-only `asOf` snapshot of every feature view and of the labels.
 * Re-ingesting identical content is a no-op; differing content at an existing as_of is refused
 * unless `replace`.
 *
 * @throws FeaturesError INPUT_NOT_FOUND, INPUT_INVALID (nothing written), SNAPSHOT_CONFLICT, DATABASE_UNAVAILABLE.
 */
export async function ingestMonth(options: IngestMonthOptions): Promise<IngestMonthResult> {
  const started = performance.now();
  const { db, monthDir } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const asOf = formatDate(parseDateOption(options.asOf, "asOf"));
  const month = await readMonthDirectory(monthDir, options.onProgress);
  const validateMs = Math.round(performance.now() - started);
  const tableMs: Record<string, number> = {};
  const rows = Object.fromEntries(month.files.map((f) => [f.name, f.rows])) as Record<SourceFileName, number>;
  logger.info(`validated ${monthDir}: ${month.files.map((f) => `${f.name} ${f.rows}`).join(", ")}`);

  const outcome = await db.transaction(async (tx) => {
    // Serialise ingestions of the same database: the no-op/conflict decision must see committed state.
    await tx.exec("SELECT pg_advisory_xact_lock(7409237402)");
    const existing = await tx.query<{ content_sha256: string }>(
      "SELECT content_sha256 FROM ingestions WHERE as_of = $1",
      [asOf],
    );
    const previous = existing[0]?.content_sha256;
    const snapshotCounts = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${LABEL_SNAPSHOT.snapshotTable} WHERE as_of = $1`,
      [asOf],
    );
    const hasSnapshot = previous !== undefined || (snapshotCounts[0]?.n ?? 0) > 0;
    if (previous === month.contentSha256) return { noop: true, replaced: false, snapshotRows: {} };
    if (hasSnapshot && !options.replace) {
      throw new FeaturesError(
        "SNAPSHOT_CONFLICT",
        `a different month is already ingested at as_of ${asOf} (stored content ${previous?.slice(0, 12) ?? "unknown"}…, this one ${month.contentSha256.slice(0, 12)}…)`,
        {
          hint: "Snapshots are insert-only so training sets stay reproducible. Check --as-of, or pass --replace to overwrite this date's snapshot.",
          details: { asOf, storedSha256: previous, incomingSha256: month.contentSha256 },
        },
      );
    }

    let mark = performance.now();
    const timed = (table: string, what: string) => {
      const now = performance.now();
      tableMs[table] = (tableMs[table] ?? 0) + (now - mark);
      logger.debug(`${what} ${table} in ${Math.round(now - mark)} ms`);
      mark = now;
    };
    for (const file of month.files) {
      options.onProgress?.({ phase: "load", done: month.files.indexOf(file), total: month.files.length });
      await stage(tx, file);
      timed(file.name, "staged");
    }
    for (const file of month.files) {
      await upsertLive(tx, file);
      timed(file.name, "upserted");
    }

    if (hasSnapshot) {
      for (const s of SNAPSHOTS) await tx.execute(`DELETE FROM ${s.table} WHERE as_of = $1`, [asOf]);
    }
    const snapshotRows: Record<string, number> = {};
    for (const s of SNAPSHOTS) {
      const cols = s.columns.join(", ");
      snapshotRows[s.table] = await tx.execute(
        `INSERT INTO ${s.table} (user_id, as_of, ${cols})
         SELECT user_id, $1::date, ${cols} FROM ${stageTable(s.source)}`,
        [asOf],
      );
      timed(s.table, "inserted");
    }
    await tx.execute(
      `INSERT INTO ingestions (as_of, content_sha256, source, row_counts) VALUES ($1, $2, $3, $4)
       ON CONFLICT (as_of) DO UPDATE SET content_sha256 = EXCLUDED.content_sha256,
         source = EXCLUDED.source, row_counts = EXCLUDED.row_counts, ingested_at = now()`,
      [asOf, month.contentSha256, monthDir, JSON.stringify(rows)],
    );
    return { noop: false, replaced: hasSnapshot, snapshotRows };
  });
  options.onProgress?.({ phase: "load", done: month.files.length, total: month.files.length });

  return {
    asOf,
    monthDir,
    noop: outcome.noop,
    replaced: outcome.replaced,
    contentSha256: month.contentSha256,
    rows,
    snapshotRows: Object.fromEntries(SNAPSHOTS.map((s) => [s.table, outcome.snapshotRows[s.table] ?? 0])),
    timingsMs: {
      validate: validateMs,
      tables: Object.fromEntries(Object.entries(tableMs).map(([t, ms]) => [t, Math.round(ms)])),
    },
    durationMs: Math.round(performance.now() - started),
  };
}
