import type { Logger } from "@streamflow/core";
import {
  ATTEMPT_ID_TAG,
  newAttemptId,
  type PendingRunStore,
  type Registry,
  type Run,
} from "@streamflow/registry-client";

/** Where runs this process could not end are journaled, so the next command ends them FAILED. */
export interface PendingRunJournal {
  store: PendingRunStore;
  /** The journal's key: the tracking server (credentials removed) or the local registry folder. */
  server: string;
}

interface OpenRun {
  experimentId: string;
  attemptId: string;
  runId: string | undefined;
}

/**
 * Records a run this process could not end, so the next command that reaches the same server ends
 * it FAILED; says so. When even the journal cannot be written, says what is left open.
 */
async function leavePending(
  { journal, logger }: { journal: PendingRunJournal; logger: Logger },
  run: OpenRun,
  cause: unknown,
): Promise<void> {
  const which =
    run.runId === undefined
      ? `the run tagged ${ATTEMPT_ID_TAG}=${run.attemptId}`
      : `run ${run.runId}`;
  const reason = (cause as Error).message;
  try {
    await journal.store.add({
      server: journal.server,
      ...run,
      recordedAt: new Date().toISOString(),
      reason,
    });
    logger.warn(
      `could not end ${which} (${reason}); the next streamflow command that reaches ${journal.server} ends it FAILED`,
    );
  } catch (error) {
    logger.warn(
      `could not end ${which} (${reason}), nor record it for later (${(error as Error).message}): end it FAILED in MLflow yourself`,
    );
  }
}

export interface TrackedRunOptions {
  registry: Registry;
  pendingRuns: PendingRunJournal;
  experiment: string;
  runName: string;
  /** Tags set at creation, beside the attempt id. */
  tags: Readonly<Record<string, string>>;
  logger: Logger;
}

export interface TrackedRunResult<T> {
  value: T;
  run: Run;
  experimentId: string;
  /** The registry's location, as `describe()` gave it. */
  trackingUri: string;
}

/**
 * Runs `work` inside a tracking run that always ends in a known state: created first (tagged with
 * an attempt id so it can be found even if its id never comes back), FINISHED when `work`
 * resolves, FAILED when it throws, and journaled for the next command when it cannot be ended.
 */
export async function withTrackedRun<T>(
  options: TrackedRunOptions,
  work: (run: Run) => Promise<T>,
): Promise<TrackedRunResult<T>> {
  const { registry, pendingRuns, logger } = options;
  const journal = { journal: pendingRuns, logger };
  const info = await registry.describe();
  const exp = await registry.getOrCreateExperiment(options.experiment);
  const attemptId = newAttemptId();
  let run: Run;
  try {
    run = await registry.createRun({
      experimentId: exp.experimentId,
      runName: options.runName,
      tags: { ...options.tags, [ATTEMPT_ID_TAG]: attemptId },
    });
  } catch (error) {
    // The server may have created the run and the answer been lost: an orphan only the attempt id finds.
    await leavePending(
      journal,
      { experimentId: exp.experimentId, attemptId, runId: undefined },
      error,
    );
    throw error;
  }
  const runId = run.info.runId;
  logger.info(
    `tracking run ${runId} (${options.runName}) in experiment '${options.experiment}' on ${info.location}`,
  );
  try {
    const value = await work(run);
    await registry.terminateRun(runId, "FINISHED");
    return {
      value,
      run,
      experimentId: exp.experimentId,
      trackingUri: info.location,
    };
  } catch (error) {
    try {
      await registry.terminateRun(runId, "FAILED");
    } catch {
      await leavePending(
        journal,
        { experimentId: exp.experimentId, attemptId, runId },
        error,
      );
    }
    throw error;
  }
}
