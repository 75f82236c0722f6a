import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  Logger as QueueLogger,
  makeWorkerUtils,
  run,
  type JobHelpers,
  type Runner,
  type TaskList,
  type WorkerEvents,
  type WorkerUtils,
} from "graphile-worker";
import { CoreError, SILENT_LOGGER, type Logger } from "@streamflow/core";
import {
  recordPipelineWorkerHeartbeat,
  registerPipelineWorker,
  sweepDeadPipelineWorkers,
  unregisterPipelineWorker,
  type Database,
  type DeadPipelineWorker,
} from "@streamflow/features";
import { LifecycleError } from "../errors.ts";

// The queue is graphile-worker 0.17 (the last line that runs on Node 20) in the feature store's
// own PostgreSQL: its `graphile_worker` schema is the only infrastructure a distributed run adds.

/** A job as the queue holds it while it waits, runs or has failed for good. */
export interface QueuedJob {
  key: string;
  attempts: number;
  lastError: string | null;
  /** Attempts used up and not running: no worker will take it again. */
  failedForGood: boolean;
}

function queueLogger(logger: Logger): QueueLogger {
  return new QueueLogger(() => (level, message) => {
    // LogLevel is an ambient const enum, unusable under verbatimModuleSyntax: compare its values.
    const severity = level as string;
    if (severity === "error" || severity === "warning")
      logger.warn(`job queue: ${message}`);
    else logger.debug(`job queue: ${message}`);
  });
}

/** The coordinator's side of the queue: add jobs by key, and read how they are doing. */
export class JobQueue {
  readonly #utils: WorkerUtils;

  private constructor(utils: WorkerUtils) {
    this.#utils = utils;
  }

  /**
   * Connects and installs or upgrades the queue's schema (idempotent, safe from several
   * processes at once).
   * @throws LifecycleError QUEUE_UNAVAILABLE when the database cannot be reached.
   */
  static async open(options: {
    connectionString: string;
    logger?: Logger;
  }): Promise<JobQueue> {
    try {
      const utils = await makeWorkerUtils({
        connectionString: options.connectionString,
        logger: queueLogger(options.logger ?? SILENT_LOGGER),
      });
      try {
        await utils.migrate();
      } catch (error) {
        await utils.release();
        throw error;
      }
      return new JobQueue(utils);
    } catch (cause) {
      throw queueUnavailable(cause);
    }
  }

  /**
   * Makes sure a job with this key exists, without ever running a step twice at once: a job
   * already waiting or running is left as it is; one that failed for good (its attempts used up by
   * crashed workers) is reset for another round, which no worker can be running.
   */
  async ensure(options: {
    task: string;
    key: string;
    payload: object;
    maxAttempts: number;
  }): Promise<QueuedJob> {
    const add = (mode: "unsafe_dedupe" | "replace") =>
      this.#utils.withPgClient(async (client) => {
        const r = await client.query<JobRow>(
          `SELECT key, attempts, max_attempts, last_error, locked_at FROM graphile_worker.add_job(
             $1, $2::json, job_key => $3, max_attempts => $4, job_key_mode => $5)`,
          [
            options.task,
            JSON.stringify(options.payload),
            options.key,
            options.maxAttempts,
            mode,
          ],
        );
        return toQueuedJob(r.rows[0]!);
      });
    const job = await add("unsafe_dedupe");
    return job.failedForGood ? add("replace") : job;
  }

  /** The job with this key, or null once it is finished (the queue deletes finished jobs). */
  async job(key: string): Promise<QueuedJob | null> {
    return this.#utils.withPgClient(async (client) => {
      const r = await client.query<JobRow>(
        `SELECT key, attempts, max_attempts, last_error, locked_at FROM graphile_worker.jobs WHERE key = $1`,
        [key],
      );
      return r.rows[0] === undefined ? null : toQueuedJob(r.rows[0]);
    });
  }

  async close(): Promise<void> {
    await this.#utils.release();
  }
}

type JobRow = {
  key: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  locked_at: Date | null;
};

function toQueuedJob(r: JobRow): QueuedJob {
  return {
    key: r.key,
    attempts: r.attempts,
    lastError: r.last_error,
    failedForGood: r.locked_at === null && r.attempts >= r.max_attempts,
  };
}

function queueUnavailable(cause: unknown): LifecycleError {
  return new LifecycleError(
    "QUEUE_UNAVAILABLE",
    `the job queue in the feature store's PostgreSQL cannot be used: ${(cause as Error).message ?? String(cause)}`,
    {
      cause,
      hint: "Check that the store's PostgreSQL is up and that this role may create the graphile_worker schema (streamflow db migrate as the owner).",
    },
  );
}

/** What a task handler learns about the job it runs. */
export interface JobContext {
  key: string | null;
  /** 1 on the first attempt; more after a crashed worker's job was released. */
  attempt: number;
}

export type JobHandler = (payload: unknown, job: JobContext) => Promise<void>;

export interface StartWorkerOptions {
  connectionString: string;
  /** The store: heartbeats go to its pipeline_workers table. */
  db: Database;
  /** Jobs run at once by this process. */
  concurrency: number;
  tasks: Readonly<Record<string, JobHandler>>;
  /** How often this process says it is alive and looks for dead ones. @default 5000 */
  heartbeatMs?: number;
  /** A worker silent this long is dead: its jobs are released to the others. @default 30000 */
  staleAfterMs?: number;
  /** How often an idle slot looks for jobs besides being woken by new ones. @default 1000 */
  pollIntervalMs?: number;
  host: string;
  pid: number;
  logger?: Logger;
  /** Each dead worker this one released, for the log. */
  onReleased?: (dead: DeadPipelineWorker) => void;
}

