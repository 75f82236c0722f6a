import type { ModelStage, ModelVersion } from "@streamflow/registry-client";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { loadVerifiedModel } from "@streamflow/lifecycle";
import { currentHolder, newestFinishedVersion, scoreOnCandidateData, type PromotionMetric } from "../promotion.ts";
import { withRegistry } from "../registry.ts";

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

async function pickCandidate(registry: Parameters<Parameters<typeof withRegistry>[1]>[0], flags: PromoteFlags): Promise<ModelVersion> {
  const chosen = [flags.version !== undefined, flags.latest === true, flags.runId !== undefined].filter(Boolean).length;
  if (chosen !== 1) {
    throw new CliError("USAGE", "name the candidate with exactly one of --version N, --latest or --run-id ID", {
      hint: "e.g. streamflow promote --latest --stage Production",
    });
  }
  if (flags.version !== undefined) return registry.getModelVersion(flags.modelName, flags.version);
  const versions = await registry.searchModelVersions({ name: flags.modelName, ...(flags.runId ? { runId: flags.runId } : {}) });
  const found = flags.latest === true ? await newestFinishedVersion(registry, versions) : versions[0];
  if (found === undefined) {
    // A search finds nothing for an unknown model or run too: name the one that is missing (exit 4, like any unknown name).
    await registry.getRegisteredModel(flags.modelName);
    if (flags.runId) await registry.getRun(flags.runId);
    throw new CliError("NOT_FOUND", flags.runId ? `no version of ${flags.modelName} comes from run ${flags.runId}` : `${flags.modelName} has no versions`, {
      hint: "List them with: streamflow models show " + flags.modelName,
    });
  }
  return found;
}

export async function runPromote(ctx: CommandContext, flags: PromoteFlags): Promise<void> {
  if (flags.stage === undefined && flags.alias === undefined) {
    throw new CliError("USAGE", "say where the version goes: --stage Production|Staging|Archived and/or --alias NAME");
  }
  const result = await withRegistry(ctx, async (registry) => {
    const candidate = await pickCandidate(registry, flags);
    const holder = await currentHolder(registry, { name: flags.modelName, stage: flags.stage, alias: flags.alias });
    let comparison: { candidate: number; current: number } | undefined;
    if (flags.ifBetter && holder !== undefined && holder.version !== candidate.version) {
      // Both are verified: a tampered artifact must not win (or lose) a comparison.
      const [cand, cur] = await Promise.all([loadVerifiedModel({ registry, version: candidate }), loadVerifiedModel({ registry, version: holder })]);
      comparison = await scoreOnCandidateData(ctx, { candidate: cand.model, current: cur.model, metric: flags.metric });
    }
    const refused = comparison !== undefined && !(comparison.candidate > comparison.current + flags.minDelta);
    const changes: { what: string; from: string | null; to: string }[] = [];
    if (!refused) {
      if (flags.stage !== undefined) {
        await registry.transitionModelVersionStage({ name: flags.modelName, version: candidate.version, stage: flags.stage, archiveExistingVersions: flags.archiveExisting ?? false });
        changes.push({ what: `version ${candidate.version} stage`, from: candidate.currentStage, to: flags.stage });
      }
      if (flags.alias !== undefined) {
        await registry.setRegisteredModelAlias({ name: flags.modelName, alias: flags.alias, version: candidate.version });
        changes.push({ what: `alias @${flags.alias}`, from: holder && flags.stage === undefined ? `version ${holder.version}` : null, to: `version ${candidate.version}` });
      }
    }
    return { candidate, holder, comparison, refused, changes };
  });
  const { candidate, holder, comparison, refused, changes } = result;
  ctx.result(
    {
      promoted: !refused,
      model_name: flags.modelName,
      version: candidate.version,
      stage: flags.stage ?? null,
      alias: flags.alias ?? null,
      candidate: { metric: flags.metric, value: comparison?.candidate ?? null },
      current: holder ? { version: holder.version, value: comparison?.current ?? null } : null,
      min_delta: flags.minDelta,
      changes,
    },
    () =>
      [
        comparison
          ? `[COMPARE] candidate ${flags.metric}=${comparison.candidate.toFixed(4)} (version ${candidate.version}) vs current ${comparison.current.toFixed(4)} (version ${holder?.version}), min delta ${flags.minDelta}`
          : holder === undefined && flags.ifBetter
            ? `[COMPARE] nothing holds ${flags.stage ?? "@" + flags.alias} yet: version ${candidate.version} goes in`
            : undefined,
        refused ? `[DECISION] skipped: version ${candidate.version} is not better by more than ${flags.minDelta}` : `[DECISION] promoted`,
        ...changes.map((c) => `  ${flags.modelName} ${c.what}: ${c.from ?? "(none)"} → ${c.to}`),
      ]
        .filter((l): l is string => l !== undefined)
        .join("\n"),
  );
  if (refused) {
    throw new CliError("CHECK_FAILED", `version ${candidate.version} ${flags.metric} ${comparison!.candidate.toFixed(4)} does not beat version ${holder!.version}'s ${comparison!.current.toFixed(4)} by more than ${flags.minDelta}`, {
      hint: "Nothing was changed. Train a better candidate, or promote without --if-better to force it.",
    });
  }
}

