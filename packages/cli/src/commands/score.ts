import { resolve } from "node:path";
import { type CalendarDay } from "@streamflow/core";
import { parseShard } from "@streamflow/features";
import {
  describeTarget,
  parseModelTarget,
  scoreUsers,
  type ModelTarget,
  type ScoreUsersResult,
} from "@streamflow/lifecycle";
import type { CommandContext } from "../context.ts";
import { withRegistry } from "../registry.ts";
import { withFeatureStore } from "../store.ts";

export interface ScoreFlags {
  asOf: CalendarDay;
  modelUri: string;
  table: string;
  out?: string;
  shard?: string;
}

const n = (x: number) => x.toLocaleString("en-US");

export async function runScore(
  ctx: CommandContext,
  flags: ScoreFlags,
): Promise<void> {
  const target = parseModelTarget(flags.modelUri);
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  const r = await withFeatureStore(ctx, (db) =>
    withRegistry(ctx, (registry) =>
      scoreUsers({
        db,
        registry,
        target,
        asOf: flags.asOf,
        shard,
        table: flags.table,
        out:
          flags.out === undefined ? undefined : resolve(ctx.io.cwd, flags.out),
        logger: ctx.logger,
        onProgress: ctx.progress,
      }),
    ),
  );
  ctx.result(scoreJson(r, target), () => formatScore(r));
}

/** What `score --json` prints, and the pipeline's score step records. */
/** What `score --json` prints, and what the pipeline's score step records. */
export type ScoreJson = ReturnType<typeof scoreJson>;

export function scoreJson(r: ScoreUsersResult, target: ModelTarget) {
  const q = r.pChurnQuantiles;
  return {
    as_of: r.asOf,
    model: {
      name: r.model.name,
      version: r.model.version,
      run_id: r.model.runId,
    },
    model_uri: describeTarget(target),
    shard: r.shard === undefined ? null : `${r.shard.index}/${r.shard.count}`,
    table: r.out === undefined ? r.table : null,
    out: r.out ?? null,
    rows: r.rows,
    written: r.written,
    noop: r.noop,
    missing_users: r.missingUsers,
    positive_rate: r.positiveRate,
    threshold: r.threshold,
    p_churn: q,
    timings_ms: {
      load_model: r.timingsMs.loadModel,
      read: r.timingsMs.read,
      predict: r.timingsMs.predict,
      write: r.timingsMs.write,
    },
    duration_ms: r.durationMs,
  };
}

export function formatScore(r: ScoreUsersResult): string {
  const q = r.pChurnQuantiles;
  return [
    r.noop
      ? `No change: ${n(r.rows)} users as of ${r.asOf} were already scored by ${r.model.name} version ${r.model.version} in ${r.table}.`
      : `Scored ${n(r.rows)} users as of ${r.asOf} with ${r.model.name} version ${r.model.version}${r.shard ? ` (shard ${r.shard.index}/${r.shard.count})` : ""} in ${(r.durationMs / 1000).toFixed(1)} s → ${r.out ?? r.table} (${n(r.written)} rows written)`,
    `  churners ${(r.positiveRate * 100).toFixed(2)}% at p > ${r.threshold}` +
      (q
        ? ` · p_churn min ${q.min.toFixed(3)} · median ${q.p50.toFixed(3)} · p95 ${q.p95.toFixed(3)} · max ${q.max.toFixed(3)}`
        : ""),
    r.missingUsers > 0
      ? `  ${n(r.missingUsers)} users have no feature row at ${r.asOf} and were not scored`
      : undefined,
    `  time: model ${r.timingsMs.loadModel} ms · read ${r.timingsMs.read} ms · predict ${r.timingsMs.predict} ms · write ${r.timingsMs.write} ms`,
  ]
    .filter((l): l is string => l !== undefined)
    .join("\n");
}
