import { dirname, extname, resolve } from "node:path";
import { stat } from "node:fs/promises";
import {
  DRIFT_METHODS,
  type CalendarDay,
  type DriftMethod,
} from "@streamflow/core";
import {
  monitorDrift,
  parseModelTarget,
  type DriftMethodChoice,
  type FeatureDriftSetting,
  type MonitorDriftResult,
} from "@streamflow/lifecycle";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import type { FeatureMethodFlag } from "../parsers.ts";
import { pendingRunJournal, withRegistry } from "../registry.ts";
import { withFeatureStore } from "../store.ts";
import { gitCommit } from "../tracking.ts";

export interface DriftFlags {
  reference: CalendarDay;
  current: CalendarDay;
  modelUri?: string;
  method: DriftMethodChoice;
  threshold?: number;
  feature?: FeatureMethodFlag[];
  driftShare: number;
  report?: string;
  failOnDrift?: boolean;
}

function featureSettings(
  flags: FeatureMethodFlag[] | undefined,
): Record<string, FeatureDriftSetting> {
  const settings: Record<string, FeatureDriftSetting> = {};
  for (const f of flags ?? []) {
    if (!(DRIFT_METHODS as readonly string[]).includes(f.method))
      throw new CliError(
        "USAGE",
        `--feature ${f.feature}=${f.method}: unknown method '${f.method}'`,
        { hint: `Methods: ${DRIFT_METHODS.join(", ")}.` },
      );
    settings[f.feature] = {
      method: f.method as DriftMethod,
      threshold: f.threshold,
    };
  }
  return settings;
}

/** Refused before two months are read: a report path that cannot be written. */
async function reportPath(
  ctx: CommandContext,
  report: string | undefined,
): Promise<string | undefined> {
  if (report === undefined) return undefined;
  const path = resolve(ctx.io.cwd, report);
  if (extname(path).toLowerCase() !== ".html")
    throw new CliError(
      "USAGE",
      `--report ${report}: the report is an .html file`,
      {
        hint: "Name it e.g. drift.html.",
      },
    );
  const dir = await stat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory())
    throw new CliError(
      "USAGE",
      `--report ${report}: folder ${dirname(path)} does not exist`,
      {
        hint: "Create it first, or write the report elsewhere.",
      },
    );
  return path;
}

const f4 = (x: number | null) => (x === null ? "—" : x.toFixed(4));

function human(r: MonitorDriftResult): string {
  const o = r.outcome;
  const width = Math.max(...o.features.map((f) => f.name.length), 8);
  const lines = [
    `Drift ${o.reference.asOf} → ${o.current.asOf} (${o.reference.rows.toLocaleString("en-US")} / ${o.current.rows.toLocaleString("en-US")} users): ` +
      `${o.driftedFeatures.length} of ${o.featuresTested} features drifted, share ${f4(o.driftShare)} → ` +
      (o.datasetDrift ? "DATASET DRIFT" : "no dataset drift") +
      ` (threshold ${o.driftShareThreshold})`,
    ...o.features.map(
      (f) =>
        `  ${f.drifted ? "!" : " "} ${f.name.padEnd(width)}  ${(f.method ?? "not tested").padEnd(13)} ${f4(f.score).padStart(8)}  (t ${f.threshold ?? "—"})${f.drifted ? "  DRIFT" : ""}`,
    ),
    `  target ${o.target.name}: rate ${f4(o.target.referenceRate)} → ${f4(o.target.currentRate)}, abs diff ${f4(o.target.absDiff)}; ${o.target.method} ${f4(o.target.score)}${o.target.drifted ? " DRIFT" : ""}`,
  ];
  if (o.prediction !== null)
    lines.push(
      `  prediction p_churn (${o.model!.name} v${o.model!.version}): ${o.prediction.method} ${f4(o.prediction.score)}${o.prediction.drifted ? " DRIFT" : ""}`,
    );
  if (o.performance !== null) {
    const p = o.performance;
    lines.push(
      `  performance on ${o.current.asOf}: AUC ${f4(p.current.auc)} (validation ${f4(p.validation.auc)}, drop ${f4(p.drop.auc)}) · F1 ${f4(p.current.f1)} · accuracy ${f4(p.current.accuracy)}`,
    );
  }
  lines.push(
    `  run ${r.runId} in streamflow-monitoring` +
      (r.json.report ? ` · report ${r.json.report}` : ""),
  );
  return lines.join("\n");
}

export async function runDrift(
  ctx: CommandContext,
  flags: DriftFlags,
): Promise<void> {
  const plan = {
    method: flags.method,
    threshold: flags.threshold,
    features: featureSettings(flags.feature),
  };
  const target =
    flags.modelUri === undefined ? undefined : parseModelTarget(flags.modelUri);
  const report = await reportPath(ctx, flags.report);
  const commit = await gitCommit(ctx.io.cwd);
  const r = await withFeatureStore(ctx, (db) =>
    withRegistry(ctx, (registry) =>
      monitorDrift({
        db,
        registry,
        pendingRuns: pendingRunJournal(ctx),
        reference: flags.reference,
        current: flags.current,
        plan,
        driftShare: flags.driftShare,
        target,
        reportPath: report,
        tags: commit ? { "mlflow.source.git.commit": commit } : {},
        logger: ctx.logger,
        onProgress: ctx.progress,
      }),
    ),
  );
  ctx.result(r.json, () => human(r));
  if (flags.failOnDrift && r.outcome.datasetDrift)
    throw new CliError(
      "CHECK_FAILED",
      `dataset drift: ${r.outcome.driftedFeatures.length} of ${r.outcome.featuresTested} features drifted (${r.outcome.driftedFeatures.join(", ")}), share ${r.outcome.driftShare.toFixed(4)} >= ${r.outcome.driftShareThreshold}`,
      {
        hint: `See the report (run ${r.runId}); retrain with streamflow train, or raise --drift-share if this is expected.`,
      },
    );
}
