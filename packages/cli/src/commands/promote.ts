import {
  promote,
  type CandidateSpec,
  type PromotionMetric,
} from "@streamflow/lifecycle";
import type { ModelStage } from "@streamflow/registry-client";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { withRegistry } from "../registry.ts";
import { withFeatureStore } from "../store.ts";

export interface PromoteFlags {
  modelName: string;
  version?: string;
  latest?: boolean;
  runId?: string;
  stage?: ModelStage;
  alias?: string;
  archiveExisting?: boolean;
  ifBetter?: boolean;
  metric: PromotionMetric;
  minDelta: number;
}

function candidateSpec(flags: PromoteFlags): CandidateSpec {
  const chosen = [
    flags.version !== undefined,
    flags.latest === true,
    flags.runId !== undefined,
  ].filter(Boolean).length;
  if (chosen !== 1) {
    throw new CliError(
      "USAGE",
      "name the candidate with exactly one of --version N, --latest or --run-id ID",
      {
        hint: "e.g. streamflow promote --latest --stage Production",
      },
    );
  }
  if (flags.version !== undefined) return { version: flags.version };
  return flags.runId !== undefined ? { runId: flags.runId } : { latest: true };
}

export async function runPromote(
  ctx: CommandContext,
  flags: PromoteFlags,
): Promise<void> {
  if (flags.stage === undefined && flags.alias === undefined) {
    throw new CliError(
      "USAGE",
      "say where the version goes: --stage Production|Staging|Archived and/or --alias NAME",
    );
  }
  const { modelName, stage, alias, metric, minDelta } = flags;
  const options = {
    modelName,
    stage,
    alias,
    archiveExisting: flags.archiveExisting,
    candidate: candidateSpec(flags),
  };
  // The feature store is opened only when --if-better needs validation rows.
  const result = await withRegistry(ctx, (registry) =>
    flags.ifBetter
      ? withFeatureStore(ctx, (db) =>
          promote({ ...options, registry, ifBetter: { metric, minDelta, db } }),
        )
      : promote({ ...options, registry }),
  );
  const { candidate, holder, comparison, promoted, changes } = result;
  ctx.result(
    {
      promoted,
      model_name: modelName,
      version: candidate.version,
      stage: stage ?? null,
      alias: alias ?? null,
      candidate: { metric, value: comparison?.candidate ?? null },
      current: holder
        ? { version: holder.version, value: comparison?.current ?? null }
        : null,
      min_delta: minDelta,
      changes,
    },
    () =>
      [
        comparison
          ? `[COMPARE] candidate ${metric}=${comparison.candidate.toFixed(4)} (version ${candidate.version}) vs current ${comparison.current.toFixed(4)} (version ${holder?.version}), min delta ${minDelta}`
          : holder === undefined && flags.ifBetter
            ? `[COMPARE] nothing holds ${stage ?? "@" + alias} yet: version ${candidate.version} goes in`
            : undefined,
        promoted
          ? `[DECISION] promoted`
          : `[DECISION] skipped: version ${candidate.version} is not better by more than ${minDelta}`,
        ...changes.map(
          (c) => `  ${modelName} ${c.what}: ${c.from ?? "(none)"} → ${c.to}`,
        ),
      ]
        .filter((l): l is string => l !== undefined)
        .join("\n"),
  );
  if (!promoted) {
    throw new CliError(
      "CHECK_FAILED",
      `version ${candidate.version} ${metric} ${comparison!.candidate.toFixed(4)} does not beat version ${holder!.version}'s ${comparison!.current.toFixed(4)} by more than ${minDelta}`,
      {
        hint: "Nothing was changed. Train a better candidate, or promote without --if-better to force it.",
      },
    );
  }
}