export interface RunningWorker {
  workerId: string;
  /** The ids the queue locks this process's jobs under (its pool's). */
  queueWorkerIds: readonly string[];
  /** Stops taking jobs, waits for those running, and leaves. */
  stop(): Promise<void>;
  /** Settles when the worker has stopped; rejects when it stopped on an error. */
  done: Promise<void>;
}

export const DEFAULT_HEARTBEAT_MS = 5000;
export const DEFAULT_STALE_AFTER_MS = 30_000;

/**
 * Runs queued jobs until stopped. The id the queue locks this process's jobs under is recorded with
 * its heartbeat, so that a process killed at any moment can be recognised by the others from its
 * silent heartbeat and its jobs unlocked for another attempt; graphile-worker itself would leave
 * them locked for four hours (its crash recovery is in the paid Pro edition).
 *
 * @throws LifecycleError QUEUE_UNAVAILABLE when the queue cannot be reached.
 */
export async function startWorker(
  options: StartWorkerOptions,
): Promise<RunningWorker> {
  const logger = options.logger ?? SILENT_LOGGER;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  if (!(staleAfterMs > heartbeatMs))
    throw new CoreError(
      "INVALID_ARGUMENT",
      `a worker must be judged dead after more than one heartbeat: stale after ${staleAfterMs} ms, heartbeat every ${heartbeatMs} ms`,
      { hint: "Give a stale-after at least three times the heartbeat." },
    );
  const workerId = `${options.host}-${options.pid}-${randomBytes(4).toString("hex")}`;
  const { db } = options;
  const register = () =>
    registerPipelineWorker({
      db,
      workerId,
      host: options.host,
      pid: options.pid,
      concurrency: options.concurrency,
    });
  await register();

  const taskList: TaskList = Object.fromEntries(
    Object.entries(options.tasks).map(([name, handler]) => [
      name,
      (payload: unknown, helpers: JobHelpers) =>
        handler(payload, {
          key: helpers.job.key,
          attempt: helpers.job.attempts,
        }),
    ]),
  );

  const beating: { timer?: NodeJS.Timeout } = {};
  let runner: Runner | undefined;
  const stopAll = async () => {
    clearInterval(beating.timer);
    await runner?.stop().catch(() => undefined);
    await unregisterPipelineWorker({ db, workerId }).catch(() => undefined);
  };
  // graphile-worker locks a job under its pool's id, which it draws itself: learn it as the pool
  // is created, to record it with the heartbeat.
  const events = new EventEmitter() as WorkerEvents;
  const queueWorkerIds: string[] = [];
  events.on("pool:create", ({ workerPool }) =>
    queueWorkerIds.push(workerPool.id),
  );
  try {
    runner = await run({
      connectionString: options.connectionString,
      concurrency: options.concurrency,
      maxPoolSize: options.concurrency + 2,
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 1000,
      logger: queueLogger(logger),
      taskList,
      events,
      // No cron: without this graphile-worker looks for a crontab file in the current directory.
      parsedCronItems: [],
    });
  } catch (cause) {
    await stopAll();
    throw queueUnavailable(cause);
  }

  let beatInFlight = false;
  const beat = async () => {
    if (beatInFlight) return;
    beatInFlight = true;
    try {
      const alive = await recordPipelineWorkerHeartbeat({
        db,
        workerId,
        queueWorkerIds,
      });
      if (!alive) {
        // Another worker judged us dead (a pause longer than staleAfterMs) and released our jobs:
        // they may run twice, which every step tolerates; come back so ours are not released again.
        logger.warn(
          `worker ${workerId} was taken for dead (no heartbeat for ${staleAfterMs} ms); its running jobs may be retried elsewhere`,
        );
        await register();
        await recordPipelineWorkerHeartbeat({ db, workerId, queueWorkerIds });
      }
      const dead = await sweepDeadPipelineWorkers({
        db,
        staleAfterMs,
        // Every lock held longer than a heartbeat's staleness by an id no living worker claims: the
        // dead ones', and any taken in the instant between a pool's start and its first heartbeat
        // by a process that died in that instant.
        release: async (tx, { liveQueueWorkerIds }) => {
          await tx.query(
            `SELECT graphile_worker.force_unlock_workers(array_agg(DISTINCT locked_by))
             FROM graphile_worker.jobs
             WHERE locked_by IS NOT NULL AND NOT (locked_by = ANY($1::text[]))
               AND locked_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000)
             HAVING count(*) > 0`,
            [[...liveQueueWorkerIds], staleAfterMs],
          );
        },
      });
      for (const d of dead) options.onReleased?.(d);
    } catch (error) {
      logger.warn(
        `worker ${workerId}: heartbeat failed (${(error as Error).message}); trying again in ${heartbeatMs} ms`,
      );
    } finally {
      beatInFlight = false;
    }
  };
  beating.timer = setInterval(() => void beat(), heartbeatMs);
  // The first beat records the pool's id before a caller learns the worker has started.
  await beat();

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopAll());
  const done = runner.promise.then(async () => {
    await stop();
  });
  return { workerId, queueWorkerIds, stop, done };
}
