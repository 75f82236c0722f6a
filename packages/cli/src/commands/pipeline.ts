import { resolve } from "node:path";
import type { CalendarDay } from "@streamflow/core";
import {
  checkOnline,
  DEFAULT_PREDICTIONS_TABLE,
  ingestedMonths,
  ingestMonth,
  materialize,
  parseShard,
  pipelineHistory,
  summarizePredictions,
  type Database,
  type PipelineStepRecord,
  type Shard,
} from "@streamflow/features";
import {
  currentHolder,
  describeTarget,
  JobQueue,
  monitorDrift,
  parseModelTarget,
  resolveTarget,
  runDistributedPipeline,
  runPipeline,
  scoreUsers,
  type FanOut,
  type ModelTarget,
  type PipelineRunResult,
  type PipelineStep,
  type PipelineStepFactory,
  type PipelineStepOutcome,
  type PromotionMetric,
  type RunPipelineOptions,
} from "@streamflow/lifecycle";
import { isRegistryError, type Registry } from "@streamflow/registry-client";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { pendingRunJournal, withRegistry } from "../registry.ts";
import { checkOnlineJson, ingestJson, materializeJson } from "../render.ts";
import { withFeatureStore } from "../store.ts";
import { gitCommit } from "../tracking.ts";
import { checkOnlineFailure } from "./check-online.ts";
import { retrainFromCli, retrainJson } from "./retrain.ts";
import { scoreJson, type ScoreJson } from "./score.ts";
import type { TrainFlags } from "./train.ts";

export const RETRAIN_POLICIES = ["always", "on-drift", "never"] as const;
export type RetrainPolicy = (typeof RETRAIN_POLICIES)[number];

export interface PipelineRunFlags extends Omit<TrainFlags, "labelAsOf"> {
  monthDir: string;
  retrain: RetrainPolicy;
  driftShare: number;
  reference?: CalendarDay;
  score?: boolean;
  minCoverage: number;
  metric: PromotionMetric;
  minDelta: number;
  /** Enqueue the steps for `streamflow worker` processes instead of running them here. */
  distributed?: boolean;
  /** With --distributed: score as this many shard jobs. */
  shards?: number;
}

export interface PipelineStatusFlags {
  asOf?: CalendarDay;
}

const STAGE = "Production";

function monthSteps(
  ctx: CommandContext,
  { db, registry }: { db: Database; registry: Registry },
  flags: PipelineRunFlags,
): PipelineStep[] {
  const { asOf } = flags;
  return [
    {
      name: "ingest",
      async run() {
        const r = await ingestMonth({
          db,
          monthDir: resolve(ctx.io.cwd, flags.monthDir),
          asOf,
          logger: ctx.logger,
          onProgress: ctx.progress,
        });
        return { status: r.noop ? "noop" : "done", result: ingestJson(r) };
      },
    },
    {
      name: "materialize",
      async run() {
        const r = await materialize({ db, asOf, logger: ctx.logger });
        return { status: "done", result: materializeJson(r) };
      },
    },
    {
      name: "check_online",
      async run() {
        const r = await checkOnline({ db, minCoverage: flags.minCoverage });
        if (!r.ok) throw checkOnlineFailure(r);
        return { status: "done", result: checkOnlineJson(r) };
      },
    },
    {
      name: "drift",
      async run() {
        const reference =
          flags.reference ??
          (await ingestedMonths({ db })).filter((m) => m < asOf).at(-1);
        if (reference === undefined)
          return {
            status: "skipped",
            result: { reason: `no month ingested before ${asOf}` },
          };
        const commit = await gitCommit(ctx.io.cwd);
        const r = await monitorDrift({
          db,
          registry,
          pendingRuns: pendingRunJournal(ctx),
          reference,
          current: asOf,
          plan: { method: "auto", features: {} },
          driftShare: flags.driftShare,
          tags: commit ? { "mlflow.source.git.commit": commit } : {},
          logger: ctx.logger,
          onProgress: ctx.progress,
        });
        return { status: "done", result: r.json };
      },
    },
    {
      name: "retrain",
      async run(earlier) {
        const why = await retrainReason(flags, earlier.get("drift"), () =>
          currentHolder(registry, {
            name: flags.modelName,
            stage: STAGE,
            alias: undefined,
          }).catch((error: unknown) => {
            // No registered model yet: nothing holds Production.
            if (isRegistryError(error) && error.code === "REGISTRY_NOT_FOUND")
              return undefined;
            throw error;
          }),
        );
        if (typeof why !== "string") return { status: "skipped", result: why };
        const { result, target } = await retrainFromCli(
          ctx,
          { db, registry },
          { ...flags, stage: STAGE, ifDrift: false },
        );
        return {
          status: "done",
          result: { ...retrainJson(result, flags, target), reason: why },
        };
      },
    },
    {
      name: "score",
      async run() {
        if (!flags.score)
          return { status: "skipped", result: { reason: "--score not given" } };
        return scoreOutcome(
          ctx,
          { db, registry },
          {
            asOf,
            target: productionTarget(flags),
            shard: undefined,
          },
        );
      },
    },
  ];
}

