import { resolve } from "node:path";
import { type CalendarDay } from "@streamflow/core";
import { buildDataset } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { withFeatureStore } from "../store.ts";

export interface BuildDatasetFlags {
  asOf: CalendarDay;
  labelAsOf?: CalendarDay;
  out: string;
}

export async function runBuildDataset(
  ctx: CommandContext,
  flags: BuildDatasetFlags,
): Promise<void> {
  const r = await withFeatureStore(ctx, (db) =>
    buildDataset({
      db,
      asOf: flags.asOf,
      labelAsOf: flags.labelAsOf,
      out: resolve(ctx.io.cwd, flags.out),
      logger: ctx.logger,
      onProgress: ctx.progress,
    }),
  );
  ctx.result(
    {
      as_of: r.asOf,
      label_as_of: r.labelAsOf,
      out: r.out,
      format: r.format,
      rows: r.rows,
      columns: r.columns,
      positive_rate: r.positiveRate,
      fingerprint: r.fingerprint,
      duration_ms: r.durationMs,
    },
    () =>
      [
        `Wrote ${r.rows.toLocaleString("en-US")} rows to ${r.out} (${r.format})`,
        `  features as of ${r.asOf}, labels as of ${r.labelAsOf}, churn rate ${(r.positiveRate * 100).toFixed(2)}%`,
        `  fingerprint ${r.fingerprint}`,
      ].join("\n"),
  );
}
