import { availableParallelism } from "node:os";
import {
  DECISION_THRESHOLD,
  DistributionBuilder,
  accuracy,
  f1Score,
  rocAuc,
  rowsFromColumns,
  SILENT_LOGGER,
  type CalendarDay,
  type Logger,
  type ModelMetrics,
  type ModelPredictor,
  type ProgressListener,
  type StreamflowModel,
} from "@streamflow/core";
import {
  scanDataset,
  type ColumnType,
  type Database,
  type DatasetColumn,
} from "@streamflow/features";
import { checkModelAgainstStore } from "../verified-model.ts";
import { offlineColumns } from "../store-columns.ts";
import {
  checkDriftPlan,
  driftKindOf,
  testColumn,
  type ColumnDrift,
  type DriftTestPlan,
} from "./column-tests.ts";

/** The registered model whose scores and performance are watched. */
export interface WatchedModel {
  model: StreamflowModel;
  name: string;
  version: string;
  runId: string | null;
}

export interface DetectDriftOptions {
  db: Database;
  /** Both periods are point-in-time datasets: features as of the date, labels from the label snapshots as of it. */
  reference: CalendarDay;
  current: CalendarDay;
  plan: DriftTestPlan;
  /** Dataset drift when drifted / tested >= this share. @default 0.5 (Evidently's preset) */
  driftShare?: number | undefined;
  /** With a model: prediction drift over both periods and realised performance on the current one. */
  model?: WatchedModel | undefined;
  /** Threads predicting, this one included. @default os.availableParallelism() */
  jobs?: number | undefined;
  logger?: Logger;
  onProgress?: ProgressListener;
}

export interface DriftPeriod {
  asOf: CalendarDay;
  rows: number;
  fingerprint: string;
}

export interface FeatureDrift extends ColumnDrift {
  /** The declared column type (integer, double, boolean, text). */
  columnType: DatasetColumn["type"];
}

export interface TargetDrift extends ColumnDrift {
  referenceRate: number;
  currentRate: number;
  /** |current − reference| churn rate: the lab's measure of target drift. */
  absDiff: number;
}

/** AUC is null on a month whose labels are all one class. */
export interface PerformanceFigures {
  auc: number | null;
  f1: number;
  accuracy: number;
}

export interface RealisedPerformance {
  /** Current-period rows the figures are computed on. */
  rows: number;
  current: PerformanceFigures;
  /** The model's own validation figures, from its file. */
  validation: Pick<ModelMetrics, "auc" | "f1" | "accuracy">;
  /** validation − current: positive when the model does worse on the new month. */
  drop: PerformanceFigures;
}

export interface DriftOutcome {
  reference: DriftPeriod;
  current: DriftPeriod;
  features: FeatureDrift[];
  featuresTested: number;
  driftedFeatures: string[];
  driftShare: number;
  driftShareThreshold: number;
  datasetDrift: boolean;
  target: TargetDrift;
  prediction: ColumnDrift | null;
  performance: RealisedPerformance | null;
  model: { name: string; version: string; runId: string | null } | null;
  durationMs: number;
}

/** What one pass over a period's dataset leaves: a distribution per column, and the model's scores. */
interface PeriodSummary {
  period: DriftPeriod;
  columns: DatasetColumn[];
  features: DistributionBuilder[];
  labels: DistributionBuilder;
  positives: number;
  scores: DistributionBuilder | null;
  /** Current period only: p_churn and labels for realised performance. */
  pChurn: Float64Array[];
  labelArrays: Uint8Array[];
}

async function summarisePeriod(
  options: DetectDriftOptions,
  asOf: CalendarDay,
  scoring: { predictor: ModelPredictor | null; keepScores: boolean },
): Promise<PeriodSummary> {
  const { predictor, keepScores } = scoring;
  // A dataset batch's columns, in order: every feature the repository declares.
  const names = options.db.layout.featureColumns.map((c) => c.name);
  let features: DistributionBuilder[] = [];
  const labels = new DistributionBuilder();
  const scores = predictor === null ? null : new DistributionBuilder();
  const pChurn: Float64Array[] = [];
  const labelArrays: Uint8Array[] = [];
  let positives = 0;
  const scanned = await scanDataset(
    {
      db: options.db,
      asOf,
      logger: options.logger ?? SILENT_LOGGER,
      ...(options.onProgress
        ? {
            onProgress: (e) =>
              options.onProgress!({ ...e, phase: `read ${asOf}` }),
          }
        : {}),
    },
    async (batch) => {
      if (features.length === 0)
        features = batch.features.map(() => new DistributionBuilder());
      batch.features.forEach((column, i) => {
        const builder = features[i]!;
        for (const v of column) builder.add(v);
      });
      for (const l of batch.labels) {
        labels.add(l === 1);
        positives += l;
      }
      if (predictor !== null && scores !== null) {
        const p = await predictor.predictProba(
          rowsFromColumns({ names, columns: batch.features }),
        );
        for (const x of p) scores.add(x);
        if (keepScores) {
          pChurn.push(p);
          labelArrays.push(batch.labels);
        }
      }
    },
  );
  if (features.length === 0)
    features = scanned.featureColumns.map(() => new DistributionBuilder());
  return {
    period: {
      asOf: scanned.asOf,
      rows: scanned.rows,
      fingerprint: scanned.fingerprint,
    },
    columns: scanned.featureColumns,
    features,
    labels,
    positives,
    scores,
    pChurn,
    labelArrays,
  };
}

