import { migrate } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";

export async function runDbMigrate(ctx: CommandContext): Promise<void> {
  const r = await withFeatureStore(
    ctx,
    async (db) => ({ ...(await migrate(db)), location: db.location }),
    { migrate: false },
  );
  ctx.result(
    { schema_version: r.version, applied: r.applied, database: r.location },
    () =>
      (r.applied.length > 0
        ? `Applied migration(s) ${r.applied.join(", ")}`
        : "Schema already current") +
      ` (version ${r.version}) on ${r.location}.`,
  );
}
