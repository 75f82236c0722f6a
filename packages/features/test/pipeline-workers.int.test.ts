import { describe, expect, it } from "vitest";
import { TEST_ENGINES } from "@streamflow/test-utils";
import {
  recordPipelineWorkerHeartbeat,
  registerPipelineWorker,
  sweepDeadPipelineWorkers,
  unregisterPipelineWorker,
  type Database,
} from "@streamflow/features";
import { withStore } from "./with-store.ts";

async function worker(db: Database, workerId: string, queueIds: string[]) {
  await registerPipelineWorker({
    db,
    workerId,
    host: "h",
    pid: 1,
    concurrency: 1,
  });
  await recordPipelineWorkerHeartbeat({
    db,
    workerId,
    queueWorkerIds: queueIds,
  });
}

describe.each(TEST_ENGINES)("the pipeline worker register on %s", (engine) => {
  it("sweeps the workers silent too long, handing over the dead and the ids the living claim", async () => {
    await withStore(engine, async (db) => {
      await worker(db, "old", ["pool-old"]);
      await worker(db, "new", ["pool-new"]);
      await db.query(
        `UPDATE pipeline_workers SET heartbeat_at = now() - interval '1 minute'
         WHERE worker_id = 'old'`,
      );
      const handed: unknown[] = [];
      const dead = await sweepDeadPipelineWorkers({
        db,
        staleAfterMs: 30_000,
        release: async (_tx, workers) => {
          handed.push(workers);
        },
      });
      expect(dead.map((d) => [d.workerId, d.queueWorkerIds])).toEqual([
        ["old", ["pool-old"]],
      ]);
      expect(handed).toEqual([{ dead, liveQueueWorkerIds: ["pool-new"] }]);
      // Swept once: a second sweep finds nobody dead, and the swept worker's heartbeat says so.
      const again = await sweepDeadPipelineWorkers({
        db,
        staleAfterMs: 30_000,
        release: async () => undefined,
      });
      expect(again).toEqual([]);
      expect(
        await recordPipelineWorkerHeartbeat({
          db,
          workerId: "old",
          queueWorkerIds: ["pool-old"],
        }),
      ).toBe(false);
      expect(
        await recordPipelineWorkerHeartbeat({
          db,
          workerId: "new",
          queueWorkerIds: ["pool-new"],
        }),
      ).toBe(true);
    });
  });

  it("keeps the dead rows when the release fails, for the next sweep", async () => {
    await withStore(engine, async (db) => {
      await worker(db, "old", ["pool-old"]);
      await db.query(
        `UPDATE pipeline_workers SET heartbeat_at = now() - interval '1 minute'`,
      );
      await expect(
        sweepDeadPipelineWorkers({
          db,
          staleAfterMs: 30_000,
          release: async () => {
            throw new Error("queue gone");
          },
        }),
      ).rejects.toThrow("queue gone");
      const left = await db.query<{ worker_id: string }>(
        "SELECT worker_id FROM pipeline_workers",
      );
      expect(left).toEqual([{ worker_id: "old" }]);
      await unregisterPipelineWorker({ db, workerId: "old" });
      expect(await db.query("SELECT * FROM pipeline_workers")).toEqual([]);
    });
  });
});
