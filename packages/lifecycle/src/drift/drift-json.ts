import type { ColumnDrift } from "./column-tests.ts";
import type { DriftOutcome } from "./detect-drift.ts";

/** A finite number, or null: JSON has no NaN, and an untested column has no score. */
const num = (x: number | null): number | null =>
  x !== null && Number.isFinite(x) ? x : null;

function columnJson(c: ColumnDrift) {
  return {
    method: c.method,
    score: num(c.score),
    threshold: c.threshold,
    drifted: c.drifted,
    n_reference: c.reference.n,
    n_current: c.current.n,
    chosen_by: c.chosenBy,
    note: c.note,
  };
}

export interface DriftJsonContext {
  runId: string | null;
  /** The report file written for the user (`--report`), if any. */
  report: string | null;
  /** Where the report lives in the tracking run's artifacts. */
  reportArtifact: string | null;
}

/**
 * The result as `streamflow drift --json` prints it, and as it is logged and stored: one shape
 * for scripts, the run's `drift.json` artifact and the `drift_reports` table.
 */
export function driftJson(outcome: DriftOutcome, context: DriftJsonContext) {
  const p = outcome.performance;
  return {
    reference: outcome.reference.asOf,
    current: outcome.current.asOf,
    reference_rows: outcome.reference.rows,
    current_rows: outcome.current.rows,
    features: outcome.features.map((f) => {
      const {
        method,
        score,
        threshold,
        drifted,
        n_reference,
        n_current,
        ...rest
      } = columnJson(f);
      return {
        feature: f.name,
        type: f.kind,
        method,
        score,
        threshold,
        drifted,
        n_reference,
        n_current,
        column_type: f.columnType,
        ...rest,
      };
    }),
    drifted_features: outcome.driftedFeatures,
    features_tested: outcome.featuresTested,
    drift_share: outcome.driftShare,
    drift_share_threshold: outcome.driftShareThreshold,
    dataset_drift: outcome.datasetDrift,
    target: {
      column: outcome.target.name,
      reference_rate: outcome.target.referenceRate,
      current_rate: outcome.target.currentRate,
      abs_diff: outcome.target.absDiff,
      ...columnJson(outcome.target),
    },
    prediction:
      outcome.prediction === null
        ? null
        : {
            column: outcome.prediction.name,
            ...columnJson(outcome.prediction),
          },
    performance:
      p === null
        ? null
        : {
            rows: p.rows,
            auc: num(p.current.auc),
            f1: p.current.f1,
            accuracy: p.current.accuracy,
            validation: p.validation,
            drop: {
              auc: num(p.drop.auc),
              f1: p.drop.f1,
              accuracy: p.drop.accuracy,
            },
          },
    model:
      outcome.model === null
        ? null
        : {
            name: outcome.model.name,
            version: outcome.model.version,
            run_id: outcome.model.runId,
          },
    report: context.report,
    report_artifact: context.reportArtifact,
    run_id: context.runId,
    duration_ms: outcome.durationMs,
  };
}

export type DriftJson = ReturnType<typeof driftJson>;

/** One MLflow metric per score, share and figure; untested columns log nothing. */
export function driftMetrics(
  outcome: DriftOutcome,
): { key: string; value: number }[] {
  const metrics: { key: string; value: number | null }[] = [
    ...outcome.features.map((f) => ({
      key: `drift.${f.name}`,
      value: f.score,
    })),
    { key: "drift_share", value: outcome.driftShare },
    { key: "dataset_drift", value: outcome.datasetDrift ? 1 : 0 },
    { key: "drifted_features", value: outcome.driftedFeatures.length },
    { key: "features_tested", value: outcome.featuresTested },
    { key: "target.reference_rate", value: outcome.target.referenceRate },
    { key: "target.current_rate", value: outcome.target.currentRate },
    { key: "target.abs_diff", value: outcome.target.absDiff },
    { key: "target.drift", value: outcome.target.score },
  ];
  if (outcome.prediction !== null)
    metrics.push({ key: "prediction.drift", value: outcome.prediction.score });
  const p = outcome.performance;
  if (p !== null) {
    metrics.push(
      { key: "performance.auc", value: p.current.auc },
      { key: "performance.f1", value: p.current.f1 },
      { key: "performance.accuracy", value: p.current.accuracy },
      { key: "performance.auc_drop", value: p.drop.auc },
      { key: "performance.f1_drop", value: p.drop.f1 },
      { key: "performance.accuracy_drop", value: p.drop.accuracy },
    );
  }
  return metrics.flatMap((m) =>
    m.value !== null && Number.isFinite(m.value)
      ? [{ key: m.key, value: m.value }]
      : [],
  );
}
