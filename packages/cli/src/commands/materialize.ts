import { type CalendarDay } from "@streamflow/core";
import { materialize } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";
import { formatMaterialize, materializeJson } from "../render.ts";

export interface MaterializeFlags {
  asOf: CalendarDay;
}

export async function runMaterialize(
  ctx: CommandContext,
  flags: MaterializeFlags,
): Promise<void> {
  const result = await withFeatureStore(ctx, (db) =>
    materialize({ db, asOf: flags.asOf, logger: ctx.logger }),
  );
  ctx.result(materializeJson(result), () => formatMaterialize(result));
}
