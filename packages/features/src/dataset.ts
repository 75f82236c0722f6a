import { createHash } from "node:crypto";
import type { Logger, ProgressListener } from "@streamflow/core";
import {
  SILENT_LOGGER,
  parseCalendarDay,
  type CalendarDay,
} from "@streamflow/core";
import type { Database, SqlExecutor } from "./internal/db.ts";
import {
  noDataAsOf,
  pointInTimeSql,
  resolveTtl,
  viewHasDataAsOf,
  type ResolvedTtl,
  type TtlOverrides,
} from "./internal/point-in-time.ts";
import {
  csvCell,
  TableFileWriter,
  type FileColumn,
} from "./internal/table-file.ts";
import type { StoreLayout } from "./layout.ts";
import type { ColumnType } from "./repository/column-types.ts";

/** A feature value as it leaves the store: NULL stays null, booleans stay booleans. */
export type FeatureValue = number | boolean | string | null;

export interface DatasetOptions {
  db: Database;
  /** Feature cutoff: each view contributes its latest snapshot with as_of <= this day. */
  asOf: CalendarDay;
  /** Label cutoff; defaults to `asOf`. */
  labelAsOf?: CalendarDay | undefined;
  /**
   * Per-view ttl in days, overriding the views' declarations: a snapshot older than the cutoff
   * minus the ttl is not used (the view's features come back NULL for that user).
   * @default each view's `ttlDays` (none for the lab's views)
   */
  ttlDays?: TtlOverrides | undefined;
  onProgress?: ProgressListener;
  logger?: Logger;
}

export interface DatasetColumn {
  name: string;
  type: ColumnType;
}

/** A point-in-time training set held in memory, rows ordered by entity key. */
export interface Dataset {
  asOf: CalendarDay;
  labelAsOf: CalendarDay;
  /** The repository's feature columns, view by view. */
  featureColumns: DatasetColumn[];
  /** The rows' entity keys. */
  userIds: string[];
  /** One array per feature column, each `userIds.length` long. */
  features: FeatureValue[][];
  /** The label as 0/1. */
  labels: Uint8Array;
  /** sha256 of the dataset's canonical CSV serialisation. */
  fingerprint: string;
}

export interface BuildDatasetOptions extends DatasetOptions {
  /** Output file; `.csv` or `.parquet`. */
  out: string;
}

export interface BuildDatasetResult {
  asOf: CalendarDay;
  labelAsOf: CalendarDay;
  out: string;
  format: "csv" | "parquet";
  rows: number;
  columns: string[];
  /** Share of rows whose label is true. */
  positiveRate: number;
  fingerprint: string;
  durationMs: number;
}

const FETCH_ROWS = 20_000;
/** A training file's columns: the key, the features, the label. */
function outputFileColumns(layout: StoreLayout): FileColumn[] {
  return [
    { name: layout.entity.joinKey, type: "text" },
    ...layout.featureColumns.map((c) => ({ name: c.name, type: c.type })),
    { name: layout.label.column.name, type: "boolean" },
  ];
}

function datasetColumns(layout: StoreLayout): DatasetColumn[] {
  return layout.featureColumns.map((c) => ({ name: c.name, type: c.type }));
}

/** What one dataset read asks of the store. */
interface DatasetQuery {
  layout: StoreLayout;
  asOf: CalendarDay;
  labelAsOf: CalendarDay;
  ttl: ResolvedTtl;
}

/** One row per entity with a label snapshot <= labelAsOf (the latest one), its label carried through. */
function datasetSql({ layout, asOf, labelAsOf, ttl }: DatasetQuery): string {
  const key = layout.entity.joinKey;
  const label = layout.label;
  return pointInTimeSql({
    layout,
    asOf,
    ttl,
    users: `SELECT DISTINCT ON (${key}) ${key}, ${label.column.name} FROM ${label.snapshotTable}
          WHERE as_of <= '${labelAsOf}'::date ORDER BY ${key}, as_of DESC`,
    carry: [label.column.name],
  });
}

