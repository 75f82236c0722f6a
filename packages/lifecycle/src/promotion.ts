import {
  evaluateBinary,
  rowsFromColumns,
  stratifiedSplit,
  type StreamflowModel,
  parseCalendarDay,
} from "@streamflow/core";
import { loadDataset, type Database } from "@streamflow/features";
import {
  RegistryError,
  isRegistryError,
  type ModelStage,
  type ModelVersion,
  type Registry,
} from "@streamflow/registry-client";
import { LifecycleError } from "./errors.ts";
import { shouldPromote } from "./promotion-rule.ts";
import { loadVerifiedModel } from "./verified-model.ts";

export const PROMOTION_METRICS = [
  "auc",
  "f1",
  "accuracy",
  "precision",
  "recall",
] as const;
export type PromotionMetric = (typeof PROMOTION_METRICS)[number];

/** The version to promote: by number, the newest from a FINISHED run, or the one a run registered. */
export type CandidateSpec =
  { version: string } | { latest: true } | { runId: string };

export interface PromoteOptions {
  registry: Registry;
  modelName: string;
  candidate: CandidateSpec;
  stage?: ModelStage | undefined;
  alias?: string | undefined;
  /** Move the stage's other versions to Archived. */
  archiveExisting?: boolean | undefined;
  /** Promote only if the candidate beats the current holder by more than `minDelta` on `metric`. */
  ifBetter?:
    { metric: PromotionMetric; minDelta: number; db: Database } | undefined;
}

export interface Comparison {
  metric: PromotionMetric;
  candidate: number;
  current: number;
  /** Validation rows both were scored on. */
  rows: number;
}

export interface PromotionResult {
  promoted: boolean;
  candidate: ModelVersion;
  /** Who held the stage or alias before. */
  holder: ModelVersion | undefined;
  /** Only when --if-better compared two different versions. */
  comparison: Comparison | undefined;
  changes: { what: string; from: string | null; to: string }[];
}

/**
 * The lab's comparison, done fairly: both models scored on the candidate's own validation rows
 * (its dataset dates, its split seed and size), never on rows the candidate trained on.
 */
export async function compareOnCandidateData({
  db,
  candidate,
  current,
  metric,
}: {
  db: Database;
  candidate: StreamflowModel;
  current: StreamflowModel;
  metric: PromotionMetric;
}): Promise<Comparison> {
  const t = candidate.training;
  const dataset = await loadDataset({
    db,
    asOf: parseCalendarDay(t.asOf, "training.asOf"),
    labelAsOf: parseCalendarDay(t.labelAsOf, "training.labelAsOf"),
  });
  const { testIndex } = stratifiedSplit({
    y: dataset.labels,
    testSize: t.split.testSize,
    seed: t.seed,
  });
  const rows = rowsFromColumns({
    names: dataset.featureColumns.map((c) => c.name),
    columns: dataset.features,
  });
  const valRows = Array.from(testIndex, (i) => rows[i]!);
  const yTrue = Uint8Array.from(testIndex, (i) => dataset.labels[i]!);
  const score = (model: StreamflowModel) =>
    evaluateBinary({ yTrue, yProba: model.predictProba(valRows) })[metric];
  return {
    metric,
    candidate: score(candidate),
    current: score(current),
    rows: valRows.length,
  };
}

/**
 * The newest of `versions` (highest first) whose run is FINISHED, or that has no run: a version of a
 * run that failed or never ended (left by an older StreamFlow, or registered by hand) is passed over.
 * undefined when there are no versions at all.
 * @throws REGISTRY_NOT_FOUND when there are versions but none from a FINISHED run
 */
export async function newestFinishedVersion(
  registry: Registry,
  versions: readonly ModelVersion[],
): Promise<ModelVersion | undefined> {
  const passed: string[] = [];
  for (const version of versions) {
    if (version.runId === undefined) return version;
    let status: string;
    try {
      status = (await registry.getRun(version.runId)).info.status;
    } catch (error) {
      if (!isRegistryError(error, "REGISTRY_NOT_FOUND")) throw error;
      status = "deleted";
    }
    if (status === "FINISHED") return version;
    passed.push(`${version.version} (run ${status})`);
  }
  if (versions.length === 0) return undefined;
  const name = versions[0]!.name;
  throw new RegistryError(
    "REGISTRY_NOT_FOUND",
    `No version of '${name}' comes from a FINISHED run: ${passed.join(", ")}.`,
    {
      hint: `Promote one by number if you mean it (--version N), or train a new one: streamflow train --model-name ${name}`,
      details: { name, passed: versions.map((v) => v.version) },
    },
  );
}

