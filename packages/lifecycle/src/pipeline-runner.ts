import { randomUUID } from "node:crypto";
import type { CalendarDay } from "@streamflow/core";
import {
  beginPipelineStep,
  endPipelineStep,
  isStepSettled,
  latestPipelineRun,
  type Database,
  type PipelineStepRecord,
} from "@streamflow/features";

export interface PipelineStepOutcome {
  status: "done" | "noop" | "skipped";
  /** The step's own JSON, as its command prints it. */
  result: unknown;
}

export interface PipelineStep {
  name: string;
  /**
   * Does the step's work. It must be idempotent — a crash between the work and the record
   * reruns it — and may read the recorded outcomes of the steps before it in this run, which
   * is how a resumed run still knows what an earlier step found.
   */
  run(
    earlier: ReadonlyMap<string, PipelineStepRecord>,
  ): Promise<PipelineStepOutcome>;
}

export interface PipelineRunResult {
  asOf: CalendarDay;
  runId: string;
  /** True when this call continued a run that a crash or a failure had left unfinished. */
  resumed: boolean;
  /** True when the month's newest run had already finished every step: nothing was run. */
  alreadyDone: boolean;
  steps: PipelineStepRecord[];
}

export interface RunPipelineOptions {
  db: Database;
  asOf: CalendarDay;
  steps: readonly PipelineStep[];
  /** Called as each step starts and ends, for progress lines. */
  onStep?: (
    event:
      | { kind: "start"; step: string; position: number }
      | { kind: "kept"; record: PipelineStepRecord }
      | { kind: "end"; record: PipelineStepRecord },
  ) => void;
  /** @default crypto.randomUUID */
  newRunId?: () => string;
}

/**
 * Runs a month's steps in order, recording each in `pipeline_runs` before and after it runs. The
 * month's newest run decides what happens: finished → nothing (and it says so); unfinished →
 * resumed under its run id at the first step not done, noop or skipped; none → a new run. A step
 * that throws is recorded failed with the error and the error is rethrown: the flow stops there.
 */
export async function runPipeline(
  options: RunPipelineOptions,
): Promise<PipelineRunResult> {
  const { db, asOf, steps } = options;
  return runRecordedFlow({
    db,
    asOf,
    stepNames: steps.map((s) => s.name),
    onStep: options.onStep,
    newRunId: options.newRunId,
    runStep: ({ runId, position, earlier }) =>
      runPipelineStep({
        db,
        runId,
        asOf,
        step: steps[position]!,
        position,
        earlier,
        onStart: () =>
          options.onStep?.({
            kind: "start",
            step: steps[position]!.name,
            position,
          }),
      }),
  });
}

/**
 * The resumption rule every runner of a month's flow shares: the month's newest run decides —
 * finished → nothing; unfinished → resumed under its run id, settled steps kept; none → a new
 * run. `runStep` does one step that is not settled (recording it) and returns its stored record.
 */
export async function runRecordedFlow(options: {
  db: Database;
  asOf: CalendarDay;
  stepNames: readonly string[];
  onStep?: RunPipelineOptions["onStep"];
  newRunId?: (() => string) | undefined;
  runStep(at: {
    runId: string;
    step: string;
    position: number;
    earlier: ReadonlyMap<string, PipelineStepRecord>;
  }): Promise<PipelineStepRecord>;
}): Promise<PipelineRunResult> {
  const { db, asOf, stepNames } = options;
  const latest = await latestPipelineRun({ db, asOf });
  const recorded = new Map(latest?.steps.map((s) => [s.step, s]) ?? []);
  const settled = (name: string) => {
    const r = recorded.get(name);
    return r !== undefined && isStepSettled(r.status) ? r : undefined;
  };
  if (latest !== null && stepNames.every((s) => settled(s) !== undefined))
    return {
      asOf,
      runId: latest.runId,
      resumed: false,
      alreadyDone: true,
      steps: stepNames.map((s) => recorded.get(s)!),
    };
  const resumed = latest !== null;
  const runId = latest?.runId ?? (options.newRunId ?? randomUUID)();
  const earlier = new Map<string, PipelineStepRecord>();
  const done: PipelineStepRecord[] = [];
  for (const [position, step] of stepNames.entries()) {
    const kept = settled(step);
    if (kept !== undefined) {
      options.onStep?.({ kind: "kept", record: kept });
      earlier.set(step, kept);
      done.push(kept);
      continue;
    }
    const record = await options.runStep({ runId, step, position, earlier });
    options.onStep?.({ kind: "end", record });
    earlier.set(step, record);
    done.push(record);
  }
  return { asOf, runId, resumed, alreadyDone: false, steps: done };
}

export interface RunPipelineStepOptions {
  db: Database;
  runId: string;
  asOf: CalendarDay;
  step: PipelineStep;
  position: number;
  earlier: ReadonlyMap<string, PipelineStepRecord>;
  /** Called once the step is recorded 'running', before its work starts. */
  onStart?: () => void;
}

/**
 * Runs one step and records it: 'running' before, its outcome after, or 'failed' with the error
 * (then rethrown). What runPipeline does for each step, and what a worker does for a step it
 * took from the queue.
 */
export async function runPipelineStep(
  options: RunPipelineStepOptions,
): Promise<PipelineStepRecord> {
  const { db, runId, asOf, step, position } = options;
  await beginPipelineStep({ db, runId, asOf, step: step.name, position });
  options.onStart?.();
  const started = performance.now();
  let outcome: PipelineStepOutcome;
  try {
    outcome = await step.run(options.earlier);
  } catch (error) {
    await endPipelineStep({
      db,
      runId,
      step: step.name,
      status: "failed",
      durationMs: performance.now() - started,
      result: failureJson(error),
    }).catch(() => undefined);
    throw error;
  }
  // The stored row, not a copy rebuilt here: a resumed run reads exactly this back.
  return endPipelineStep({
    db,
    runId,
    step: step.name,
    status: outcome.status,
    durationMs: performance.now() - started,
    result: outcome.result,
  });
}

/** How a failed step is recorded: the error's stable code and its message. */
export function failureJson(error: unknown): Record<string, unknown> {
  const e = error as { code?: unknown; message?: unknown; hint?: unknown };
  return {
    error: typeof e.code === "string" ? e.code : "INTERNAL",
    message: typeof e.message === "string" ? e.message : String(error),
    ...(typeof e.hint === "string" ? { hint: e.hint } : {}),
  };
}
