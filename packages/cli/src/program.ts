import { Command, Option } from "commander";
import { PROMOTION_METRICS } from "@streamflow/lifecycle";
import { EXIT_CODES_HELP } from "./exit-codes.ts";
import { addDriftCommand } from "./program-drift.ts";
import { addRepositoryCommands } from "./program-repository.ts";
import { addPipelineCommands, addWorkerCommand } from "./program-pipeline.ts";
import { addRetrainCommand } from "./program-retrain.ts";
import { addTrainingOptions } from "./program-training.ts";
import {
  parseDay,
  parseIdList,
  parseNonNegativeInt,
  parsePort,
  parsePositiveInt,
  parseShare,
} from "./parsers.ts";

import type { CommandContext } from "./context.ts";

/** A command handler: `run<Verb>(ctx, flags)` in `commands/<verb>.ts`. */
export type Handler = (ctx: CommandContext, flags: never) => Promise<void>;

/** Adds a command (group) to the program, given the common options and the dispatching action. */
export type AddCommands = (
  program: Command,
  common: (cmd: Command) => Command,
  act: (
    loader: () => Promise<Handler>,
    options?: DispatchOptions,
  ) => (opts: unknown, cmd: Command) => Promise<void>,
) => void;

export interface DispatchOptions {
  /**
   * Which feature repositories the command runs on: `any` (the default) reads whichever is in
   * force; `lab` refuses another rather than silently run the lab's (quickstart, whose demo is the
   * lab's); `none` does not read one (init, which writes it).
   */
  repository?: "lab" | "any" | "none";
}

/** Runs one handler with its flags; main supplies it (config, context, error rendering). */
export type Dispatch = (
  load: () => Promise<Handler>,
  flags: Record<string, unknown>,
  options?: DispatchOptions,
) => Promise<void>;

function common(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--database-url <url>",
        "PostgreSQL URL (env STREAMFLOW_DATABASE_URL); unset = embedded PGlite",
      ),
    )
    .addOption(
      new Option(
        "--home <dir>",
        "where embedded state lives (env STREAMFLOW_HOME)",
      ).default(undefined, "./.streamflow"),
    )
    .addOption(
      new Option(
        "--tracking-uri <url>",
        "MLflow server (env MLFLOW_TRACKING_URI); unset = local registry in --home",
      ),
    )
    .option(
      "--json",
      "print exactly one JSON object on stdout (logs and progress go to stderr)",
    )
    .option("--verbose", "log each step, and show error causes")
    .addOption(
      new Option(
        "--features <file>",
        "feature repository (env STREAMFLOW_FEATURES)",
      ).default(
        undefined,
        "./streamflow.features.yaml if present, else the lab's",
      ),
    );
}

