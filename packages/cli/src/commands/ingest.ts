import { resolve } from "node:path";
import { type CalendarDay } from "@streamflow/core";
import { ingestMonth } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";
import { formatIngest, ingestJson } from "../render.ts";

export interface IngestFlags {
  monthDir: string;
  asOf: CalendarDay;
  replace?: boolean;
}

export async function runIngest(
  ctx: CommandContext,
  flags: IngestFlags,
): Promise<void> {
  const result = await withFeatureStore(ctx, (db) =>
    ingestMonth({
      db,
      monthDir: resolve(ctx.io.cwd, flags.monthDir),
      asOf: flags.asOf,
      replace: flags.replace ?? false,
      logger: ctx.logger,
      onProgress: ctx.progress,
    }),
  );
  ctx.result(ingestJson(result), () => formatIngest(result));
}
