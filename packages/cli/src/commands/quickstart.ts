import { join } from "node:path";
import { LAB_FOREST_OPTIONS } from "@streamflow/core";
import { quickstart } from "@streamflow/lifecycle";
import { createPredictionService } from "@streamflow/serving";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { pendingRunJournal, withRegistry } from "../registry.ts";
import {
  renderQuickstart,
  type SamplePrediction,
} from "../render-quickstart.ts";
import { createServerLogger, SERVING_POOL } from "../serving.ts";
import { withFeatureStore } from "../store.ts";

export interface QuickstartFlags {
  users: number;
  seed: number;
  nEstimators: number;
  /** Keep the prediction service running after the sample prediction, until Ctrl-C. */
  serve?: boolean;
  port: number;
}

const MODEL_NAME = "streamflow_churn";

/** The README's main job: the lifecycle's forward path on the configured database, then a sample prediction. */
export async function runQuickstart(
  ctx: CommandContext,
  flags: QuickstartFlags,
): Promise<void> {
  const started = performance.now();
  const recipe = {
    nEstimators: flags.nEstimators,
    maxFeatures: LAB_FOREST_OPTIONS.maxFeatures ?? "sqrt",
    classWeight: "balanced",
    testSize: 0.25,
  } as const;
  const dir = join(ctx.config.home, "quickstart");
  const opts = {
    dir,
    users: flags.users,
    seed: flags.seed,
    recipe,
    modelName: MODEL_NAME,
    experiment: "streamflow",
    pendingRuns: pendingRunJournal(ctx),
    logger: ctx.logger,
    onProgress: ctx.progress,
  };
  const [summary, location] = await withFeatureStore(ctx, (db) =>
    withRegistry(
      ctx,
      async (registry) =>
        [await quickstart({ ...opts, db, registry }), db.location] as const,
    ),
  );
  ctx.logger.info(
    "starting the prediction service and asking it for a sample prediction",
  );
  // A fresh store and registry as `streamflow serve` opens them: the pool it serves with, its reload loop.
  await withFeatureStore(
    ctx,
    (db) =>
      withRegistry(ctx, async (registry) => {
        const service = await createPredictionService({
          db,
          registry,
          modelUri: `models:/${MODEL_NAME}/Production`,
          logger: createServerLogger(ctx, flags.serve ? "info" : "warn"),
        });
        try {
          const url = await service.listen({
            port: flags.serve ? flags.port : 0,
          });
          const response = await fetch(`${url}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ user_id: summary.sampleUserId }),
          });
          const sample =
            (await response.json()) as Partial<SamplePrediction> & {
              message?: string;
            };
          if (response.status !== 200) {
            throw new CliError(
              "CHECK_FAILED",
              `the prediction service answered ${response.status} for ${summary.sampleUserId}: ${sample.message ?? ""}`,
              {
                hint: "Run streamflow serve --verbose and GET /ready to see why.",
              },
            );
          }
          const rendered = renderQuickstart({
            summary,
            database: location,
            url,
            serving: flags.serve === true,
            sample: sample as SamplePrediction,
            seconds: (performance.now() - started) / 1000,
          });
          ctx.result(rendered.json, () => rendered.text);
          if (flags.serve) {
            const signal = await (ctx.io.stopRequested?.() ??
              new Promise<string>(() => undefined));
            ctx.logger.info(`${signal}: stopping the prediction service`);
          }
        } finally {
          await service.close();
        }
      }),
    { pool: SERVING_POOL },
  );
}
