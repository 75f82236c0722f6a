import { USER_ENTITY } from "@streamflow/features";
import type { QuickstartResult } from "@streamflow/lifecycle";

/** The entity's file: its row count is the month's user count. */
const ENTITY_FILE = USER_ENTITY.sourceFile;

export interface SamplePrediction {
  churn_probability: number;
  prediction: number;
}

export interface QuickstartReport {
  summary: QuickstartResult;
  database: string;
  url: string;
  /** The service keeps running after the report (--serve). */
  serving: boolean;
  sample: SamplePrediction;
  seconds: number;
}

const n = (x: number) => x.toLocaleString("en-US");

/** quickstart's `--json` document and its human summary, one line per lifecycle step. */
export function renderQuickstart(r: QuickstartReport): {
  json: object;
  text: string;
} {
  const { data, ingests, dataset, online, check, trained, sampleUserId } =
    r.summary;
  const { training, registered } = trained;
  const json = {
    database: r.database,
    data_dir: data.outDir,
    months: ingests.map((i) => ({
      as_of: i.asOf,
      noop: i.noop,
      rows: i.rows[ENTITY_FILE],
    })),
    dataset: {
      out: dataset.out,
      rows: dataset.rows,
      fingerprint: dataset.fingerprint,
      positive_rate: dataset.positiveRate,
    },
    online: {
      as_of: online.asOf,
      users: check.users,
      ok: check.ok,
      coverage: Object.fromEntries(
        check.views.map((v) => [v.featureView, v.coverage]),
      ),
    },
    model: {
      out_dir: training.outDir,
      auc: training.metrics.auc,
      f1: training.metrics.f1,
      accuracy: training.metrics.accuracy,
      train_seconds: training.trainSeconds,
      model_sha256: training.modelSha256,
      run_id: registered.runId,
      model_name: registered.modelName,
      model_version: registered.modelVersion,
      stage: "Production",
      tracking_uri: registered.trackingUri,
    },
    serve: {
      url: r.url,
      running: r.serving,
      sample: { user_id: sampleUserId, ...r.sample },
    },
    duration_ms: Math.round(r.seconds * 1000),
  };
  const curl = `curl -s ${r.url}/predict -H 'Content-Type: application/json' -d '{"user_id":"${sampleUserId}"}'`;
  const m = training.metrics;
  const text = [
    `StreamFlow quickstart — done in ${r.seconds.toFixed(1)} s on ${r.database}`,
    `  1. generated   ${data.months.length} months × ${n(data.users)} users → ${data.outDir}`,
    ...ingests.map(
      (i, k) =>
        `  ${k === 0 ? "2. ingested " : "             "}  ${i.asOf}${i.noop ? " (already there)" : ""}: ${n(i.rows[ENTITY_FILE] ?? 0)} users, features and labels snapshotted`,
    ),
    `  3. dataset     ${n(dataset.rows)} rows as of ${dataset.asOf}, churn ${(dataset.positiveRate * 100).toFixed(1)}% → ${dataset.out}`,
    `                 fingerprint ${dataset.fingerprint.slice(0, 16)}… (same data ⇒ same fingerprint, on PGlite or PostgreSQL)`,
    `  4. online      ${n(check.users)} users served as of ${online.asOf}; coverage ${check.views.map((v) => `${(v.coverage * 100).toFixed(1)}%`).join(" / ")} ${check.ok ? "✓" : "✗"}`,
    `  5. model       AUC ${m.auc.toFixed(4)} · F1 ${m.f1.toFixed(4)} · accuracy ${m.accuracy.toFixed(4)} in ${training.trainSeconds.toFixed(1)} s → ${training.outDir}`,
    `  6. registry    ${registered.modelName} version ${registered.modelVersion} (run ${registered.runId.slice(0, 12)}…) promoted to Production on ${registered.trackingUri}`,
    `  7. serve       POST /predict {"user_id":"${sampleUserId}"} → churn probability ${r.sample.churn_probability.toFixed(3)}, prediction ${r.sample.prediction}`,
    "",
    r.serving
      ? `The prediction service is running on ${r.url} (Ctrl-C stops it). Try:\n  ${curl}\n  curl -s ${r.url}/features/${sampleUserId}\n  curl -s ${r.url}/ready`
      : "Serve it: streamflow serve (or streamflow quickstart --serve), then POST /predict; see streamflow serve --help.",
    "Next: streamflow train --as-of 2024-02-29 · streamflow promote --latest --stage Production --if-better · streamflow models show streamflow_churn",
  ].join("\n");
  return { json, text };
}
