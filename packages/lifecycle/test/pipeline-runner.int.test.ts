import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCalendarDay, StreamflowError } from "@streamflow/core";
import {
  beginPipelineStep,
  endPipelineStep,
  latestPipelineRun,
  openFeatureStore,
  type Database,
  type PipelineStepRecord,
} from "@streamflow/features";
import { runPipeline, type PipelineStep } from "@streamflow/lifecycle";

const asOf = parseCalendarDay("2024-02-29");

class CheckFailed extends StreamflowError<"CHECK_FAILED"> {}

/** Three steps that count their calls; `fail` makes the named step throw once. */
function flow(fail?: string) {
  const calls: string[] = [];
  const seen: Record<string, string[]> = {};
  let failing = fail;
  const step = (name: string, status: "done" | "noop" | "skipped") =>
    ({
      name,
      async run(earlier: ReadonlyMap<string, PipelineStepRecord>) {
        calls.push(name);
        seen[name] = [...earlier.keys()];
        if (failing === name) {
          failing = undefined;
          throw new CheckFailed("CHECK_FAILED", `${name} found a problem`);
        }
        return { status, result: { step: name, earlier: earlier.size } };
      },
    }) satisfies PipelineStep;
  return {
    calls,
    seen,
    steps: [
      step("ingest", "done"),
      step("check", "noop"),
      step("score", "skipped"),
    ],
  };
}

describe("runPipeline", () => {
  let db: Database;
  beforeEach(async () => {
    db = await openFeatureStore({});
  });
  afterEach(async () => {
    await db.close();
  });

  it("runs every step once, records it, and does nothing for a month already done", async () => {
    const f = flow();
    const first = await runPipeline({
      db,
      asOf,
      steps: f.steps,
      newRunId: () => "run-1",
    });
    expect(first).toMatchObject({
      runId: "run-1",
      resumed: false,
      alreadyDone: false,
    });
    expect(first.steps.map((s) => [s.step, s.status])).toEqual([
      ["ingest", "done"],
      ["check", "noop"],
      ["score", "skipped"],
    ]);
    expect(f.calls).toEqual(["ingest", "check", "score"]);
    expect(f.seen["score"]).toEqual(["ingest", "check"]);
    const stored = (await latestPipelineRun({ db, asOf }))!;
    expect(stored.steps.map((s) => s.result)).toEqual(
      first.steps.map((s) => s.result),
    );

    const again = flow();
    const second = await runPipeline({ db, asOf, steps: again.steps });
    expect(second).toMatchObject({
      runId: "run-1",
      resumed: false,
      alreadyDone: true,
    });
    expect(again.calls).toEqual([]);
  });

  it("records a failed step and rethrows; the next call resumes there under the same run id", async () => {
    const f = flow("check");
    await expect(
      runPipeline({ db, asOf, steps: f.steps, newRunId: () => "run-1" }),
    ).rejects.toThrow("check found a problem");
    expect(f.calls).toEqual(["ingest", "check"]);
    const failed = (await latestPipelineRun({ db, asOf }))!;
    expect(failed.steps.map((s) => [s.step, s.status])).toEqual([
      ["ingest", "done"],
      ["check", "failed"],
    ]);
    expect(failed.steps[1]!.result).toEqual({
      error: "CHECK_FAILED",
      message: "check found a problem",
    });

    const resumed = await runPipeline({
      db,
      asOf,
      steps: f.steps,
      newRunId: () => "run-2",
    });
    expect(resumed).toMatchObject({ runId: "run-1", resumed: true });
    expect(f.calls).toEqual(["ingest", "check", "check", "score"]);
    // The resumed step still sees the recorded outcome of the step before it.
    expect(f.seen["check"]).toEqual(["ingest"]);
    expect(resumed.steps.map((s) => s.status)).toEqual([
      "done",
      "noop",
      "skipped",
    ]);
  });

  it("reruns a step a killed process left running, and only that one onwards", async () => {
    // What a kill -9 inside the second step leaves behind.
    await beginPipelineStep({
      db,
      runId: "run-k",
      asOf,
      step: "ingest",
      position: 0,
    });
    await endPipelineStep({
      db,
      runId: "run-k",
      step: "ingest",
      status: "done",
      durationMs: 1,
      result: { step: "ingest", earlier: 0 },
    });
    await beginPipelineStep({
      db,
      runId: "run-k",
      asOf,
      step: "check",
      position: 1,
    });
    const f = flow();
    const r = await runPipeline({ db, asOf, steps: f.steps });
    expect(r).toMatchObject({ runId: "run-k", resumed: true });
    expect(f.calls).toEqual(["check", "score"]);
    expect(
      (await latestPipelineRun({ db, asOf }))!.steps.map((s) => s.status),
    ).toEqual(["done", "noop", "skipped"]);
  });
});
