import { type CalendarDay } from "@streamflow/core";
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Database } from "@streamflow/features";
import {
  trainAndRegister,
  trainingRunName,
  type TrainAndRegisterResult,
  type TrainingRecipe,
} from "@streamflow/lifecycle";
import type { Registry } from "@streamflow/registry-client";
import type { CommandContext } from "./context.ts";
import { pendingRunJournal } from "./registry.ts";

export interface TrainRequest {
  asOf: CalendarDay;
  labelAsOf?: CalendarDay | undefined;
  recipe: TrainingRecipe;
  /** @default $STREAMFLOW_HOME/runs/<run name> */
  outDir?: string | undefined;
  experiment: string;
  modelName: string;
}

export async function gitCommit(cwd: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], {
      cwd,
      timeout: 5_000,
    });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The library's trainAndRegister with what the CLI resolves: output folder, journal, git commit, logger, progress. */
export async function trainAndRegisterFromCli(
  ctx: CommandContext,
  { db, registry }: { db: Database; registry: Registry },
  request: TrainRequest,
): Promise<TrainAndRegisterResult> {
  const commit = await gitCommit(ctx.io.cwd);
  return trainAndRegister({
    db,
    registry,
    pendingRuns: pendingRunJournal(ctx),
    asOf: request.asOf,
    labelAsOf: request.labelAsOf,
    recipe: request.recipe,
    outDir: resolve(
      ctx.io.cwd,
      request.outDir ??
        join(
          ctx.config.home,
          "runs",
          trainingRunName(request.asOf, request.labelAsOf),
        ),
    ),
    experiment: request.experiment,
    modelName: request.modelName,
    tags: commit ? { "mlflow.source.git.commit": commit } : {},
    logger: ctx.logger,
    onProgress: ctx.progress,
  });
}
