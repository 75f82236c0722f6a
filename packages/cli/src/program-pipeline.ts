import { Option } from "commander";
import { PROMOTION_METRICS } from "@streamflow/lifecycle";
import { parseDay, parseShare } from "./parsers.ts";
import { addTrainingOptions } from "./program-training.ts";
import type { AddCommands } from "./program.ts";

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
        "Examples:\n  streamflow pipeline run --month-dir data/month_000 --as-of 2024-01-31 --score\n" +
        "  streamflow pipeline run --month-dir data/month_001 --as-of 2024-02-29 --retrain on-drift --drift-share 0.02 --score --json",
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
