import { join, resolve } from "node:path";
import type { CalendarDay } from "@streamflow/core";
import {
  candidateRunName,
  retrain,
  type PromotionMetric,
  type RetrainResult,
} from "@streamflow/lifecycle";
import type { Database } from "@streamflow/features";
import type { ModelStage, Registry } from "@streamflow/registry-client";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { pendingRunJournal, withRegistry } from "../registry.ts";
import { withFeatureStore } from "../store.ts";
import { gitCommit } from "../tracking.ts";
import { recipeFromFlags, type TrainFlags } from "./train.ts";

export interface RetrainFlags extends TrainFlags {
  ifDrift?: boolean;
  reference?: CalendarDay;
  driftShare: number;
  metric: PromotionMetric;
  minDelta: number;
  stage?: ModelStage;
  alias?: string;
}

const f4 = (x: number | undefined) =>
  x === undefined || Number.isNaN(x) ? "NaN" : x.toFixed(4);
const finiteOrNull = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? null : x;

function checkFlags(flags: RetrainFlags): void {
  if (flags.ifDrift && flags.reference === undefined)
    throw new CliError(
      "USAGE",
      "--if-drift compares this month with a reference month: add --reference YYYY-MM-DD",
      { hint: "e.g. --if-drift --reference 2024-01-31" },
    );
  if (!flags.ifDrift && flags.reference !== undefined)
    throw new CliError(
      "USAGE",
      `--reference ${flags.reference} is only used with --if-drift`,
      { hint: "Add --if-drift, or drop --reference." },
    );
  if (flags.stage !== undefined && flags.alias !== undefined)
    throw new CliError(
      "USAGE",
      "a better candidate goes to one place: --stage or --alias, not both",
    );
}

export function formatRetrain(
  r: RetrainResult,
  flags: Pick<RetrainFlags, "metric" | "minDelta" | "modelName">,
  stage: string,
): string {
  const lines: string[] = [];
  const drift = r.drift?.outcome;
  if (drift !== undefined)
    lines.push(
      `[DRIFT] ${drift.reference.asOf} → ${drift.current.asOf}: ${drift.driftedFeatures.length} of ${drift.featuresTested} features drifted` +
        (drift.driftedFeatures.length > 0
          ? ` (${drift.driftedFeatures.join(", ")})`
          : "") +
        `, share ${f4(drift.driftShare)} ${drift.datasetDrift ? ">=" : "<"} ${drift.driftShareThreshold}`,
    );
  if (r.decision === "no_drift") {
    lines.push("[DECISION] no_drift: nothing trained, nothing changed");
    return lines.join("\n");
  }
  const t = r.trained!;
  lines.push(
    `[TRAIN] ${t.training.runName}: ${flags.metric}=${f4(r.candidateValue)} on ${t.training.nVal.toLocaleString("en-US")} validation rows · ${t.registered.modelName} version ${t.registered.modelVersion} (run ${t.registered.runId})`,
  );
  lines.push(
    r.current === undefined
      ? `[COMPARE] nothing holds ${stage} yet: the candidate goes in`
      : `[COMPARE] candidate_${flags.metric}=${f4(r.candidateValue)} vs prod_${flags.metric}=${f4(r.current.value)} (delta=${flags.minDelta}) · version ${t.registered.modelVersion} vs ${r.current.version}, both on the candidate's validation rows`,
  );
  lines.push(`[DECISION] ${r.decision}`);
  for (const c of r.promotion?.changes ?? [])
    lines.push(
      `  ${flags.modelName} ${c.what}: ${c.from ?? "(none)"} → ${c.to}`,
    );
  if (r.decision === "skipped")
    lines.push(
      `  version ${t.registered.modelVersion} stays registered, unpromoted; ${stage} is unchanged`,
    );
  return lines.join("\n");
}

export async function runRetrain(
  ctx: CommandContext,
  flags: RetrainFlags,
): Promise<void> {
  checkFlags(flags);
  const { result, target } = await withFeatureStore(ctx, (db) =>
    withRegistry(ctx, (registry) =>
      retrainFromCli(ctx, { db, registry }, flags),
    ),
  );
  ctx.result(retrainJson(result, flags, target), () =>
    formatRetrain(result, flags, target),
  );
}

/** The library's retrain with what the CLI resolves (output folder, journal, commit, progress); `pipeline run` calls it too. */
export async function retrainFromCli(
  ctx: CommandContext,
  { db, registry }: { db: Database; registry: Registry },
  flags: RetrainFlags,
): Promise<{ result: RetrainResult; target: string }> {
  const stage =
    flags.alias === undefined ? (flags.stage ?? "Production") : undefined;
  const commit = await gitCommit(ctx.io.cwd);
  const result = await retrain({
    db,
    registry,
    pendingRuns: pendingRunJournal(ctx),
    asOf: flags.asOf,
    labelAsOf: flags.labelAsOf,
    recipe: recipeFromFlags(flags),
    outDir: resolve(
      ctx.io.cwd,
      flags.outDir ??
        join(ctx.config.home, "runs", candidateRunName(flags.asOf)),
    ),
    experiment: flags.experiment,
    modelName: flags.modelName,
    metric: flags.metric,
    minDelta: flags.minDelta,
    stage,
    alias: flags.alias,
    ifDrift:
      flags.ifDrift && flags.reference !== undefined
        ? { reference: flags.reference, driftShare: flags.driftShare }
        : undefined,
    tags: commit ? { "mlflow.source.git.commit": commit } : {},
    logger: ctx.logger,
    onProgress: ctx.progress,
  });
  return { result, target: stage ?? `@${flags.alias}` };
}

/** What `retrain --json` prints, and the pipeline's retrain step records. */
export function retrainJson(
  r: RetrainResult,
  flags: Pick<RetrainFlags, "asOf" | "metric" | "minDelta">,
  target: string,
): object {
  const t = r.trained;
  return {
    decision: r.decision,
    as_of: flags.asOf,
    metric: flags.metric,
    target,
    candidate:
      t === undefined
        ? null
        : {
            version: t.registered.modelVersion,
            run_id: t.registered.runId,
            run_name: t.training.runName,
            value: finiteOrNull(r.candidateValue),
          },
    current:
      r.current === undefined
        ? null
        : {
            version: r.current.version,
            value: finiteOrNull(r.current.value),
          },
    min_delta: flags.minDelta,
    drift: r.drift?.json ?? null,
    changes: r.promotion?.changes ?? [],
  };
}
