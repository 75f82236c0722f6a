import { migrate } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";

export async function runDbMigrate(
  ctx: CommandContext,
  flags: { allowDestructive?: boolean },
): Promise<void> {
  const r = await withFeatureStore(
    ctx,
    async (db) => ({
      ...(await migrate(db, { allowDestructive: flags.allowDestructive })),
      location: db.location,
    }),
    { migrate: false },
  );
  const repo = r.repository;
  ctx.result(
    {
      schema_version: r.version,
      applied: r.applied,
      database: r.location,
      repository: {
        hash: repo.hash,
        change: repo.change,
        added: repo.added,
        dropped: repo.dropped,
      },
    },
    () =>
      [
        (r.applied.length > 0
          ? `Applied migration(s) ${r.applied.join(", ")}`
          : "Schema already current") +
          ` (version ${r.version}) on ${r.location}.`,
        `Feature repository ${repo.hash.slice(0, 12)}: ${repo.change === "created" ? "tables created" : repo.change === "unchanged" ? "tables current" : "migrated"}.`,
        ...repo.added.map((a) => `  added ${a}`),
        ...repo.dropped.map((d) => `  dropped ${d}`),
      ].join("\n"),
  );
}
