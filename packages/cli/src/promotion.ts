import { evaluateBinary, rowsFromColumns, stratifiedSplit, type StreamflowModel } from "@streamflow/core";
import { loadDataset } from "@streamflow/features";
import { RegistryError, isRegistryError, type ModelStage, type ModelVersion, type Registry } from "@streamflow/registry-client";
import type { CommandContext } from "./context.ts";
import { withFeatureStore } from "./store.ts";

export const PROMOTION_METRICS = ["auc", "f1", "accuracy", "precision", "recall"] as const;
export type PromotionMetric = (typeof PROMOTION_METRICS)[number];

/**
 * The lab's comparison, done fairly: both models scored on the candidate's own validation rows
 * (its dataset dates, its split seed and size), never on rows the candidate trained on.
 */
export async function scoreOnCandidateData(
  ctx: CommandContext,
  { candidate, current, metric }: { candidate: StreamflowModel; current: StreamflowModel; metric: PromotionMetric },
): Promise<{ candidate: number; current: number; rows: number }> {
  const t = candidate.training;
  const dataset = await withFeatureStore(ctx, (db) =>
    loadDataset({ db, asOf: new Date(`${t.asOf}T00:00:00Z`), labelAsOf: new Date(`${t.labelAsOf}T00:00:00Z`), logger: ctx.logger }),
  );
  const { testIndex } = stratifiedSplit({ y: dataset.labels, testSize: t.split.testSize, seed: t.seed });
  const rows = rowsFromColumns({ names: dataset.featureColumns.map((c) => c.name), columns: dataset.features });
  const valRows = Array.from(testIndex, (i) => rows[i]!);
  const yTrue = Uint8Array.from(testIndex, (i) => dataset.labels[i]!);
  const score = (model: StreamflowModel) => evaluateBinary({ yTrue, yProba: model.predictProba(valRows) })[metric];
  return { candidate: score(candidate), current: score(current), rows: valRows.length };
}

/**
 * The newest of `versions` (highest first) whose run is FINISHED, or that has no run: a version of a
 * run that failed or never ended (left by an older StreamFlow, or registered by hand) is passed over.
 * undefined when there are no versions at all.
 * @throws REGISTRY_NOT_FOUND when there are versions but none from a FINISHED run
 */
export async function newestFinishedVersion(registry: Registry, versions: readonly ModelVersion[]): Promise<ModelVersion | undefined> {
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
  throw new RegistryError("REGISTRY_NOT_FOUND", `No version of '${name}' comes from a FINISHED run: ${passed.join(", ")}.`, {
    hint: `Promote one by number if you mean it (--version N), or train a new one: streamflow train --model-name ${name}`,
    details: { name, passed: versions.map((v) => v.version) },
  });
}

/** The version now in a stage or behind an alias, or undefined when there is none. */
export async function currentHolder(
  registry: Registry,
  { name, stage, alias }: { name: string; stage: ModelStage | undefined; alias: string | undefined },
): Promise<ModelVersion | undefined> {
  if (alias !== undefined) {
    try {
      return await registry.getModelVersionByAlias(name, alias);
    } catch (error) {
      if (isRegistryError(error, "REGISTRY_NOT_FOUND")) return undefined;
      throw error;
    }
  }
  if (stage === undefined || stage === "None" || stage === "Archived") return undefined;
  return (await registry.getLatestVersions(name, [stage]))[0];
}