async function checkCoverage(
  db: SqlExecutor,
  { layout, asOf, labelAsOf }: DatasetQuery,
): Promise<void> {
  const labels = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${layout.label.snapshotTable} WHERE as_of <= $1::date`,
    [labelAsOf],
  );
  if ((labels[0]?.n ?? 0) === 0) {
    throw await noDataAsOf(db, `no label snapshot at or before ${labelAsOf}`, {
      labelAsOf,
    });
  }
  for (const view of layout.views) {
    if (!(await viewHasDataAsOf(db, view, asOf))) {
      throw await noDataAsOf(
        db,
        `feature view ${view.name} has no snapshot at or before ${asOf}`,
        { asOf, view: view.name },
      );
    }
  }
}

interface DatasetSink {
  /** A fetched batch: its rows' values, and their canonical CSV lines (what the fingerprint hashes). */
  rows(batch: unknown[][], text: string): void | Promise<void>;
}

/** Streams the joined rows through a cursor (bounded memory) and returns row count, positives and fingerprint. */
async function streamDataset(
  options: DatasetOptions,
  sink: DatasetSink,
): Promise<{
  asOf: CalendarDay;
  labelAsOf: CalendarDay;
  rows: number;
  positives: number;
  fingerprint: string;
}> {
  const asOf = parseCalendarDay(options.asOf, "asOf");
  const labelAsOf = parseCalendarDay(
    options.labelAsOf ?? options.asOf,
    "labelAsOf",
  );
  const { layout } = options.db;
  const key = layout.entity.joinKey;
  const columns = outputFileColumns(layout).map((c) => c.name);
  const query: DatasetQuery = {
    layout,
    asOf,
    labelAsOf,
    ttl: resolveTtl(layout, options.ttlDays),
  };
  const logger = options.logger ?? SILENT_LOGGER;
  const hash = createHash("sha256");
  hash.update(columns.join(",") + "\n");
  let rows = 0;
  let positives = 0;
  await options.db.transaction(async (tx) => {
    // The final ordering of a million rows then sorts in memory; reverts at commit.
    await tx.exec("SET LOCAL work_mem = '256MB'");
    await checkCoverage(tx, query);
    const total = (
      await tx.query<{ n: number }>(
        `SELECT count(DISTINCT ${key})::int AS n FROM ${layout.label.snapshotTable} WHERE as_of <= $1::date`,
        [labelAsOf],
      )
    )[0]?.n;
    logger.info(
      `building dataset: features as of ${asOf}, labels as of ${labelAsOf}, ${total} ${layout.entity.name} keys`,
    );
    await tx.exec(
      `DECLARE streamflow_dataset NO SCROLL CURSOR FOR ${datasetSql(query)}`,
    );
    for (;;) {
      const batch = await tx.query(
        `FETCH ${FETCH_ROWS} FROM streamflow_dataset`,
      );
      if (batch.length === 0) break;
      const values = batch.map((record) => columns.map((c) => record[c]));
      let text = "";
      for (const row of values) {
        text += row.map(csvCell).join(",") + "\n";
        if (row[row.length - 1] === true) positives++;
      }
      hash.update(text);
      await sink.rows(values, text);
      rows += batch.length;
      options.onProgress?.({ phase: "build dataset", done: rows, total });
    }
    await tx.exec("CLOSE streamflow_dataset");
  });
  return { asOf, labelAsOf, rows, positives, fingerprint: hash.digest("hex") };
}

/** One fetched slice of a point-in-time dataset, columnar. */
export interface DatasetBatch {
  userIds: string[];
  /** One array per feature column (the dataset's `featureColumns` order), each `userIds.length` long. */
  features: FeatureValue[][];
  /** churn_label as 0/1. */
  labels: Uint8Array;
}

/** What a scan saw: the dataset without its rows. */
export interface ScannedDataset {
  asOf: CalendarDay;
  labelAsOf: CalendarDay;
  featureColumns: DatasetColumn[];
  rows: number;
  positives: number;
  fingerprint: string;
}

/**
 * Streams the point-in-time dataset batch by batch (bounded memory, one transaction), for work
 * that summarises it instead of holding it, such as drift statistics over a million users.
 *
 * @throws FeaturesError NO_DATA_AS_OF when a cutoff precedes every snapshot.
 */
export async function scanDataset(
  options: DatasetOptions,
  onBatch: (batch: DatasetBatch) => void | Promise<void>,
): Promise<ScannedDataset> {
  const featureColumns = datasetColumns(options.db.layout);
  const width = featureColumns.length;
  const result = await streamDataset(options, {
    rows(batch) {
      const n = batch.length;
      const userIds = new Array<string>(n);
      const features = featureColumns.map(() => new Array<FeatureValue>(n));
      const labels = new Uint8Array(n);
      for (let r = 0; r < n; r++) {
        const values = batch[r]!;
        userIds[r] = values[0] as string;
        for (let i = 0; i < width; i++)
          features[i]![r] = (values[i + 1] ?? null) as FeatureValue;
        labels[r] = values[width + 1] === true ? 1 : 0;
      }
      return onBatch({ userIds, features, labels });
    },
  });
  return { ...result, featureColumns };
}

/**
 * Builds the point-in-time training set in memory, for training.
 *
 * @throws FeaturesError NO_DATA_AS_OF when a cutoff precedes every snapshot.
 */
export async function loadDataset(options: DatasetOptions): Promise<Dataset> {
  const userIds: string[] = [];
  const features: FeatureValue[][] = datasetColumns(options.db.layout).map(
    () => [],
  );
  const labels: number[] = [];
  const result = await scanDataset(options, (batch) => {
    userIds.push(...batch.userIds);
    batch.features.forEach((column, i) => {
      const target = features[i]!;
      for (const v of column) target.push(v);
    });
    for (const l of batch.labels) labels.push(l);
  });
  return {
    asOf: result.asOf,
    labelAsOf: result.labelAsOf,
    featureColumns: result.featureColumns,
    userIds,
    features,
    labels: Uint8Array.from(labels),
    fingerprint: result.fingerprint,
  };
}

/**
 * Builds the point-in-time training set and writes it to a CSV or Parquet file (atomically: a
 * crash never leaves a partial file under the final name).
 *
 * @throws FeaturesError NO_DATA_AS_OF, OUTPUT_INVALID.
 */
export async function buildDataset(
  options: BuildDatasetOptions,
): Promise<BuildDatasetResult> {
  const started = performance.now();
  const fileColumns = outputFileColumns(options.db.layout);
  const file = await TableFileWriter.open(
    options.out,
    fileColumns,
    "train.csv",
  );
  try {
    const result = await streamDataset(options, {
      rows: (batch, text) => file.append(batch, text),
    });
    await file.commit();
    return {
      asOf: result.asOf,
      labelAsOf: result.labelAsOf,
      out: file.out,
      format: file.format,
      rows: result.rows,
      columns: fileColumns.map((c) => c.name),
      positiveRate: result.rows === 0 ? 0 : result.positives / result.rows,
      fingerprint: result.fingerprint,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await file.discard();
  }
}
