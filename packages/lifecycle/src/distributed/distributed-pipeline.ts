import { setTimeout as sleep } from "node:timers/promises";
import {
  StreamflowError,
  parseCalendarDay,
  type CalendarDay,
} from "@streamflow/core";
import {
  beginPipelineStep,
  endPipelineStep,
  isStepSettled,
  pipelineRunSteps,
  type Database,
  type PipelineStepRecord,
} from "@streamflow/features";
import { LifecycleError } from "../errors.ts";
import {
  failureJson,
  runPipelineStep,
  runRecordedFlow,
  type PipelineRunResult,
  type PipelineStep,
  type PipelineStepOutcome,
  type RunPipelineOptions,
} from "../pipeline-runner.ts";
import type { JobHandler, JobQueue } from "./job-queue.ts";

/** The one task a distributed run enqueues: a step of a month, or one shard of a fanned-out step. */
export const PIPELINE_STEP_TASK = "streamflow_pipeline_step";

/** A job that crashed its worker this many times is given up on (the run fails; rerun to retry). */
const MAX_ATTEMPTS = 5;

/** What every job carries: where its record goes, and the run's parameters for the step to use. */
export interface PipelineJobPayload {
  run_id: string;
  as_of: CalendarDay;
  /** The step's name, or `<step>:<I>/<N>` for a shard. */
  step: string;
  position: number;
  /** `I/N` for a shard of a fanned-out step. */
  shard: string | null;
  /** The flow's parameters (a JSON object), as the coordinator was given them. */
  params: Record<string, unknown>;
}

export interface FanOut {
  /** The step run as shards. */
  step: string;
  shards: number;
  /**
   * Parameters fixed once for every shard (which model version scores, say), so shards taken by
   * different workers at different times still do one thing. `settledShards` are those a run
   * being resumed already finished: the parameters must be theirs.
   */
  prepare(
    earlier: ReadonlyMap<string, PipelineStepRecord>,
    settledShards: readonly PipelineStepRecord[],
  ): Promise<Record<string, unknown>>;
  /** The step's own outcome from its settled shards, as one process would have recorded it. */
  join(
    shards: readonly PipelineStepRecord[],
    fixed: Record<string, unknown>,
  ): Promise<PipelineStepOutcome>;
}

export interface RunDistributedPipelineOptions {
  db: Database;
  queue: JobQueue;
  asOf: CalendarDay;
  /** The flow's step names, in order: the same as the single-process flow's. */
  steps: readonly string[];
  params: Record<string, unknown>;
  fanOut?: FanOut | undefined;
  /** How often the coordinator looks at its jobs' records. @default 250 */
  pollMs?: number;
  onStep?: RunPipelineOptions["onStep"];
  newRunId?: () => string;
}

/**
 * The month's flow with every step run by whichever `streamflow worker` takes it from the queue,
 * and one step fanned out as shards that run side by side. Same records, same resumption rule and
 * same end state as runPipeline: the coordinator only enqueues, waits, joins and decides. Killing
 * it loses nothing — the jobs run on, and the same call later picks the run up where it stands.
 */
export async function runDistributedPipeline(
  options: RunDistributedPipelineOptions,
): Promise<PipelineRunResult> {
  const { db, asOf } = options;
  return runRecordedFlow({
    db,
    asOf,
    stepNames: options.steps,
    onStep: options.onStep,
    newRunId: options.newRunId,
    runStep: async ({ runId, step, position, earlier }) => {
      await beginPipelineStep({ db, runId, asOf, step, position });
      options.onStep?.({ kind: "start", step, position });
      const waiter = new JobWaiter(options, runId);
      return options.fanOut?.step === step
        ? fannedOut(options, options.fanOut, {
            runId,
            position,
            earlier,
            waiter,
          })
        : waiter
            .run([{ step, position, shard: null }], {})
            .then((rs) => rs[0]!);
    },
  });
}

async function fannedOut(
  options: RunDistributedPipelineOptions,
  fanOut: FanOut,
  at: {
    runId: string;
    position: number;
    earlier: ReadonlyMap<string, PipelineStepRecord>;
    waiter: JobWaiter;
  },
): Promise<PipelineStepRecord> {
  const { db } = options;
  const started = performance.now();
  const end = (outcome: PipelineStepOutcome | "failed", result?: unknown) =>
    endPipelineStep({
      db,
      runId: at.runId,
      step: fanOut.step,
      status: outcome === "failed" ? "failed" : outcome.status,
      durationMs: performance.now() - started,
      result: outcome === "failed" ? result : outcome.result,
    });
  try {
    const settledShards = (
      await pipelineRunSteps({ db, runId: at.runId })
    ).filter(
      (r) => r.step.startsWith(`${fanOut.step}:`) && isStepSettled(r.status),
    );
    const fixed = await fanOut.prepare(at.earlier, settledShards);
    const shards = await at.waiter.run(
      Array.from({ length: fanOut.shards }, (_, i) => ({
        step: `${fanOut.step}:${i}/${fanOut.shards}`,
        position: at.position,
        shard: `${i}/${fanOut.shards}`,
      })),
      fixed,
    );
    return await end(await fanOut.join(shards, fixed));
  } catch (error) {
    await end("failed", failureJson(error)).catch(() => undefined);
    throw error;
  }
}

interface JobSpec {
  step: string;
  position: number;
  shard: string | null;
}

/** Enqueues jobs and waits until each has a settled record, failing as soon as one cannot get one. */
class JobWaiter {
  readonly #options: RunDistributedPipelineOptions;
  readonly #runId: string;