/** The version now in a stage or behind an alias, or undefined when there is none. */
export async function currentHolder(
  registry: Registry,
  {
    name,
    stage,
    alias,
  }: { name: string; stage: ModelStage | undefined; alias: string | undefined },
): Promise<ModelVersion | undefined> {
  if (alias !== undefined) {
    try {
      return await registry.getModelVersionByAlias(name, alias);
    } catch (error) {
      if (isRegistryError(error, "REGISTRY_NOT_FOUND")) return undefined;
      throw error;
    }
  }
  if (stage === undefined || stage === "None" || stage === "Archived")
    return undefined;
  return (await registry.getLatestVersions(name, [stage]))[0];
}

async function findCandidate(
  registry: Registry,
  modelName: string,
  spec: CandidateSpec,
): Promise<ModelVersion> {
  if ("version" in spec)
    return registry.getModelVersion(modelName, spec.version);
  const runId = "runId" in spec ? spec.runId : undefined;
  const versions = await registry.searchModelVersions({
    name: modelName,
    ...(runId ? { runId } : {}),
  });
  const found =
    runId === undefined
      ? await newestFinishedVersion(registry, versions)
      : versions[0];
  if (found !== undefined) return found;
  // A search finds nothing for an unknown model or run too: name the one that is missing.
  await registry.getRegisteredModel(modelName);
  if (runId) await registry.getRun(runId);
  throw new RegistryError(
    "REGISTRY_NOT_FOUND",
    runId
      ? `no version of ${modelName} comes from run ${runId}`
      : `${modelName} has no versions`,
    {
      hint: `List them with: streamflow models show ${modelName}`,
      details: { name: modelName, ...(runId ? { run_id: runId } : {}) },
    },
  );
}

/**
 * Moves a version into a stage and/or behind an alias. With `ifBetter`, both versions are loaded
 * through the verified loader (a tampered artifact must not win, or lose, a comparison) and
 * scored on the candidate's validation rows; a refusal changes nothing and is a result, not an error.
 */
export async function promote(
  options: PromoteOptions,
): Promise<PromotionResult> {
  const { registry, modelName, stage, alias, ifBetter } = options;
  if (stage === undefined && alias === undefined) {
    throw new LifecycleError(
      "PROMOTION_TARGET_MISSING",
      "say where the version goes: a stage (Production, Staging, Archived) and/or an alias",
      {
        hint: "e.g. streamflow promote --latest --stage Production",
      },
    );
  }
  const candidate = await findCandidate(registry, modelName, options.candidate);
  const holder = await currentHolder(registry, {
    name: modelName,
    stage,
    alias,
  });
  let comparison: Comparison | undefined;
  if (
    ifBetter !== undefined &&
    holder !== undefined &&
    holder.version !== candidate.version
  ) {
    const [cand, cur] = await Promise.all([
      loadVerifiedModel({ registry, version: candidate }),
      loadVerifiedModel({ registry, version: holder }),
    ]);
    comparison = await compareOnCandidateData({
      db: ifBetter.db,
      candidate: cand.model,
      current: cur.model,
      metric: ifBetter.metric,
    });
  }
  const refused =
    comparison !== undefined &&
    ifBetter !== undefined &&
    !shouldPromote(comparison.candidate, comparison.current, ifBetter.minDelta);
  const changes: PromotionResult["changes"] = [];
  if (!refused) {
    if (stage !== undefined) {
      await registry.transitionModelVersionStage({
        name: modelName,
        version: candidate.version,
        stage,
        archiveExistingVersions: options.archiveExisting ?? false,
      });
      changes.push({
        what: `version ${candidate.version} stage`,
        from: candidate.currentStage,
        to: stage,
      });
    }
    if (alias !== undefined) {
      await registry.setRegisteredModelAlias({
        name: modelName,
        alias,
        version: candidate.version,
      });
      changes.push({
        what: `alias @${alias}`,
        from:
          holder && stage === undefined ? `version ${holder.version}` : null,
        to: `version ${candidate.version}`,
      });
    }
  }
  return { promoted: !refused, candidate, holder, comparison, changes };
}