function concat<T extends Float64Array | Uint8Array>(
  parts: T[],
  make: (n: number) => T,
): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function realisedPerformance(
  model: StreamflowModel,
  current: PeriodSummary,
): RealisedPerformance {
  const yProba = concat(current.pChurn, (n) => new Float64Array(n));
  const yTrue = concat(current.labelArrays, (n) => new Uint8Array(n));
  const yPred = Uint8Array.from(yProba, (p) =>
    p > DECISION_THRESHOLD ? 1 : 0,
  );
  const positives = yTrue.reduce((n, y) => n + y, 0);
  // A month of one class has accuracy and F1, but no ranking for an AUC to judge.
  const auc =
    positives === 0 || positives === yTrue.length
      ? null
      : rocAuc(yTrue, yProba);
  const now = {
    auc,
    f1: f1Score(yTrue, yPred),
    accuracy: accuracy(yTrue, yPred),
  };
  const v = model.training.metrics;
  return {
    rows: yTrue.length,
    current: now,
    validation: { auc: v.auc, f1: v.f1, accuracy: v.accuracy },
    drop: {
      auc: auc === null ? null : v.auc - auc,
      f1: v.f1 - now.f1,
      accuracy: v.accuracy - now.accuracy,
    },
  };
}

/**
 * Compares two months column by column over the declared feature columns, the label snapshots
 * and, with a model, its scores and realised performance. Each period is read once, in one
 * streaming pass; only value counts are kept, so memory grows with distinct values, not rows.
 * @throws FeaturesError NO_DATA_AS_OF listing the dates that exist; LifecycleError
 * DRIFT_OPTION_INVALID, MODEL_SCHEMA_MISMATCH.
 */
export async function detectDrift(
  options: DetectDriftOptions,
): Promise<DriftOutcome> {
  const started = performance.now();
  const logger = options.logger ?? SILENT_LOGGER;
  const columns = offlineColumns(options.db.layout);
  // A feature the repository one-hot encodes is compared as categories, whatever its type.
  const categorical = new Set(
    options.db.layout.repository.model.categorical ?? [],
  );
  const kindOf = (c: { name: string; type: ColumnType }) =>
    categorical.has(c.name) ? "categorical" : driftKindOf(c.type);
  checkDriftPlan(
    options.plan,
    columns.map((c) => ({ name: c.name, kind: kindOf(c) })),
  );
  const watched = options.model;
  if (watched !== undefined) checkModelAgainstStore(watched.model, { columns });
  const predictor =
    watched === undefined
      ? null
      : watched.model.openPredictor({
          jobs: options.jobs ?? availableParallelism(),
        });
  let reference: PeriodSummary;
  let current: PeriodSummary;
  try {
    reference = await summarisePeriod(options, options.reference, {
      predictor,
      keepScores: false,
    });
    current = await summarisePeriod(options, options.current, {
      predictor,
      keepScores: true,
    });
  } finally {
    await predictor?.close();
  }
  const features: FeatureDrift[] = reference.columns.map((column, i) => ({
    ...testColumn(options.plan, {
      name: column.name,
      kind: kindOf(column),
      reference: reference.features[i]!.build(),
      current: current.features[i]!.build(),
    }),
    columnType: column.type,
  }));
  const tested = features.filter((f) => f.method !== null);
  const drifted = tested.filter((f) => f.drifted).map((f) => f.name);
  const driftShare = tested.length === 0 ? 0 : drifted.length / tested.length;
  const driftShareThreshold = options.driftShare ?? 0.5;
  const referenceRate = ratio(reference.positives, reference.period.rows);
  const currentRate = ratio(current.positives, current.period.rows);
  const target: TargetDrift = {
    ...testColumn(options.plan, {
      name: options.db.layout.label.column.name,
      kind: "categorical",
      reference: reference.labels.build(),
      current: current.labels.build(),
    }),
    referenceRate,
    currentRate,
    absDiff: Math.abs(currentRate - referenceRate),
  };
  const prediction =
    reference.scores === null || current.scores === null
      ? null
      : testColumn(options.plan, {
          name: "p_churn",
          kind: "numerical",
          reference: reference.scores.build(),
          current: current.scores.build(),
        });
  logger.info(
    `drift ${options.reference} → ${options.current}: ${drifted.length} of ${tested.length} features drifted`,
  );
  return {
    reference: reference.period,
    current: current.period,
    features,
    featuresTested: tested.length,
    driftedFeatures: drifted,
    driftShare,
    driftShareThreshold,
    datasetDrift: driftShare >= driftShareThreshold,
    target,
    prediction,
    performance:
      watched === undefined
        ? null
        : realisedPerformance(watched.model, current),
    model:
      watched === undefined
        ? null
        : {
            name: watched.name,
            version: watched.version,
            runId: watched.runId,
          },
    durationMs: Math.round(performance.now() - started),
  };
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