/** Commander wiring only: names, flags, argument parsers and a lazy import of each handler. */
export function buildProgram(dispatch: Dispatch, version: string): Command {
  const program = new Command("streamflow")
    .description(
      "Churn-model lifecycle toolkit: monthly data in, point-in-time training sets, online features.",
    )
    .version(version)
    .enablePositionalOptions()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `\nStart here:\n  streamflow quickstart            generate data, ingest two months, build, materialize, check, train, promote, serve\n\n${EXIT_CODES_HELP}`,
    );
  const act =
    (loader: () => Promise<Handler>, options?: DispatchOptions) =>
    async (_opts: unknown, cmd: Command) =>
      dispatch(loader, cmd.optsWithGlobals(), options);

  common(
    program
      .command("ingest")
      .description(
        "Validate a month's source files, upsert the live tables and snapshot features and labels at --as-of",
      )
      .requiredOption(
        "--month-dir <dir>",
        "directory with one file per source of the feature repository (the lab's: users.csv, subscriptions.csv, usage_agg_30d.csv, payments_agg_90d.csv, support_agg_90d.csv, labels.csv)",
      )
      .requiredOption(
        "--as-of <date>",
        "snapshot date of this month, YYYY-MM-DD",
        parseDay,
      )
      .option(
        "--replace",
        "overwrite an existing, different snapshot at this date",
      )
      .addHelpText(
        "after",
        "\nNothing is written unless every file is valid; the month is loaded in one transaction.\nIngesting the same content again is a no-op. The files and their rules are the feature\nrepository's (`streamflow features show`).\n\nExample:\n  streamflow ingest --month-dir data/month_000 --as-of 2024-01-31",
      ),
  ).action(act(async () => (await import("./commands/ingest.ts")).runIngest));

  common(
    program
      .command("build-dataset")
      .description(
        "Write a point-in-time training set: per entity the latest features <= --as-of and label <= --label-as-of",
      )
      .requiredOption("--as-of <date>", "feature cutoff, YYYY-MM-DD", parseDay)
      .option(
        "--label-as-of <date>",
        "label cutoff, YYYY-MM-DD (default: --as-of)",
        parseDay,
      )
      .requiredOption("--out <file>", "output file, .csv or .parquet")
      .addHelpText(
        "after",
        "\nRows are ordered by the entity's key; the printed fingerprint is the same for the same data on any database.\n\nExample:\n  streamflow build-dataset --as-of 2024-01-31 --out train.csv",
      ),
  ).action(
    act(
      async () => (await import("./commands/build-dataset.ts")).runBuildDataset,
    ),
  );

  common(
    program
      .command("materialize")
      .description(
        "Load each entity's latest features <= --as-of into the online store (never replacing newer values)",
      )
      .requiredOption("--as-of <date>", "YYYY-MM-DD", parseDay),
  ).action(
    act(async () => (await import("./commands/materialize.ts")).runMaterialize),
  );

  common(
    program
      .command("check-online")
      .description(
        "Check online-store coverage per feature view; exit 5 below --min-coverage",
      )
      .option(
        "--users <ids>",
        "comma-separated entity keys to check (default: every key)",
        parseIdList,
      )
      .option(
        "--sample <n>",
        "check a deterministic sample of n keys",
        parseNonNegativeInt,
      )
      .option(
        "--min-coverage <share>",
        "required share of keys found per view",
        parseShare,
        0.99,
      )
      .addHelpText(
        "after",
        "\nA stored NULL (e.g. the lab's plan_stream_tv of a user without a net service) counts as covered.",
      ),
  ).action(
    act(
      async () => (await import("./commands/check-online.ts")).runCheckOnline,
    ),
  );

  common(
    addTrainingOptions(
      program
        .command("train")
        .description(
          "Train the churn model (random forest) on the point-in-time dataset and write model, metrics and plots",
        )
        .requiredOption(
          "--as-of <date>",
          "feature cutoff, YYYY-MM-DD",
          parseDay,
        )
        .option(
          "--label-as-of <date>",
          "label cutoff, YYYY-MM-DD (default: --as-of)",
          parseDay,
        ),
    ).addHelpText(
      "after",
      "\nThe defaults are the lab's recipe: 300 trees, sqrt, balanced, seed 42, stratified 25% validation.\nSame data, options and seed give a byte-identical model.json (whatever --jobs).\nThe run is logged to MLflow (MLFLOW_TRACKING_URI / --tracking-uri) or, when unset, to the local\nregistry in --home, and registered as a new version of --model-name.\n\nExample:\n  streamflow train --as-of 2024-01-31\n  streamflow train --as-of 2024-01-31 --label-as-of 2024-02-29 --json",
    ),
  ).action(act(async () => (await import("./commands/train.ts")).runTrain));

  common(
    program
      .command("generate-data")
      .description(
        "Write deterministic synthetic months (month_000, month_001, …) in the files the feature repository declares: the lab's CSVs by default, or any repository's CSV and Parquet sources with values within their declared types and bounds, a learnable churn signal and drift from month to month",
      )
      .requiredOption("--out <dir>", "output directory")
      .option("--users <n>", "users per month", parsePositiveInt, 10_000)
      .option("--months <n>", "number of months", parsePositiveInt, 2)
      .option("--seed <n>", "random seed", parseNonNegativeInt, 42)
      .option(
        "--first-as-of <date>",
        "as_of of month_000 (a month end)",
        parseDay,
        parseDay("2024-01-31"),
      ),
  ).action(
    act(
      async () => (await import("./commands/generate-data.ts")).runGenerateData,
    ),
  );

  common(
    program
      .command("quickstart")
      .description(
        "Generate a small dataset, ingest two months, build a training set, materialize and check the online store, train, register and promote the model, and serve a sample prediction",
      )
      .option("--users <n>", "synthetic users", parsePositiveInt, 5_000)
      .option("--seed <n>", "random seed", parseNonNegativeInt, 42)
      .option(
        "--n-estimators <n>",
        "trees in the forest (the lab's recipe: 300; fewer for a faster demo)",
        parsePositiveInt,
        300,
      )
      .option(
        "--serve",
        "keep the prediction service running at the end (Ctrl-C stops it)",
      )
      .option(
        "--port <n>",
        "port of the service with --serve",
        parsePort,
        8000,
      ),
  ).action(
    act(async () => (await import("./commands/quickstart.ts")).runQuickstart, {
      repository: "lab",
    }),
  );

  common(
    program
      .command("promote")
      .description(
        "Move a registered model version to a stage and/or alias, optionally only if it beats the current one",
      )
      .option("--model-name <name>", "registered model", "streamflow_churn")
      .option("--version <n>", "the candidate version")
      .option("--latest", "the newest version is the candidate")
      .option(
        "--run-id <id>",
        "the version registered from this run is the candidate",
      )
      .addOption(
        new Option("--stage <stage>", "target stage").choices([
          "Production",
          "Staging",
          "Archived",
          "None",
        ]),
      )
      .option("--alias <name>", "target alias (e.g. champion)")
      .option(
        "--archive-existing",
        "archive the versions now in the target stage",
      )
      .option(
        "--if-better",
        "promote only if the candidate beats the current holder by more than --min-delta (exit 5 otherwise)",
      )
      .addOption(
        new Option("--metric <name>", "metric compared by --if-better")
          .choices(PROMOTION_METRICS)
          .default("auc"),
      )
      .option(
        "--min-delta <x>",
        "margin the candidate must exceed",
        parseShare,
        0.01,
      )
      .addHelpText(
        "after",
        "\n--if-better scores both versions on the candidate's own validation rows (same dates, same split),\nso the current model is never judged on rows the candidate trained on.\n\nExamples:\n  streamflow promote --latest --stage Production --archive-existing\n  streamflow promote --version 3 --alias champion --if-better --min-delta 0.01",
      ),
  ).action(act(async () => (await import("./commands/promote.ts")).runPromote));

  common(
    program
      .command("score")
      .description(
        "Batch-score every user with features at --as-of with the registered model, into an insert-only table or a file",
      )
      .requiredOption(
        "--as-of <date>",
        "feature cutoff, YYYY-MM-DD (the point-in-time rule of build-dataset)",
        parseDay,
      )
      .option(
        "--model-uri <uri>",
        "registered model: models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest",
        "models:/streamflow_churn/Production",
      )
      .option(
        "--table <name>",
        "predictions table (created on demand with the shape of churn_predictions)",
        "churn_predictions",
      )
      .option(
        "--out <file>",
        "write a .csv or .parquet file instead of the table",
      )
      .option(
        "--shard <I/N>",
        "score only hash bucket I of N (0 <= I < N): N workers split a month, the same users on every run",
      )
      .addHelpText(
        "after",
        "\nA user is scored when any feature view has a snapshot at or before --as-of; users without one are counted, not scored.\n" +
          "The table is keyed (user_id, as_of, model_name, model_version) and insert-only: scoring the same date with the same\n" +
          "version again writes nothing and says so. p_churn is what serve answers for the same features, bit for bit.\n\n" +
          "Examples:\n  streamflow score --as-of 2024-02-29\n  streamflow score --as-of 2024-02-29 --shard 0/4 --json\n  streamflow score --as-of 2024-02-29 --model-uri models:/streamflow_churn/3 --out scores.parquet",
      ),
  ).action(act(async () => (await import("./commands/score.ts")).runScore));

  common(
    program
      .command("serve")
      .description(
        "Serve churn predictions over HTTP from the online store and the registered model, with hot reload",
      )
      .option(
        "--host <host>",
        "interface to bind (0.0.0.0 exposes it to the network)",
        "127.0.0.1",
      )
      .option("--port <n>", "TCP port (0 picks a free one)", parsePort, 8000)
      .option(
        "--model-uri <uri>",
        "registered model to follow: models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest",
        "models:/streamflow_churn/Production",
      )
      .option(
        "--reload-interval-s <s>",
        "how often the registry is checked for a newly promoted version (0 = never)",
        parseNonNegativeInt,
        30,
      )
      .option(
        "--feature-cache-ttl-s <s>",
        "reuse a user's online features (and their prediction) for this long; 0 reads the database on every request",
        parseNonNegativeInt,
        5,
      )
      .option(
        "--drift-refresh-s <s>",
        "how often the latest drift report (streamflow drift) is read into /metrics' drift gauges (0 = at start only)",
        parseNonNegativeInt,
        60,
      )
      .option(
        "--api-token-env <name>",
        "environment variable holding the bearer token /predict* and /features* require (default STREAMFLOW_API_TOKEN, if set)",
      )
      .addOption(
        new Option(
          "--log-level <level>",
          "server log level (JSON lines on stderr; debug adds one line per request)",
        )
          .choices(["debug", "info", "warn", "error"])
          .default("info"),
      )
      .addHelpText(
        "after",
        `
Endpoints (the lab's repository; with another, its join key names the fields: {"account_no": …},
{"account_nos": […]}, /features/:account_no, and its features fill the answers):
  GET  /health                liveness
  GET  /ready                 200 when a model is loaded, the database answers and the online store covers the model; else 503 with reasons
  POST /predict               {"user_id": "7590-VHVEG"}
  POST /predict/batch         {"user_ids": ["7590-VHVEG", "5575-GNVDE"]}  (up to 1,000, at most one database round trip)
  GET  /features/:user_id     online values, per-feature status (PRESENT, NULL_VALUE, NOT_FOUND) and snapshot dates
  GET  /metrics               Prometheus: requests, latency, cache, model, served scores, latest drift report
                              (deploy/prometheus and deploy/grafana hold a scrape config, alerts and a dashboard)
  GET  /openapi.json          OpenAPI 3.1 document

Statuses: 404 user_not_found · 400 malformed JSON · 422 schema · 413 too large · 401 bad token · 503 no model or database down (Retry-After).
A newly promoted version is loaded beside the current one and swapped in without failing a request.
Online features are cached for --feature-cache-ttl-s (5 s): a materialize shows within that time.
SIGTERM or Ctrl-C drains in-flight requests and exits 0.

Example:
  streamflow serve --port 8000
  curl -s localhost:8000/predict -H 'Content-Type: application/json' -d '{"user_id":"7590-VHVEG"}'`,
      ),
  ).action(act(async () => (await import("./commands/serve.ts")).runServe));

  addDriftCommand(program, common, act);
  addRetrainCommand(program, common, act);
  addPipelineCommands(program, common, act);
  addWorkerCommand(program, common, act);

  const models = program
    .command("models")
    .description("Registered models (read-only)");
  common(
    models
      .command("list")
      .description("Registered models with their versions, stages and aliases"),
  ).action(
    act(async () => (await import("./commands/models.ts")).runModelsList),
  );
  common(
    models
      .command("show")
      .description(
        "Every version of a model: stage, aliases, dataset dates, AUC/F1, run",
      )
      .argument("<name>", "registered model name"),
  ).action(async (name: string, _opts: unknown, cmd: Command) =>
    dispatch(async () => (await import("./commands/models.ts")).runModelsShow, {
      ...cmd.optsWithGlobals(),
      name,
    }),
  );

  addRepositoryCommands(program, common, act);

  const db = program.command("db").description("Database maintenance");
  common(
    db
      .command("migrate")
      .description(
        "Apply pending schema migrations and the feature repository's tables (commands also do it on start)",
      )
      .option(
        "--allow-destructive",
        "let a changed feature repository drop or retype tables and columns, and their data",
      )
      .addHelpText(
        "after",
        "\nA changed feature repository migrates additively by itself (a new source, view, feature or\ncolumn); one that would drop a source, view or column, retype a column or change the key is\nrefused (exit 4, naming what would be lost) until this command runs with --allow-destructive.",
      ),
  ).action(
    act(async () => (await import("./commands/db-migrate.ts")).runDbMigrate),
  );

  return program;
}
