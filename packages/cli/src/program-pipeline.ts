import { InvalidArgumentError, Option } from "commander";
import {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_STALE_AFTER_MS,
  PROMOTION_METRICS,
} from "@streamflow/lifecycle";
import { MAX_SHARDS } from "@streamflow/features";
import { parseDay, parsePositiveInt, parseShare } from "./parsers.ts";
import { addTrainingOptions } from "./program-training.ts";
import type { AddCommands } from "./program.ts";

function parseShardCount(value: string): number {
  const n = parsePositiveInt(value);
  if (n > MAX_SHARDS)
    throw new InvalidArgumentError(`at most ${MAX_SHARDS} shards`);
  return n;
}

/** `streamflow pipeline run|status`: the monthly flow in one command, and its history. */
export const addPipelineCommands: AddCommands = (program, common, act) => {
  const pipeline = program
    .command("pipeline")
    .description(
      "The monthly flow: ingest → materialize → check-online → drift → retrain → score, resumable",
    );
  common(
    addTrainingOptions(
      pipeline
        .command("run")
        .description(
          "Run a month's steps in order, each recorded in pipeline_runs; a finished month does nothing, an interrupted one resumes at its first unfinished step",
        )
        .requiredOption(
          "--month-dir <dir>",
          "the month's six CSVs, as ingest takes them",
        )
        .requiredOption(
          "--as-of <date>",
          "the month's snapshot date, YYYY-MM-DD",
          parseDay,
        )
        .addOption(
          new Option(
            "--retrain <policy>",
            "always, on-drift (also when nothing is in Production yet) or never",
          )
            .choices(["always", "on-drift", "never"])
            .default("on-drift"),
        )
        .option(
          "--drift-share <s>",
          "dataset drift (and, on-drift, a retrain) when drifted / tested features >= this share",
          parseShare,
          0.5,
        )
        .option(
          "--reference <date>",
          "month to compare with (default: the latest month ingested before --as-of)",
          parseDay,
        )
        .option(
          "--score",
          "score every user of the month with what is in Production after the retrain step",
        )
        .option(
          "--min-coverage <share>",
          "check-online: required share of users found per view",
          parseShare,
          0.99,
        )
        .addOption(
          new Option("--metric <name>", "metric retrain compares")
            .choices(PROMOTION_METRICS)
            .default("auc"),
        )
        .option(
          "--min-delta <x>",
          "margin a candidate must exceed (strictly)",
          parseShare,
          0.01,
        )
        .option(
          "--distributed",
          "enqueue the steps in the store's PostgreSQL for `streamflow worker` processes instead of running them here",
        )
        .option(
          "--shards <n>",
          `with --distributed: score as N shard jobs run side by side (1..${MAX_SHARDS}; default 1)`,
          parseShardCount,
        ),
    ),
  )
    .addHelpText(
      "after",
      "\nEach step is what its own command does, with the same JSON recorded as the step's result:\n" +
        "  ingest (noop when the month is already in), materialize, check_online (exit 5 below --min-coverage),\n" +
        "  drift (against --reference or the previous ingested month; skipped for the first month),\n" +
        "  retrain (by --retrain; candidate compared on its own validation rows), score (with --score).\n" +
        "A failed step stops the flow with its own exit code; run the same command again to resume.\n\n" +
        "With --distributed the same steps, records and resumption, but run by `streamflow worker` processes\n" +
        "(any number, on any machines that reach the store's PostgreSQL and the registry); this process\n" +
        "enqueues each step, waits for it, fans score out as --shards jobs and joins them. Killing it\n" +
        "loses nothing: the jobs go on, and the same command picks the run up where it stands.\n\n" +
        "Examples:\n  streamflow pipeline run --month-dir data/month_000 --as-of 2024-01-31 --score\n" +
        "  streamflow pipeline run --month-dir data/month_001 --as-of 2024-02-29 --retrain on-drift --drift-share 0.02 --score --json\n" +
        "  streamflow pipeline run --month-dir /shared/month_001 --as-of 2024-02-29 --score --distributed --shards 3",
    )
    .action(
      act(async () => (await import("./commands/pipeline.ts")).runPipelineRun),
    );
  common(
    pipeline
      .command("status")
      .description("The recorded pipeline runs and their steps, oldest first")
      .option("--as-of <date>", "only this month's runs", parseDay),
  ).action(
    act(async () => (await import("./commands/pipeline.ts")).runPipelineStatus),
  );
};

/** `streamflow worker`: runs the pipeline jobs a distributed run enqueues. */
export const addWorkerCommand: AddCommands = (program, common, act) => {
  common(
    program
      .command("worker")
      .description(
        "Run pipeline steps and score shards from the job queue in the store's PostgreSQL until stopped",
      )
      .option(
        "--concurrency <n>",
        "jobs run at once by this process",
        parsePositiveInt,
        1,
      )
      .option(
        "--heartbeat-s <s>",
        "how often this worker records that it is alive and looks for dead ones",
        parsePositiveInt,
        DEFAULT_HEARTBEAT_MS / 1000,
      )
      .option(
        "--stale-after-s <s>",
        "a worker silent this long is taken for dead and its jobs are retried by another",
        parsePositiveInt,
        DEFAULT_STALE_AFTER_MS / 1000,
      ),
  )
    .addHelpText(
      "after",
      "\nWorkers take the jobs `streamflow pipeline run --distributed` enqueues (graphile-worker, in the\n" +
        "store's own PostgreSQL: nothing else to run). Start as many as you like, on any machines that reach\n" +
        "the store and the registry and see the month directories; each needs the same configuration as the\n" +
        "pipeline run (STREAMFLOW_DATABASE_URL, MLFLOW_TRACKING_URI or a shared --home). A worker killed\n" +
        "without warning has its jobs retried by another once its heartbeat is --stale-after-s old.\n" +
        "SIGTERM or Ctrl-C: stop taking jobs, finish the running ones, leave.\n\n" +
        "Examples:\n  streamflow worker\n  streamflow worker --concurrency 2 --verbose",
    )
    .action(act(async () => (await import("./commands/worker.ts")).runWorker));
};