const productionTarget = (flags: { modelName: string }) =>
  parseModelTarget(`models:/${flags.modelName}/${STAGE}`);

async function scoreOutcome(
  ctx: CommandContext,
  { db, registry }: { db: Database; registry: Registry },
  job: { asOf: CalendarDay; target: ModelTarget; shard: Shard | undefined },
): Promise<PipelineStepOutcome> {
  const r = await scoreUsers({
    db,
    registry,
    target: job.target,
    asOf: job.asOf,
    shard: job.shard,
    table: DEFAULT_PREDICTIONS_TABLE,
    logger: ctx.logger,
    onProgress: ctx.progress,
  });
  return { status: r.noop ? "noop" : "done", result: scoreJson(r, job.target) };
}

/** The steps of a month in flow order: what `--distributed` enqueues, one job each. */
export const PIPELINE_STEPS = [
  "ingest",
  "materialize",
  "check_online",
  "drift",
  "retrain",
  "score",
] as const;

/**
 * The step a worker's job names, built from the parameters the coordinator enqueued: a month's
 * step as one process runs it, or a shard of the score step with the version the coordinator fixed.
 */
export function pipelineStepFactory(
  ctx: CommandContext,
  deps: { db: Database; registry: Registry },
): PipelineStepFactory {
  return ({ asOf, step, shard, params }) => {
    const flags = { ...params, asOf } as unknown as PipelineRunFlags;
    if (shard !== null) {
      const target = parseModelTarget(String(params["model_uri"]));
      return {
        name: step,
        run: () =>
          scoreOutcome(ctx, deps, { asOf, target, shard: parseShard(shard) }),
      };
    }
    const found = monthSteps(ctx, deps, flags).find((s) => s.name === step);
    if (found === undefined)
      throw new CliError(
        "USAGE",
        `a queued job names pipeline step '${step}', which this streamflow does not have (it has ${PIPELINE_STEPS.join(", ")})`,
        {
          hint: "Run workers of the same streamflow version as the pipeline run that enqueued the job.",
        },
      );
    return found;
  };
}

/** The run's parameters every job carries: what the steps read, with paths made absolute. */
function pipelineParams(
  ctx: CommandContext,
  flags: PipelineRunFlags,
): Record<string, unknown> {
  const keep = [
    "retrain",
    "driftShare",
    "reference",
    "score",
    "minCoverage",
    "metric",
    "minDelta",
    "nEstimators",
    "maxFeatures",
    "classWeight",
    "maxDepth",
    "seed",
    "testSize",
    "jobs",
    "experiment",
    "modelName",
  ] as const satisfies readonly (keyof PipelineRunFlags)[];
  // Through JSON, as the queue will carry it: what a worker reads is exactly this.
  return JSON.parse(
    JSON.stringify({
      ...Object.fromEntries(keep.map((k) => [k, flags[k]])),
      monthDir: resolve(ctx.io.cwd, flags.monthDir),
      outDir:
        flags.outDir === undefined
          ? undefined
          : resolve(ctx.io.cwd, flags.outDir),
    }),
  ) as Record<string, unknown>;
}

