import { availableParallelism } from "node:os";
import {
  DECISION_THRESHOLD,
  rowsFromColumns,
  SILENT_LOGGER,
  type Logger,
  type ProgressListener,
  type CalendarDay,
} from "@streamflow/core";
import {
  openPredictionsFile,
  preparePredictionsTable,
  readScoringRows,
  writePredictions,
  type Database,
  type PredictionModel,
  type PredictionQuantiles,
  type Shard,
  type SqlExecutor,
} from "@streamflow/features";
import type { Registry } from "@streamflow/registry-client";
import { resolveTarget, type ModelTarget } from "./model-target.ts";
import { offlineColumns } from "./store-columns.ts";
import { checkModelAgainstStore, loadVerifiedModel } from "./verified-model.ts";

export interface ScoreUsersOptions {
  db: Database;
  registry: Registry;
  /** The registered version to score with (verified before use). */
  target: ModelTarget;
  /** Feature cutoff: the point-in-time rule of the training set, without labels. */
  asOf: CalendarDay;
  /** One stable hash bucket of user ids; all users when absent. */
  shard?: Shard | undefined;
  /** Insert-only predictions table. @default "churn_predictions" */
  table?: string | undefined;
  /** A `.csv` or `.parquet` file to write instead of the table. */
  out?: string | undefined;
  /** Users per read, predict and write round. @default 20000 */
  chunkRows?: number | undefined;
  /** Threads predicting, this one included. @default os.availableParallelism() */
  jobs?: number | undefined;
  /** Wall clock for `scored_at`, injectable for tests. */
  now?: () => Date;
  logger?: Logger;
  onProgress?: ProgressListener;
}

/** Distribution of the scores written or found, for a glance at a month's run. */
export type ScoreQuantiles = PredictionQuantiles;

export interface ScoreUsersResult {
  asOf: CalendarDay;
  model: { name: string; version: string; runId: string | null };
  shard: Shard | undefined;
  /** Where the predictions went: the table, or the file when `out` was given. */
  table: string | undefined;
  out: string | undefined;
  /** Users scored (with at least one feature row at asOf). */
  rows: number;
  /** Rows inserted (or written to the file); 0 when this date was already scored by this version. */
  written: number;
  /** Every score was already in the table: a rerun. Never for a file. */
  noop: boolean;
  /** Users known at asOf without any feature row: not scored. */
  missingUsers: number;
  positiveRate: number;
  threshold: number;
  /** null when no user was scored. */
  pChurnQuantiles: ScoreQuantiles | null;
  /** Time spent in each step, this thread's view: `write` counts only the waits for the database, as writes overlap the next chunk. */
  timingsMs: {
    loadModel: number;
    read: number;
    predict: number;
    write: number;
  };
  durationMs: number;
}

