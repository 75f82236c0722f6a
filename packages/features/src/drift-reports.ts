import { parseCalendarDay, type CalendarDay } from "@streamflow/core";
import type { SqlExecutor } from "./internal/db.ts";

/** One feature's line of a drift report, as a service or dashboard reads it. */
export interface DriftFeatureScore {
  feature: string;
  method: string;
  /** Null when the column could not be tested (no values on one side). */
  score: number | null;
  drifted: boolean;
}

export interface DriftReportRecord {
  reference: CalendarDay;
  current: CalendarDay;
  /** The model whose predictions were compared, if any. */
  model: { name: string; version: string } | null;
  featuresTested: number;
  driftedFeatures: number;
  driftShare: number;
  datasetDrift: boolean;
  runId: string | null;
  /**
   * The whole result as `streamflow drift --json` prints it. Its `features[]` entries carry
   * `feature`, `method`, `score` and `drifted`, and `prediction` (or null) a `score`, which is
   * what {@link latestDriftReport} reads back out.
   */
  result: Record<string, unknown>;
}

export interface StoredDriftReport extends DriftReportRecord {
  id: number;
  createdAt: Date;
  features: DriftFeatureScore[];
  /** Prediction-drift score, when a model was compared. */
  predictionScore: number | null;
}

/** Appends a drift report; the newest row is what `latestDriftReport` returns. */
export async function recordDriftReport(options: {
  db: SqlExecutor;
  report: DriftReportRecord;
}): Promise<{ id: number; createdAt: Date }> {
  const r = options.report;
  const rows = await options.db.query<{ id: string; created_at: Date }>(
    `INSERT INTO drift_reports (reference, current, model_name, model_version, features_tested,
       drifted_features, drift_share, dataset_drift, run_id, result)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) RETURNING id, created_at`,
    [
      r.reference,
      r.current,
      r.model?.name ?? null,
      r.model?.version ?? null,
      r.featuresTested,
      r.driftedFeatures,
      r.driftShare,
      r.datasetDrift,
      r.runId,
      JSON.stringify(r.result),
    ],
  );
  const row = rows[0]!;
  return { id: Number(row.id), createdAt: new Date(row.created_at) };
}

type DriftReportRow = {
  id: string;
  reference: string;
  current: string;
  model_name: string | null;
  model_version: string | null;
  features_tested: number;
  drifted_features: number;
  drift_share: number;
  dataset_drift: boolean;
  run_id: string | null;
  result: Record<string, unknown> | string;
  created_at: Date | string;
};

const finiteOrNull = (v: unknown): number | null =>
  typeof v === "number" && Number.isFinite(v) ? v : null;

function featureScores(result: Record<string, unknown>): DriftFeatureScore[] {
  const features = Array.isArray(result["features"]) ? result["features"] : [];
  return features.flatMap((f: unknown) => {
    if (typeof f !== "object" || f === null) return [];
    const o = f as Record<string, unknown>;
    if (typeof o["feature"] !== "string") return [];
    return [
      {
        feature: o["feature"],
        method: typeof o["method"] === "string" ? o["method"] : "",
        score: finiteOrNull(o["score"]),
        drifted: o["drifted"] === true,
      },
    ];
  });
}

/** The newest drift report, or null when `drift` has never run against this store. */
export async function latestDriftReport(options: {
  db: SqlExecutor;
}): Promise<StoredDriftReport | null> {
  const rows = await options.db.query<DriftReportRow>(
    `SELECT id, reference::text AS reference, current::text AS current, model_name, model_version,
       features_tested, drifted_features, drift_share, dataset_drift, run_id, result, created_at
     FROM drift_reports ORDER BY id DESC LIMIT 1`,
  );
  const row = rows[0];
  if (row === undefined) return null;
  const result: Record<string, unknown> =
    typeof row.result === "string"
      ? (JSON.parse(row.result) as Record<string, unknown>)
      : row.result;
  const prediction = result["prediction"];
  return {
    id: Number(row.id),
    reference: parseCalendarDay(row.reference, "reference"),
    current: parseCalendarDay(row.current, "current"),
    model:
      row.model_name === null
        ? null
        : { name: row.model_name, version: row.model_version ?? "" },
    featuresTested: row.features_tested,
    driftedFeatures: row.drifted_features,
    driftShare: row.drift_share,
    datasetDrift: row.dataset_drift,
    runId: row.run_id,
    result,
    createdAt: new Date(row.created_at),
    features: featureScores(result),
    predictionScore:
      typeof prediction === "object" && prediction !== null
        ? finiteOrNull((prediction as Record<string, unknown>)["score"])
        : null,
  };
}
