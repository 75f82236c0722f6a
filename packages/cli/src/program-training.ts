import { Option, type Command } from "commander";
import {
  parseMaxFeatures,
  parseNonNegativeInt,
  parsePositiveInt,
  parseTestSize,
} from "./parsers.ts";

/** The forest recipe, output folder, experiment and model name: what `train` and `retrain` share. */
export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option("--n-estimators <n>", "trees", parsePositiveInt, 300)
    .option(
      "--max-features <m>",
      "features tried per split: sqrt, log2, all, a count or a share",
      parseMaxFeatures,
      "sqrt",
    )
    .addOption(
      new Option("--class-weight <w>", "class weighting")
        .choices(["balanced", "none"])
        .default("balanced"),
    )
    .option(
      "--max-depth <n>",
      "deepest tree level (default: grow until pure)",
      parsePositiveInt,
    )
    .option(
      "--seed <n>",
      "seed of the split and the forest",
      parseNonNegativeInt,
      42,
    )
    .option(
      "--test-size <share>",
      "stratified validation share",
      parseTestSize,
      0.25,
    )
    .option(
      "--jobs <n>",
      "worker threads (default: all cores; the model does not depend on it)",
      parsePositiveInt,
    )
    .option(
      "--out-dir <dir>",
      "where model.json, feature_schema.json, metrics.json and the SVG plots go (default: $STREAMFLOW_HOME/runs/<run name>)",
    )
    .option("--experiment <name>", "MLflow experiment", "streamflow")
    .addOption(
      new Option(
        "--model-name <name>",
        "registered model the run is added to as a new version",
      ).default("streamflow_churn"),
    );
}
