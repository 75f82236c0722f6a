import { hostname } from "node:os";
import {
  pipelineJobHandler,
  PIPELINE_STEP_TASK,
  startWorker,
} from "@streamflow/lifecycle";
import type { CommandContext } from "../context.ts";
import { withRegistry } from "../registry.ts";
import { withFeatureStore } from "../store.ts";
import { distributedStoreUrl, pipelineStepFactory } from "./pipeline.ts";

export interface WorkerFlags {
  concurrency: number;
  heartbeatS: number;
  staleAfterS: number;
}

/**
 * Takes pipeline steps and score shards from the store's job queue until SIGTERM/SIGINT, then
 * finishes the jobs it holds and leaves. Any number of these, on any machines that reach the
 * store and the registry, share one month's work.
 */
export async function runWorker(
  ctx: CommandContext,
  flags: WorkerFlags,
): Promise<void> {
  const { logger } = ctx;
  await withFeatureStore(ctx, (db) =>
    withRegistry(ctx, async (registry) => {
      const url = distributedStoreUrl(ctx, db);
      const handler = pipelineJobHandler({
        db,
        stepFor: pipelineStepFactory(ctx, { db, registry }),
        onJob: (e) => {
          if (e.kind === "start")
            logger.info(
              `job ${e.payload.step} of ${e.payload.as_of} (run ${e.payload.run_id}) started${e.attempt > 1 ? `, attempt ${e.attempt}` : ""}`,
            );
          else if (e.kind === "end")
            logger.info(
              `job ${e.record.step} of ${e.record.asOf} (run ${e.record.runId}) ${e.record.status} in ${((e.record.durationMs ?? 0) / 1000).toFixed(1)} s`,
            );
          else
            logger.warn(
              `job ${e.payload.step} of ${e.payload.as_of} (run ${e.payload.run_id}) failed: ${(e.error as Error).message ?? String(e.error)}`,
            );
        },
      });
      const worker = await startWorker({
        connectionString: url,
        db,
        concurrency: flags.concurrency,
        tasks: { [PIPELINE_STEP_TASK]: handler },
        heartbeatMs: flags.heartbeatS * 1000,
        staleAfterMs: flags.staleAfterS * 1000,
        host: hostname(),
        pid: process.pid,
        logger,
        onReleased: (d) =>
          logger.warn(
            `worker ${d.workerId} (pid ${d.pid} on ${d.host}) has been silent since ${d.heartbeatAt.toISOString()}: released its jobs for another attempt`,
          ),
      });
      ctx.result(
        {
          worker_id: worker.workerId,
          queue_worker_ids: worker.queueWorkerIds,
          concurrency: flags.concurrency,
          heartbeat_s: flags.heartbeatS,
          stale_after_s: flags.staleAfterS,
          database: db.location,
        },
        () =>
          [
            `StreamFlow worker ${worker.workerId}: ${flags.concurrency} job(s) at a time from the queue in ${db.location}`,
            `  heartbeat every ${flags.heartbeatS} s; a worker silent for ${flags.staleAfterS} s has its jobs retried elsewhere · stop: Ctrl-C (finishes running jobs)`,
          ].join("\n"),
      );
      const stopped =
        ctx.io.stopRequested?.() ?? new Promise<string>(() => undefined);
      const signal = await Promise.race([
        stopped,
        worker.done.then(() => undefined),
      ]);
      if (signal !== undefined)
        logger.info(`${signal}: finishing the running jobs and stopping`);
      await worker.stop();
      await worker.done;
      logger.info("stopped");
    }),
  );
}
