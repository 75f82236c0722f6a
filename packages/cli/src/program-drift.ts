import { Option } from "commander";
import { DRIFT_METHOD_CHOICES } from "@streamflow/lifecycle";
import {
  collectFeatureMethod,
  parseDay,
  parseShare,
  parseThreshold,
} from "./parsers.ts";
import type { AddCommands } from "./program.ts";

/** `streamflow drift`: its flags and help, wired like every other command. */
export const addDriftCommand: AddCommands = (program, common, act) => {
  common(
    program
      .command("drift")
      .description(
        "Compare two months: per-feature drift as Evidently 0.7 computes it, target drift from the label snapshots, and with a model prediction drift and realised performance",
      )
      .requiredOption(
        "--reference <date>",
        "reference month, YYYY-MM-DD (its point-in-time dataset, as build-dataset builds it)",
        parseDay,
      )
      .requiredOption("--current <date>", "current month, YYYY-MM-DD", parseDay)
      .option(
        "--model-uri <uri>",
        "also watch this registered model: prediction drift on p_churn and AUC/F1/accuracy on the current month",
      )
      .addOption(
        new Option("--method <name>", "test for every column it can test")
          .choices(DRIFT_METHOD_CHOICES)
          .default("auto"),
      )
      .option(
        "--threshold <t>",
        "drift threshold for the columns --method tests (all columns with auto); default per method",
        parseThreshold,
      )
      .option(
        "--feature <NAME=METHOD[:T]>",
        "one column's test and threshold, over --method (repeatable)",
        collectFeatureMethod,
      )
      .option(
        "--drift-share <s>",
        "dataset drift when drifted / tested features >= this share",
        parseShare,
        0.5,
      )
      .option("--report <file.html>", "also write the HTML report here")
      .option("--fail-on-drift", "exit 5 on dataset drift (for CI)")
      .addHelpText(
        "after",
        "\nauto is Evidently 0.7's rule: up to 1,000 reference rows, KS for numerical columns with more than 5 values,\n" +
          "chi-square for categories, a z-test for 2 values; above, normalised Wasserstein for numerical columns with more\n" +
          "than 5 values and Jensen-Shannon distance for the rest. Booleans and text are categorical, integers and doubles\n" +
          "numerical (the declared schema decides). NULLs are dropped on each side. Default thresholds: p-values 0.05\n" +
          "(ks drifts when p <= t, chisquare and ztest when p < t), distances 0.1 (wasserstein, jensenshannon, psi: d >= t).\n" +
          "Precedence: --feature > --method/--threshold > auto; --threshold applies only to columns --method tests.\n" +
          "Every run is tracked in experiment streamflow-monitoring (metrics, drift_report.html, drift.json) and\n" +
          "stored in the drift_reports table, which serve's Prometheus gauges read.\n\n" +
          "Examples:\n  streamflow drift --reference 2024-01-31 --current 2024-02-29\n" +
          "  streamflow drift --reference 2024-01-31 --current 2024-02-29 --model-uri models:/streamflow_churn/Production --report drift.html\n" +
          "  streamflow drift --reference 2024-01-31 --current 2024-02-29 --feature watch_hours_30d=psi:0.2 --drift-share 0.3 --fail-on-drift --json",
      ),
  ).action(act(async () => (await import("./commands/drift.ts")).runDrift));
};