/** The score step as shards: every shard scores with the version in Production when the step began. */
function scoreFanOut(
  { db, registry }: { db: Database; registry: Registry },
  flags: PipelineRunFlags,
  shards: number,
): FanOut {
  return {
    step: "score",
    shards,
    async prepare(_earlier, settledShards) {
      // A resumed run keeps the version its finished shards scored with, whatever Production
      // became meanwhile: one month, one model.
      const done = settledShards[0]?.result as ScoreJson | undefined;
      if (done !== undefined)
        return {
          model_uri: `models:/${done.model.name}/${done.model.version}`,
        };
      const version = await resolveTarget(registry, productionTarget(flags));
      return { model_uri: `models:/${version.name}/${version.version}` };
    },
    async join(records) {
      const parts = records.map((r) => r.result as ScoreJson);
      const first = parts[0]!;
      const versions = new Set(parts.map((p) => p.model.version));
      if (versions.size > 1)
        throw new CliError(
          "CHECK_FAILED",
          `the shards of score for ${flags.asOf} were scored by different versions of ${first.model.name} (${[...versions].join(", ")})`,
          {
            hint: `Score the month again with one version: streamflow score --as-of ${flags.asOf}.`,
          },
        );
      const summary = await summarizePredictions({
        db,
        table: DEFAULT_PREDICTIONS_TABLE,
        asOf: flags.asOf,
        model: first.model,
      });
      const sum = (f: (p: ScoreJson) => number) =>
        parts.reduce((a, p) => a + f(p), 0);
      const rows = sum((p) => p.rows);
      const noop = parts.every((p) => p.noop);
      return {
        status: noop ? "noop" : "done",
        result: {
          ...first,
          model_uri: describeTarget(productionTarget(flags)),
          shard: null,
          rows,
          written: sum((p) => p.written),
          noop,
          missing_users: sum((p) => p.missing_users),
          positive_rate: rows === 0 ? 0 : summary.positives / rows,
          p_churn: summary.quantiles,
          timings_ms: {
            load_model: sum((p) => p.timings_ms.load_model),
            read: sum((p) => p.timings_ms.read),
            predict: sum((p) => p.timings_ms.predict),
            write: sum((p) => p.timings_ms.write),
          },
          duration_ms: Math.max(...parts.map((p) => p.duration_ms)),
          shards: records.map((r, i) => ({
            shard: parts[i]!.shard,
            status: r.status,
            rows: parts[i]!.rows,
            written: parts[i]!.written,
            duration_ms: r.durationMs,
          })),
        },
      };
    },
  };
}

/**
 * Why the month retrains (a string), or the record of why it does not. on-drift also trains
 * when nothing is in Production yet: the first month has nothing to compare with or to serve.
 */
async function retrainReason(
  flags: PipelineRunFlags,
  drift: PipelineStepRecord | undefined,
  holder: () => Promise<unknown>,
): Promise<string | { decision: null | "no_drift"; reason: string }> {
  if (flags.retrain === "never")
    return { decision: null, reason: "--retrain never" };
  if (flags.retrain === "always") return "--retrain always";
  const found = (drift?.result as { dataset_drift?: unknown } | null)
    ?.dataset_drift;
  if (found === true)
    return `dataset drift at --drift-share ${flags.driftShare}`;
  if ((await holder()) === undefined) return `nothing in ${STAGE} yet`;
  return {
    decision: "no_drift",
    reason:
      drift?.status === "skipped"
        ? "no earlier month to compare with"
        : `drift share below ${flags.driftShare}`,
  };
}

function pipelineJson(r: PipelineRunResult): object {
  const byStep = new Map(r.steps.map((s) => [s.step, s]));
  const retrain = byStep.get("retrain")?.result as
    { decision?: unknown } | undefined;
  const score = byStep.get("score");
  return {
    as_of: r.asOf,
    run_id: r.runId,
    resumed: r.resumed,
    already_done: r.alreadyDone,
    steps: r.steps.map(stepJson),
    decision: retrain?.decision ?? null,
    scored:
      score !== undefined && score.status !== "skipped"
        ? ((score.result as { rows?: number }).rows ?? null)
        : null,
  };
}

function stepJson(s: PipelineStepRecord): object {
  return {
    step: s.step,
    status: s.status,
    duration_ms: s.durationMs,
    result: s.result,
  };
}

const seconds = (ms: number | null) =>
  ms === null ? "—" : `${(ms / 1000).toFixed(1)} s`;

function formatPipeline(r: PipelineRunResult): string {
  const json = pipelineJson(r) as {
    decision: string | null;
    scored: number | null;
  };
  const head = r.alreadyDone
    ? `Month ${r.asOf} was already done by run ${r.runId}: nothing to do.`
    : `${r.resumed ? "Resumed" : "Ran"} the pipeline for ${r.asOf} (run ${r.runId})`;
  return [
    head,
    ...r.steps.map((s) => {
      const reason = (s.result as { reason?: unknown } | null)?.reason;
      return `  ${s.step.padEnd(13)} ${s.status.padEnd(8)} ${seconds(s.durationMs).padStart(8)}${typeof reason === "string" ? `  (${reason})` : ""}`;
    }),
    ...compareLines(r.steps.find((s) => s.step === "retrain")),
    `  decision: ${json.decision ?? "—"} · scored: ${json.scored ?? "—"}`,
  ].join("\n");
}

