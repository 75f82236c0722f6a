import { Option } from "commander";
import { PROMOTION_METRICS } from "@streamflow/lifecycle";
import { parseDay, parseShare } from "./parsers.ts";
import { addTrainingOptions } from "./program-training.ts";
import type { AddCommands } from "./program.ts";

/** `streamflow retrain`: train a candidate, compare it fairly, promote it only if it is better. */
export const addRetrainCommand: AddCommands = (program, common, act) => {
  common(
    addTrainingOptions(
      program
        .command("retrain")
        .description(
          "Train a candidate on a month, score it and the current Production model on the candidate's own validation rows, and promote it only if it is better by --min-delta",
        )
        .requiredOption(
          "--as-of <date>",
          "feature cutoff of the candidate, YYYY-MM-DD",
          parseDay,
        )
        .option(
          "--label-as-of <date>",
          "label cutoff, YYYY-MM-DD (default: --as-of)",
          parseDay,
        )
        .option(
          "--if-drift",
          "run streamflow drift against --reference first and retrain only on dataset drift",
        )
        .option(
          "--reference <date>",
          "reference month for --if-drift, YYYY-MM-DD",
          parseDay,
        )
        .option(
          "--drift-share <s>",
          "with --if-drift: dataset drift when drifted / tested features >= this share",
          parseShare,
          0.5,
        )
        .addOption(
          new Option("--metric <name>", "metric compared")
            .choices(PROMOTION_METRICS)
            .default("auc"),
        )
        .option(
          "--min-delta <x>",
          "margin the candidate must exceed (strictly)",
          parseShare,
          0.01,
        )
        .addOption(
          new Option(
            "--stage <stage>",
            "where a better candidate goes (default Production); the previous holder is archived",
          ).choices(["Production", "Staging"]),
        )
        .option(
          "--alias <name>",
          "move this alias to a better candidate instead of a stage",
        ),
    ),
  )
    .addHelpText(
      "after",
      "\nThe lab's rule: promote when nothing holds the target, or its value is NaN; never a NaN candidate;\n" +
        "otherwise only when candidate > current + delta. Both are scored on the candidate's validation rows,\n" +
        "so the current model is never judged on rows the candidate trained on (the lab's leak).\n" +
        "The candidate is run candidate_<as-of>, registered as a new version; a skipped one stays unpromoted.\n" +
        "Exit 0 for promoted, skipped and no_drift alike: the decision is in the output.\n\n" +
        "Examples:\n  streamflow retrain --as-of 2024-02-29\n" +
        "  streamflow retrain --as-of 2024-02-29 --if-drift --reference 2024-01-31 --drift-share 0.02 --json",
    )
    .action(
      act(async () => (await import("./commands/retrain.ts")).runRetrain),
    );
};
