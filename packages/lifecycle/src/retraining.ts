import type { CalendarDay } from "@streamflow/core";
import type { ModelStage } from "@streamflow/registry-client";
import type { DriftTestPlan } from "./drift/column-tests.ts";
import {
  monitorDrift,
  type MonitorDriftResult,
} from "./drift/monitor-drift.ts";
import { LifecycleError } from "./errors.ts";
import {
  promote,
  type PromotionMetric,
  type PromotionResult,
} from "./promotion.ts";
import {
  trainAndRegister,
  type TrainAndRegisterOptions,
  type TrainAndRegisterResult,
} from "./registration.ts";

export type RetrainDecision = "promoted" | "skipped" | "no_drift";

/** The lab's name for a retraining run: `candidate_<as_of>`. */
export function candidateRunName(asOf: CalendarDay): string {
  return `candidate_${asOf}`;
}

export interface RetrainOptions extends Omit<
  TrainAndRegisterOptions,
  "runName"
> {
  metric: PromotionMetric;
  minDelta: number;
  /** Where a better candidate goes; exactly one of stage and alias. */
  stage?: ModelStage | undefined;
  alias?: string | undefined;
  /** Compare this month with `reference` first, and retrain only on dataset drift. */
  ifDrift?:
    | { reference: CalendarDay; driftShare: number; plan?: DriftTestPlan }
    | undefined;
}

export interface RetrainResult {
  decision: RetrainDecision;
  /** Present when `ifDrift` was asked. */
  drift: MonitorDriftResult | undefined;
  /** Undefined when no drift was found (nothing was trained). */
  trained: TrainAndRegisterResult | undefined;
  /** The candidate's value of `metric`, on its own validation rows. */
  candidateValue: number | undefined;
  /** The previous holder of the stage or alias, and its value on the candidate's validation rows. */
  current: { version: string; value: number } | undefined;
  promotion: PromotionResult | undefined;
}

/**
 * The lab's retrain-and-compare without its leak: a candidate is trained and registered (run
 * `candidate_<as_of>`), then it and the current holder are scored on the candidate's own
 * validation rows and the candidate is promoted — archiving the previous holder of a stage — only
 * when {@link shouldPromote} says so. A skipped candidate stays registered, unpromoted: the
 * decision is a result, not an error.
 */
export async function retrain(options: RetrainOptions): Promise<RetrainResult> {
  const { db, registry, stage, alias, metric, minDelta } = options;
  if ((stage === undefined) === (alias === undefined))
    throw new LifecycleError(
      "PROMOTION_TARGET_MISSING",
      "say where a better candidate goes: a stage or an alias, not both",
      { hint: "e.g. --stage Production, or --alias champion" },
    );
  let drift: MonitorDriftResult | undefined;
  if (options.ifDrift !== undefined) {
    drift = await monitorDrift({
      db,
      registry,
      pendingRuns: options.pendingRuns,
      reference: options.ifDrift.reference,
      current: options.asOf,
      plan: options.ifDrift.plan ?? { method: "auto", features: {} },
      driftShare: options.ifDrift.driftShare,
      tags: options.tags,
      logger: options.logger,
      onProgress: options.onProgress,
    });
    if (!drift.outcome.datasetDrift)
      return {
        decision: "no_drift",
        drift,
        trained: undefined,
        candidateValue: undefined,
        current: undefined,
        promotion: undefined,
      };
  }
  const trained = await trainAndRegister({
    ...options,
    runName: candidateRunName(options.asOf),
    tags: { "mlflow.source.name": "streamflow retrain", ...options.tags },
  });
  const promotion = await promote({
    registry,
    modelName: options.modelName,
    candidate: { version: trained.registered.modelVersion },
    stage,
    alias,
    archiveExisting: stage !== undefined,
    ifBetter: { metric, minDelta, db },
  });
  // promote looked up the previous holder already; asking the registry again could disagree with it.
  const { comparison, holder } = promotion;
  return {
    decision: promotion.promoted ? "promoted" : "skipped",
    drift,
    trained,
    candidateValue: comparison?.candidate ?? trained.training.metrics[metric],
    current:
      holder === undefined
        ? undefined
        : { version: holder.version, value: comparison?.current ?? NaN },
    promotion,
  };
}