/** retrain's own [COMPARE] and [DECISION] lines, from its recorded JSON. */
function compareLines(step: PipelineStepRecord | undefined): string[] {
  if (step?.status !== "done") return [];
  const r = step.result as {
    metric: string;
    min_delta: number;
    decision: string;
    candidate: { value: number | null };
    current: { value: number | null } | null;
  };
  const f4 = (x: number | null) => (x === null ? "NaN" : x.toFixed(4));
  return [
    r.current === null
      ? `  [COMPARE] nothing in ${STAGE} yet: candidate_${r.metric}=${f4(r.candidate.value)}`
      : `  [COMPARE] candidate_${r.metric}=${f4(r.candidate.value)} vs prod_${r.metric}=${f4(r.current.value)} (delta=${r.min_delta})`,
    `  [DECISION] ${r.decision}`,
  ];
}

export async function runPipelineRun(
  ctx: CommandContext,
  flags: PipelineRunFlags,
): Promise<void> {
  const onStep: RunPipelineOptions["onStep"] = (e) => {
    if (e.kind === "start")
      ctx.logger.info(`pipeline ${flags.asOf}: ${e.step} …`);
    else
      ctx.logger.info(
        `pipeline ${flags.asOf}: ${e.record.step} ${e.record.status}${e.kind === "kept" ? " (recorded earlier)" : ""}`,
      );
  };
  if (flags.shards !== undefined && !flags.distributed)
    throw new CliError("USAGE", "--shards needs --distributed", {
      hint: "Add --distributed (and start `streamflow worker` processes), or drop --shards.",
    });
  const r = await withFeatureStore(ctx, (db) =>
    withRegistry(ctx, async (registry) => {
      if (!flags.distributed)
        return runPipeline({
          db,
          asOf: flags.asOf,
          steps: monthSteps(ctx, { db, registry }, flags),
          onStep,
        });
      const url = distributedStoreUrl(ctx, db);
      const queue = await JobQueue.open({
        connectionString: url,
        logger: ctx.logger,
      });
      try {
        return await runDistributedPipeline({
          db,
          queue,
          asOf: flags.asOf,
          steps: PIPELINE_STEPS,
          params: pipelineParams(ctx, flags),
          fanOut: flags.score
            ? scoreFanOut({ db, registry }, flags, flags.shards ?? 1)
            : undefined,
          onStep,
        });
      } finally {
        await queue.close();
      }
    }),
  );
  ctx.result(pipelineJson(r), () => formatPipeline(r));
}

/** The store's URL, which workers share: a distributed run needs a PostgreSQL server, not an embedded PGlite. */
export function distributedStoreUrl(ctx: CommandContext, db: Database): string {
  const url = ctx.config.databaseUrl;
  if (url === undefined || db.kind !== "postgres")
    throw new CliError(
      "USAGE",
      `a distributed run and its workers share the store's PostgreSQL; this store is ${db.location}`,
      {
        hint: "Set STREAMFLOW_DATABASE_URL (or --database-url) to a PostgreSQL server for the pipeline run and every worker.",
      },
    );
  return url;
}

export async function runPipelineStatus(
  ctx: CommandContext,
  flags: PipelineStatusFlags,
): Promise<void> {
  const steps = await withFeatureStore(ctx, (db) =>
    pipelineHistory({ db, asOf: flags.asOf }),
  );
  const runs = new Map<string, PipelineStepRecord[]>();
  for (const s of steps) runs.set(s.runId, [...(runs.get(s.runId) ?? []), s]);
  const json = [...runs.values()].map((rs) => ({
    run_id: rs[0]!.runId,
    as_of: rs[0]!.asOf,
    started_at: rs[0]!.startedAt.toISOString(),
    steps: rs.map(stepJson),
  }));
  ctx.result({ runs: json }, () =>
    json.length === 0
      ? `No pipeline run${flags.asOf ? ` for ${flags.asOf}` : ""} yet: streamflow pipeline run --month-dir DIR --as-of YYYY-MM-DD`
      : [...runs.values()]
          .map((rs) =>
            [
              `${rs[0]!.asOf}  run ${rs[0]!.runId}  started ${rs[0]!.startedAt.toISOString()}`,
              ...rs.map(
                (s) =>
                  `  ${s.step.padEnd(13)} ${s.status.padEnd(8)} ${seconds(s.durationMs).padStart(8)}`,
              ),
            ].join("\n"),
          )
          .join("\n"),
  );
}
