import { parseCalendarDay, type CalendarDay } from "@streamflow/core";
import type { SqlExecutor } from "./internal/db.ts";

export const PIPELINE_STEP_STATUSES = [
  "running",
  "done",
  "noop",
  "skipped",
  "failed",
] as const;
export type PipelineStepStatus = (typeof PIPELINE_STEP_STATUSES)[number];

/** A step that needs no rerun: it finished, found nothing to do, or its policy left it out. */
export function isStepSettled(status: PipelineStepStatus): boolean {
  return status === "done" || status === "noop" || status === "skipped";
}

export interface PipelineStepRecord {
  runId: string;
  asOf: CalendarDay;
  step: string;
  /** The step's place in its flow, from 0. */
  position: number;
  status: PipelineStepStatus;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  /** The step's own JSON, as its command prints it; null while running. */
  result: unknown;
}

// A type, not an interface: query rows need an index signature.
type StepRow = {
  run_id: string;
  as_of: string;
  step: string;
  position: number;
  status: PipelineStepStatus;
  started_at: Date | string;
  finished_at: Date | string | null;
  duration_ms: number | null;
  result: unknown;
};

function toRecord(row: StepRow): PipelineStepRecord {
  return {
    runId: row.run_id,
    asOf: parseCalendarDay(row.as_of, "as_of"),
    step: row.step,
    position: row.position,
    status: row.status,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
    durationMs: row.duration_ms,
    result:
      typeof row.result === "string"
        ? (JSON.parse(row.result) as unknown)
        : row.result,
  };
}

const COLUMNS = `run_id, as_of::text AS as_of, step, position, status, started_at, finished_at,
  duration_ms, result`;

/**
 * Marks a step running (again): a step that failed or was cut off by a crash is started over
 * under the same run id, so the row always says what happened last.
 */
export async function beginPipelineStep(options: {
  db: SqlExecutor;
  runId: string;
  asOf: CalendarDay;
  step: string;
  position: number;
}): Promise<void> {
  await options.db.query(
    `INSERT INTO pipeline_runs (run_id, as_of, step, position, status)
     VALUES ($1, $2, $3, $4, 'running')
     ON CONFLICT (run_id, step) DO UPDATE SET status = 'running', started_at = clock_timestamp(),
       finished_at = NULL, duration_ms = NULL, result = NULL`,
    [options.runId, options.asOf, options.step, options.position],
  );
}

/** Records how a step ended, and returns the row as stored. */
export async function endPipelineStep(options: {
  db: SqlExecutor;
  runId: string;
  step: string;
  status: Exclude<PipelineStepStatus, "running">;
  durationMs: number;
  result: unknown;
}): Promise<PipelineStepRecord> {
  const rows = await options.db.query<StepRow>(
    `UPDATE pipeline_runs SET status = $3, finished_at = clock_timestamp(), duration_ms = $4,
       result = $5::jsonb
     WHERE run_id = $1 AND step = $2
     RETURNING ${COLUMNS}`,
    [
      options.runId,
      options.step,
      options.status,
      Math.max(0, Math.round(options.durationMs)),
      JSON.stringify(options.result ?? null),
    ],
  );
  return toRecord(rows[0]!);
}

/** The month's newest run (by its first step's start) with its steps in flow order, or null. */
export async function latestPipelineRun(options: {
  db: SqlExecutor;
  asOf: CalendarDay;
}): Promise<{ runId: string; steps: PipelineStepRecord[] } | null> {
  const rows = await options.db.query<StepRow>(
    `SELECT ${COLUMNS} FROM pipeline_runs
     WHERE run_id = (
       SELECT run_id FROM pipeline_runs WHERE as_of = $1
       GROUP BY run_id ORDER BY min(started_at) DESC, run_id DESC LIMIT 1)
     ORDER BY position, step`,
    [options.asOf],
  );
  if (rows.length === 0) return null;
  return { runId: rows[0]!.run_id, steps: rows.map(toRecord) };
}

/** Every recorded step, oldest run first (optionally of one month), for `pipeline status`. */
export async function pipelineHistory(options: {
  db: SqlExecutor;
  asOf?: CalendarDay | undefined;
}): Promise<PipelineStepRecord[]> {
  const rows = await options.db.query<StepRow>(
    `SELECT ${COLUMNS} FROM pipeline_runs
     WHERE $1::date IS NULL OR as_of = $1::date
     ORDER BY min(started_at) OVER (PARTITION BY run_id), run_id, position, step`,
    [options.asOf ?? null],
  );
  return rows.map(toRecord);
}

/** One run's steps in flow order (a distributed run's shard rows after their step), for a coordinator that waits on them. */
export async function pipelineRunSteps(options: {
  db: SqlExecutor;
  runId: string;
}): Promise<PipelineStepRecord[]> {
  const rows = await options.db.query<StepRow>(
    `SELECT ${COLUMNS} FROM pipeline_runs WHERE run_id = $1 ORDER BY position, step`,
    [options.runId],
  );
  return rows.map(toRecord);
}
