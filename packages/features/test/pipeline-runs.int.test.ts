import { describe, expect, it } from "vitest";
import { TEST_ENGINES } from "@streamflow/test-utils";
import {
  beginPipelineStep,
  endPipelineStep,
  isStepSettled,
  latestPipelineRun,
  pipelineHistory,
  type Database,
} from "@streamflow/features";
import { day, withStore } from "./with-store.ts";

const STEPS = ["ingest", "materialize", "check_online"];

async function runSteps(
  db: Database,
  runId: string,
  asOf: string,
  outcomes: ("done" | "noop" | "failed" | "running")[],
) {
  for (const [position, status] of outcomes.entries()) {
    const step = STEPS[position]!;
    await beginPipelineStep({ db, runId, asOf: day(asOf), step, position });
    if (status !== "running")
      await endPipelineStep({
        db,
        runId,
        step,
        status,
        durationMs: 12.6,
        result: { step, ok: status !== "failed" },
      });
  }
}

describe.each(TEST_ENGINES)("pipeline runs on %s", (engine) => {
  it("has no run for a month never run", async () => {
    await withStore(engine, async (db) => {
      expect(await latestPipelineRun({ db, asOf: day("2024-01-31") })).toBe(
        null,
      );
      expect(await pipelineHistory({ db })).toEqual([]);
    });
  });

  it("records each step's status, duration and JSON, and finds the month's newest run", async () => {
    await withStore(engine, async (db) => {
      await runSteps(db, "run-a", "2024-01-31", ["done", "noop", "done"]);
      await runSteps(db, "run-b", "2024-02-29", ["done", "running"]);
      await runSteps(db, "run-c", "2024-02-29", ["done", "failed"]);
      const jan = (await latestPipelineRun({ db, asOf: day("2024-01-31") }))!;
      expect(jan.runId).toBe("run-a");
      expect(jan.steps.map((s) => [s.step, s.status, s.durationMs])).toEqual([
        ["ingest", "done", 13],
        ["materialize", "noop", 13],
        ["check_online", "done", 13],
      ]);
      expect(jan.steps[2]!.result).toEqual({ step: "check_online", ok: true });
      expect(jan.steps.every((s) => isStepSettled(s.status))).toBe(true);
      const feb = (await latestPipelineRun({ db, asOf: day("2024-02-29") }))!;
      expect(feb.runId).toBe("run-c");
      expect(feb.steps.map((s) => s.status)).toEqual(["done", "failed"]);
      expect(isStepSettled("failed")).toBe(false);
      expect(isStepSettled("running")).toBe(false);

      const history = await pipelineHistory({ db });
      expect(history.map((s) => `${s.runId}:${s.step}`)).toEqual([
        "run-a:ingest",
        "run-a:materialize",
        "run-a:check_online",
        "run-b:ingest",
        "run-b:materialize",
        "run-c:ingest",
        "run-c:materialize",
      ]);
      const onlyFeb = await pipelineHistory({ db, asOf: day("2024-02-29") });
      expect(new Set(onlyFeb.map((s) => s.runId))).toEqual(
        new Set(["run-b", "run-c"]),
      );
      const running = history.find(
        (s) => s.runId === "run-b" && s.step === "materialize",
      )!;
      expect(running).toMatchObject({
        status: "running",
        finishedAt: null,
        durationMs: null,
        result: null,
      });
    });
  });

  it("starts a failed or cut-off step over under the same run id, keeping one row per step", async () => {
    await withStore(engine, async (db) => {
      await runSteps(db, "run-a", "2024-01-31", ["done", "failed"]);
      await beginPipelineStep({
        db,
        runId: "run-a",
        asOf: day("2024-01-31"),
        step: "materialize",
        position: 1,
      });
      let run = (await latestPipelineRun({ db, asOf: day("2024-01-31") }))!;
      expect(run.steps[1]).toMatchObject({ status: "running", result: null });
      await endPipelineStep({
        db,
        runId: "run-a",
        step: "materialize",
        status: "done",
        durationMs: 5,
        result: { rows: 3 },
      });
      run = (await latestPipelineRun({ db, asOf: day("2024-01-31") }))!;
      expect(run.steps.map((s) => s.status)).toEqual(["done", "done"]);
      expect(run.steps[1]!.result).toEqual({ rows: 3 });
      expect(run.steps[1]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(
        run.steps[1]!.startedAt.getTime(),
      );
    });
  });
});
