import { SILENT_LOGGER, TOOLKIT_VERSION } from "@streamflow/core";
import { recordDriftReport } from "@streamflow/features";
import type { Registry } from "@streamflow/registry-client";
import {
  describeTarget,
  resolveTarget,
  type ModelTarget,
} from "../model-target.ts";
import { withTrackedRun, type PendingRunJournal } from "../tracked-run.ts";
import { loadVerifiedModel } from "../verified-model.ts";
import { writeAtomically } from "../write-atomically.ts";
import {
  detectDrift,
  type DetectDriftOptions,
  type DriftOutcome,
  type WatchedModel,
} from "./detect-drift.ts";
import { driftJson, driftMetrics, type DriftJson } from "./drift-json.ts";
import { renderDriftReportHtml } from "./report-html.ts";

/** The experiment every drift run is tracked in, beside the training experiment. */
export const MONITORING_EXPERIMENT = "streamflow-monitoring";
export const DRIFT_REPORT_ARTIFACT = "drift_report.html";
export const DRIFT_JSON_ARTIFACT = "drift.json";

export interface MonitorDriftOptions extends Omit<DetectDriftOptions, "model"> {
  registry: Registry;
  pendingRuns: PendingRunJournal;
  /** The registered version whose scores and performance are watched (verified before use). */
  target?: ModelTarget | undefined;
  /** Also write the report here (`.html`), atomically. */
  reportPath?: string | undefined;
  /** @default "streamflow-monitoring" */
  experiment?: string | undefined;
  /** Extra run tags, e.g. `mlflow.source.git.commit`. */
  tags?: Readonly<Record<string, string>>;
  now?: () => Date;
}

export interface MonitorDriftResult {
  outcome: DriftOutcome;
  /** What `drift --json` prints, the run's drift.json and the drift_reports row hold. */
  json: DriftJson;
  html: string;
  runId: string;
  reportId: number;
}

/** The lab's naming: `drift_<reference>_vs_<current>`. */
export function driftRunName(reference: string, current: string): string {
  return `drift_${reference}_vs_${current}`;
}

/**
 * Drift between two months as a tracked run: the comparison (`detectDrift`), then a run in
 * `streamflow-monitoring` with one metric per score and the report and JSON as artifacts, then a
 * `drift_reports` row pointing at that run, for serve's gauges and dashboards. Nothing is
 * recorded when the comparison fails; a run that fails half-way ends FAILED.
 */
export async function monitorDrift(
  options: MonitorDriftOptions,
): Promise<MonitorDriftResult> {
  const { registry } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  let model: WatchedModel | undefined;
  if (options.target !== undefined) {
    const version = await resolveTarget(registry, options.target);
    const verified = await loadVerifiedModel({ registry, version });
    model = {
      model: verified.model,
      name: version.name,
      version: version.version,
      runId: version.runId ?? null,
    };
  }
  const outcome = await detectDrift({ ...options, model });
  const generatedAt = (options.now ?? (() => new Date()))();
  const { value, run } = await withTrackedRun(
    {
      registry,
      pendingRuns: options.pendingRuns,
      experiment: options.experiment ?? MONITORING_EXPERIMENT,
      runName: driftRunName(outcome.reference.asOf, outcome.current.asOf),
      tags: {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "streamflow drift",
        "streamflow.toolkit_version": TOOLKIT_VERSION,
        "streamflow.reference_fingerprint": outcome.reference.fingerprint,
        "streamflow.current_fingerprint": outcome.current.fingerprint,
        ...options.tags,
      },
      logger,
    },
    async (run) => {
      const runId = run.info.runId;
      const json = driftJson(outcome, {
        runId,
        report: options.reportPath ?? null,
        reportArtifact: `${run.info.artifactUri}/${DRIFT_REPORT_ARTIFACT}`,
      });
      const html = renderDriftReportHtml(outcome, { runId, generatedAt });
      await registry.logBatch({
        runId,
        params: {
          reference: outcome.reference.asOf,
          current: outcome.current.asOf,
          method: options.plan.method,
          threshold: String(options.plan.threshold ?? "default"),
          drift_share: String(outcome.driftShareThreshold),
          model_uri:
            options.target === undefined
              ? "None"
              : describeTarget(options.target),
        },
        metrics: driftMetrics(outcome),
        tags: {},
      });
      await registry.logArtifactContent({
        runId,
        path: DRIFT_REPORT_ARTIFACT,
        content: html,
      });
      await registry.logArtifactContent({
        runId,
        path: DRIFT_JSON_ARTIFACT,
        content: JSON.stringify(json, null, 2) + "\n",
      });
      return { json, html };
    },
  );
  const { id } = await recordDriftReport({
    db: options.db,
    report: {
      reference: outcome.reference.asOf,
      current: outcome.current.asOf,
      model:
        outcome.model === null
          ? null
          : { name: outcome.model.name, version: outcome.model.version },
      featuresTested: outcome.featuresTested,
      driftedFeatures: outcome.driftedFeatures.length,
      driftShare: outcome.driftShare,
      datasetDrift: outcome.datasetDrift,
      runId: run.info.runId,
      result: value.json,
    },
  });
  if (options.reportPath !== undefined)
    await writeAtomically(options.reportPath, value.html);
  return {
    outcome,
    json: value.json,
    html: value.html,
    runId: run.info.runId,
    reportId: id,
  };
}
