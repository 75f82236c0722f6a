import { Option } from "commander";
import { FEATURES_FILE } from "./config.ts";
import type { AddCommands } from "./program.ts";

/** `init` writes a feature repository file; `features show` prints the one in force. */
export const addRepositoryCommands: AddCommands = (program, common, act) => {
  program
    .command("init")
    .description(
      `Write a feature repository file to edit: the lab's (${FEATURES_FILE})`,
    )
    .addOption(
      new Option("--example <name>", "which repository to start from")
        .choices(["lab"])
        .default("lab"),
    )
    .option("--out <file>", "where to write it", FEATURES_FILE)
    .option("--force", "overwrite a file that is already there")
    .option(
      "--json",
      "print exactly one JSON object on stdout (logs and progress go to stderr)",
    )
    .option("--verbose", "log each step, and show error causes")
    .addHelpText(
      "after",
      "\nThe file declares the entity, the source files of a month and their columns and rules, the\n" +
        "feature views the model reads and the label. Commands find it in the current directory (or\n" +
        "by --features / STREAMFLOW_FEATURES); without one they run the lab's, the same as this file.\n\n" +
        "Example:\n  streamflow init && streamflow features show",
    )
    .action(
      act(async () => (await import("./commands/repository.ts")).runInit, {
        repository: "none",
      }),
    );

  const features = program
    .command("features")
    .description("The feature repository in force");
  common(
    features
      .command("show")
      .description(
        "Print the feature repository in force, every default written out, and its hash",
      )
      .addHelpText(
        "after",
        "\nThe repository is --features FILE, else STREAMFLOW_FEATURES, else ./streamflow.features.yaml,\n" +
          "else the lab's built in. A file that is not valid is refused with exit 2, naming the key and line.\n\n" +
          "Example:\n  streamflow features show --features my-repo.yaml --json",
      ),
  ).action(
    act(async () => (await import("./commands/repository.ts")).runFeaturesShow),
  );
};