  constructor(options: RunDistributedPipelineOptions, runId: string) {
    this.#options = options;
    this.#runId = runId;
  }

  async run(
    specs: readonly JobSpec[],
    fixed: Record<string, unknown>,
  ): Promise<PipelineStepRecord[]> {
    const { db, queue, asOf } = this.#options;
    const records = () =>
      pipelineRunSteps({ db, runId: this.#runId }).then(
        (rs) => new Map(rs.map((r) => [r.step, r])),
      );
    const before = await records();
    const pending = specs.filter((s) => {
      const r = before.get(s.step);
      return s.shard === null || r === undefined || !isStepSettled(r.status);
    });
    for (const s of pending) {
      // A shard's stale 'failed' must not read as this round's outcome.
      if (s.shard !== null)
        await beginPipelineStep({
          db,
          runId: this.#runId,
          asOf,
          step: s.step,
          position: s.position,
        });
      const payload: PipelineJobPayload = {
        run_id: this.#runId,
        as_of: asOf,
        step: s.step,
        position: s.position,
        shard: s.shard,
        params: { ...this.#options.params, ...fixed },
      };
      await queue.ensure({
        task: PIPELINE_STEP_TASK,
        key: this.#key(s.step),
        payload,
        maxAttempts: MAX_ATTEMPTS,
      });
    }
    const pollMs = this.#options.pollMs ?? 250;
    for (;;) {
      // The jobs before the records: a job finishes only after its record is written, so a job
      // gone with its record still 'running' is lost, never merely a moment early.
      const jobs = await Promise.all(
        pending.map((s) => queue.job(this.#key(s.step))),
      );
      const now = await records();
      const failed = specs
        .map((s) => now.get(s.step))
        .find((r) => r?.status === "failed");
      if (failed !== undefined) throw stepFailure(failed);
      for (const [i, s] of pending.entries()) {
        const job = jobs[i];
        const r = now.get(s.step);
        if (r !== undefined && isStepSettled(r.status)) continue;
        if (job?.failedForGood)
          throw new LifecycleError(
            "QUEUE_JOB_FAILED",
            `pipeline step ${s.step} of ${asOf} was given up after ${job.attempts} attempts: ${job.lastError ?? "its workers died while running it"}`,
            {
              hint: "See the workers' logs (a worker killed by the system, out of memory?), then run the same pipeline run again: it resets the job.",
              details: { step: s.step, attempts: job.attempts },
            },
          );
        if (job === null)
          throw new LifecycleError(
            "QUEUE_JOB_FAILED",
            `the job of pipeline step ${s.step} of ${asOf} left the queue without recording how it ended`,
            {
              hint: "Something removed the job from graphile_worker.jobs; run the same pipeline run again to enqueue it anew.",
              details: { step: s.step },
            },
          );
      }
      if (
        specs.every((s) => isStepSettled(now.get(s.step)?.status ?? "running"))
      )
        return specs.map((s) => now.get(s.step)!);
      await sleep(pollMs);
    }
  }

  #key(step: string): string {
    return `${this.#runId}:${step}`;
  }
}

/** A step another process recorded as failed, raised here with its own code (and so its exit code). */
function stepFailure(record: PipelineStepRecord): StreamflowError {
  const r = (record.result ?? {}) as {
    error?: unknown;
    message?: unknown;
    hint?: unknown;
  };
  return new StreamflowError(
    typeof r.error === "string" ? r.error : "INTERNAL",
    `pipeline step ${record.step} failed on a worker: ${typeof r.message === "string" ? r.message : "no message recorded"}`,
    {
      ...(typeof r.hint === "string" ? { hint: r.hint } : {}),
      details: { step: record.step, result: record.result },
    },
  );
}

/** Builds the step a job names, from the run's parameters (and its shard, for a fanned-out step). */
export type PipelineStepFactory = (job: {
  asOf: CalendarDay;
  step: string;
  shard: string | null;
  params: Record<string, unknown>;
}) => PipelineStep;

/**
 * The worker's side: runs the step a job names and records it exactly as runPipeline does. A
 * step that fails is recorded failed and the job ends — the coordinator reports it, as one process
 * would; only a failure to record it (the database gone) makes the queue try the job again.
 */
export function pipelineJobHandler(options: {
  db: Database;
  stepFor: PipelineStepFactory;
  onJob?: (
    event:
      | { kind: "start"; payload: PipelineJobPayload; attempt: number }
      | { kind: "end"; record: PipelineStepRecord }
      | { kind: "failed"; payload: PipelineJobPayload; error: unknown },
  ) => void;
}): JobHandler {
  return async (raw, job) => {
    const payload = raw as PipelineJobPayload;
    const asOf = parseCalendarDay(payload.as_of, "as_of");
    const step = options.stepFor({
      asOf,
      step: payload.step,
      shard: payload.shard,
      params: payload.params,
    });
    const earlier = new Map(
      (await pipelineRunSteps({ db: options.db, runId: payload.run_id })).map(
        (r) => [r.step, r],
      ),
    );
    try {
      const record = await runPipelineStep({
        db: options.db,
        runId: payload.run_id,
        asOf,
        step,
        position: payload.position,
        earlier,
        onStart: () =>
          options.onJob?.({ kind: "start", payload, attempt: job.attempt }),
      });
      options.onJob?.({ kind: "end", record });
    } catch (error) {
      options.onJob?.({ kind: "failed", payload, error });
      const now = (
        await pipelineRunSteps({ db: options.db, runId: payload.run_id })
      ).find((r) => r.step === payload.step);
      if (now?.status !== "failed") throw error;
    }
  };
}