interface PredictionSink {
  table: string | undefined;
  out: string | undefined;
  /** Rows written. `tx` is the read's transaction: table writes go through it. */
  write(
    chunk: { userIds: string[]; pChurn: Float64Array; labels: Uint8Array },
    tx: SqlExecutor,
  ): Promise<number>;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** The insert-only table, or a file written whole or not at all. */
async function openSink(
  options: ScoreUsersOptions,
  fixed: { model: PredictionModel; scoredAt: Date },
): Promise<PredictionSink> {
  const common = {
    asOf: options.asOf,
    model: fixed.model,
    threshold: DECISION_THRESHOLD,
    scoredAt: fixed.scoredAt,
  };
  if (options.out !== undefined) {
    const file = await openPredictionsFile({ out: options.out, ...common });
    return {
      table: undefined,
      out: file.out,
      write: async (chunk) => (await file.append(chunk), chunk.userIds.length),
      commit: () => file.commit(),
      discard: () => file.discard(),
    };
  }
  const { table } = await preparePredictionsTable({
    db: options.db,
    table: options.table,
  });
  return {
    table,
    out: undefined,
    write: async (chunk, tx) =>
      (await writePredictions({ db: tx, table, ...common, ...chunk })).written,
    commit: () => Promise.resolve(),
    discard: () => Promise.resolve(),
  };
}

/** Linear interpolation between order statistics, numpy's default. */
function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Quantiles of `s`, which it sorts in place. */
function quantilesOf(s: Float64Array): ScoreQuantiles | null {
  if (s.length === 0) return null;
  s.sort();
  return {
    min: s[0]!,
    p05: quantile(s, 0.05),
    p25: quantile(s, 0.25),
    p50: quantile(s, 0.5),
    p75: quantile(s, 0.75),
    p95: quantile(s, 0.95),
    max: s[s.length - 1]!,
  };
}

/**
 * Scores every user with features at `asOf` (or one shard of them) with a verified registered
 * model and inserts the predictions. Each chunk is read, predicted and written inside the read's
 * transaction, so a shard's predictions commit together or not at all, and a rerun of the same
 * date and version inserts nothing. p_churn is what `serve` answers for the same features.
 * @throws LifecycleError MODEL_INTEGRITY / MODEL_SCHEMA_MISMATCH, RegistryError, FeaturesError.
 */
export async function scoreUsers(
  options: ScoreUsersOptions,
): Promise<ScoreUsersResult> {
  const started = performance.now();
  const { db, registry } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const version = await resolveTarget(registry, options.target);
  const { model } = await loadVerifiedModel({ registry, version });
  checkModelAgainstStore(model, { columns: offlineColumns(db.layout) });
  // The read's columns, in order: every feature the repository declares.
  const featureNames = db.layout.featureColumns.map((c) => c.name);
  const loadModel = performance.now() - started;
  logger.info(`scoring with ${version.name} version ${version.version}`);
  const ref = {
    name: version.name,
    version: version.version,
    runId: version.runId ?? null,
  };
  const scoredAt = (options.now ?? (() => new Date()))();
  const sink = await openSink(options, { model: ref, scoredAt });
  const predictor = model.openPredictor({
    jobs: options.jobs ?? availableParallelism(),
  });
  const scores: Float64Array[] = [];
  let positives = 0;
  let written = 0;
  let predictMs = 0;
  let writeMs = 0;
  let inflight: Promise<number> | undefined;
  const flush = async () => {
    if (inflight !== undefined) written += await inflight;
    inflight = undefined;
  };
  let read;
  try {
    read = await readScoringRows({
      db,
      asOf: options.asOf,
      shard: options.shard,
      chunkRows: options.chunkRows,
      logger,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      async onChunk(chunk, tx) {
        const t0 = performance.now();
        const pChurn = await predictor.predictProba(
          rowsFromColumns({ names: featureNames, columns: chunk.features }),
        );
        const labels = Uint8Array.from(pChurn, (p) =>
          p > DECISION_THRESHOLD ? 1 : 0,
        );
        for (const l of labels) positives += l;
        scores.push(pChurn);
        const t1 = performance.now();
        predictMs += t1 - t0;
        // One write in flight: it runs on the server while the next chunk is fetched and predicted.
        await flush();
        inflight = sink.write({ userIds: chunk.userIds, pChurn, labels }, tx);
        inflight.catch(() => undefined);
        writeMs += performance.now() - t1;
      },
      async onEnd() {
        const t = performance.now();
        await flush();
        writeMs += performance.now() - t;
      },
    });
    const t2 = performance.now();
    await sink.commit();
    writeMs += performance.now() - t2;
  } catch (error) {
    // A failed write aborts the transaction and the fetch queued behind it fails for that reason:
    // report the write's own error.
    if (inflight !== undefined) await inflight;
    throw error;
  } finally {
    await Promise.all([sink.discard(), predictor.close()]);
  }
  const all = new Float64Array(read.rows);
  let at = 0;
  for (const s of scores) {
    all.set(s, at);
    at += s.length;
  }
  const durationMs = performance.now() - started;
  return {
    asOf: read.asOf,
    model: ref,
    shard: read.shard,
    table: sink.table,
    out: sink.out,
    rows: read.rows,
    written,
    noop: sink.table !== undefined && read.rows > 0 && written === 0,
    missingUsers: read.missingUsers,
    positiveRate: read.rows === 0 ? 0 : positives / read.rows,
    threshold: DECISION_THRESHOLD,
    pChurnQuantiles: quantilesOf(all),
    timingsMs: {
      loadModel: Math.round(loadModel),
      read: Math.round(durationMs - loadModel - predictMs - writeMs),
      predict: Math.round(predictMs),
      write: Math.round(writeMs),
    },
    durationMs: Math.round(durationMs),
  };
}
