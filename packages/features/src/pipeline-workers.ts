import type { Database, SqlExecutor } from "./internal/db.ts";

export interface RegisterPipelineWorkerOptions {
  db: SqlExecutor;
  workerId: string;
  host: string;
  pid: number;
  concurrency: number;
}

/** Records a worker process as alive, now. */
export async function registerPipelineWorker(
  options: RegisterPipelineWorkerOptions,
): Promise<void> {
  await options.db.query(
    `INSERT INTO pipeline_workers (worker_id, host, pid, concurrency) VALUES ($1, $2, $3, $4)`,
    [options.workerId, options.host, options.pid, options.concurrency],
  );
}

/**
 * Renews a worker's heartbeat and the queue worker ids its jobs are locked under. False when the
 * row is gone: the others judged this process dead (a pause longer than the threshold) and
 * unlocked its jobs, so it must stop rather than finish work another worker now holds.
 */
export async function recordPipelineWorkerHeartbeat(options: {
  db: SqlExecutor;
  workerId: string;
  queueWorkerIds: readonly string[];
}): Promise<boolean> {
  const changed = await options.db.execute(
    `UPDATE pipeline_workers SET heartbeat_at = clock_timestamp(), queue_worker_ids = $2
     WHERE worker_id = $1`,
    [options.workerId, [...options.queueWorkerIds]],
  );
  return changed === 1;
}

export async function unregisterPipelineWorker(options: {
  db: SqlExecutor;
  workerId: string;
}): Promise<void> {
  await options.db.query(`DELETE FROM pipeline_workers WHERE worker_id = $1`, [
    options.workerId,
  ]);
}

export interface DeadPipelineWorker {
  workerId: string;
  host: string;
  pid: number;
  queueWorkerIds: string[];
  heartbeatAt: Date;
}

/**
 * Removes the workers whose heartbeat is older than `staleAfterMs` and hands `release` the dead
 * ones and the queue worker ids the living still claim, in one transaction: two sweeping workers
 * never remove the same one twice, and a failed release leaves the rows for the next sweep.
 */
export async function sweepDeadPipelineWorkers(options: {
  db: Database;
  staleAfterMs: number;
  release(
    tx: SqlExecutor,
    workers: {
      dead: readonly DeadPipelineWorker[];
      liveQueueWorkerIds: readonly string[];
    },
  ): Promise<void>;
}): Promise<DeadPipelineWorker[]> {
  return options.db.transaction(async (tx) => {
    const rows = await tx.query<{
      worker_id: string;
      host: string;
      pid: number;
      queue_worker_ids: string[];
      heartbeat_at: Date | string;
    }>(
      `DELETE FROM pipeline_workers WHERE worker_id IN (
         SELECT worker_id FROM pipeline_workers
         WHERE heartbeat_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)
         FOR UPDATE SKIP LOCKED)
       RETURNING worker_id, host, pid, queue_worker_ids, heartbeat_at`,
      [options.staleAfterMs],
    );
    const dead = rows.map((r) => ({
      workerId: r.worker_id,
      host: r.host,
      pid: r.pid,
      queueWorkerIds: r.queue_worker_ids,
      heartbeatAt: new Date(r.heartbeat_at),
    }));
    const live = await tx.query<{ id: string }>(
      `SELECT DISTINCT unnest(queue_worker_ids) AS id FROM pipeline_workers`,
    );
    await options.release(tx, {
      dead,
      liveQueueWorkerIds: live.map((r) => r.id),
    });
    return dead;
  });
}
