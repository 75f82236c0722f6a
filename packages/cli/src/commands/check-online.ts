import { checkOnline, type CheckOnlineResult } from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { checkOnlineJson, formatCheckOnline } from "../render.ts";
import { withFeatureStore } from "../store.ts";

export interface CheckOnlineFlags {
  users?: string[];
  sample?: number;
  minCoverage: number;
}

export async function runCheckOnline(
  ctx: CommandContext,
  flags: CheckOnlineFlags,
): Promise<void> {
  const result = await withFeatureStore(ctx, (db) =>
    checkOnline({
      db,
      userIds: flags.users,
      sample: flags.sample,
      minCoverage: flags.minCoverage,
    }),
  );
  ctx.result(checkOnlineJson(result), () => formatCheckOnline(result));
  if (!result.ok) throw checkOnlineFailure(result);
}

/** The CHECK_FAILED error of a coverage check that did not pass (exit 5). */
export function checkOnlineFailure(result: CheckOnlineResult): CliError {
  const failing = result.views
    .filter((v) => !v.ok)
    .map((v) => `${v.featureView} ${(v.coverage * 100).toFixed(2)}%`);
  return new CliError(
    "CHECK_FAILED",
    result.users === 0
      ? "no users to check"
      : `online coverage below ${(result.minCoverage * 100).toFixed(2)}%: ${failing.join(", ")}`,
    {
      hint: "Materialize a date that covers these users: streamflow materialize --as-of YYYY-MM-DD.",
    },
  );
}
