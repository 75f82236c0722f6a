import type { CommandContext } from "../context.ts";
import { withRegistry } from "../registry.ts";

export async function runModelsList(ctx: CommandContext): Promise<void> {
  const models = await withRegistry(ctx, async (registry) => {
    const found = await registry.searchRegisteredModels({});
    return Promise.all(
      found.map(async (m) => ({
        model: m,
        versions: await registry.searchModelVersions({ name: m.name }),
      })),
    );
  });
  ctx.result(
    {
      models: models.map(({ model, versions }) => ({
        name: model.name,
        versions: versions.length,
        latest_version: versions[0]?.version ?? null,
        stages: Object.fromEntries(
          versions
            .filter((v) => v.currentStage !== "None")
            .map((v) => [v.currentStage, v.version]),
        ),
        aliases: model.aliases,
      })),
    },
    () =>
      models.length === 0
        ? "No registered models yet: streamflow train registers one."
        : models
            .map(({ model, versions }) => {
              const staged = versions
                .filter(
                  (v) =>
                    v.currentStage !== "None" && v.currentStage !== "Archived",
                )
                .map((v) => `${v.currentStage} v${v.version}`);
              const aliases = Object.entries(model.aliases).map(
                ([a, v]) => `@${a} v${v}`,
              );
              return `${model.name}: ${versions.length} version(s), latest v${versions[0]?.version ?? "-"}${[...staged, ...aliases].length ? ` · ${[...staged, ...aliases].join(" · ")}` : ""}`;
            })
            .join("\n"),
  );
}

export async function runModelsShow(
  ctx: CommandContext,
  flags: { name: string },
): Promise<void> {
  const rows = await withRegistry(ctx, async (registry) => {
    await registry.getRegisteredModel(flags.name);
    const versions = await registry.searchModelVersions({ name: flags.name });
    return Promise.all(
      versions.map(async (v) => {
        const run = v.runId
          ? await registry.getRun(v.runId).catch(() => undefined)
          : undefined;
        const metrics = Object.fromEntries(
          Object.entries(run?.data.metrics ?? {}).map(([k, m]) => [k, m.value]),
        );
        return { v, metrics: metrics, params: run?.data.params ?? {} };
      }),
    );
  });
  const pick = (metrics: Record<string, number | undefined>, key: string) =>
    metrics[key] ?? null;
  ctx.result(
    {
      name: flags.name,
      versions: rows.map(({ v, metrics, params }) => ({
        version: v.version,
        stage: v.currentStage,
        aliases: v.aliases,
        run_id: v.runId ?? null,
        created: v.creationTime?.toISOString() ?? null,
        as_of: params["as_of"] ?? null,
        label_as_of: params["label_as_of"] ?? null,
        metrics: {
          auc: pick(metrics, "auc"),
          f1: pick(metrics, "f1"),
          accuracy: pick(metrics, "accuracy"),
        },
      })),
    },
    () =>
      [
        `${flags.name}`,
        `${"version".padEnd(8)}${"stage".padEnd(12)}${"aliases".padEnd(16)}${"as of".padEnd(12)}${"labels".padEnd(12)}${"AUC".padStart(7)}${"F1".padStart(8)}  run / created`,
        ...rows.map(
          ({ v, metrics, params }) =>
            `${v.version.padEnd(8)}${v.currentStage.padEnd(12)}${(v.aliases.map((a) => "@" + a).join(",") || "-").padEnd(16)}${(params["as_of"] ?? "-").padEnd(12)}${(params["label_as_of"] ?? "-").padEnd(12)}${(metrics["auc"]?.toFixed(4) ?? "-").padStart(7)}${(metrics["f1"]?.toFixed(4) ?? "-").padStart(8)}  ${v.runId ?? "-"} ${v.creationTime?.toISOString() ?? ""}`,
        ),
      ].join("\n"),
  );
}
