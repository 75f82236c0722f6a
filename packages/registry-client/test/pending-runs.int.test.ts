import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createPendingRunStore,
  newAttemptId,
  type PendingRun,
} from "@streamflow/registry-client";

function entry(attemptId: string): PendingRun {
  // A long reason makes each write span several syscalls, so a torn write would show.
  return {
    server: "http://mlflow:5000",
    experimentId: "1",
    attemptId,
    runId: undefined,
    recordedAt: new Date().toISOString(),
    reason: "x".repeat(256 * 1024),
  };
}

describe("the pending-run journal", () => {
  it("never shows a half-written entry while writers and removers run at once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sf-pending-"));
    const writers = createPendingRunStore(dir);
    const ids = Array.from({ length: 40 }, () => newAttemptId());
    let reading = true;
    const torn: string[] = [];
    const reader = (async () => {
      while (reading) {
        for (const name of (await readdir(dir)).filter((n) =>
          n.startsWith("run-"),
        )) {
          const text = await readFile(join(dir, name), "utf8").catch(
            () => undefined,
          ); // removed meanwhile
          if (text === undefined) continue;
          try {
            JSON.parse(text);
          } catch {
            torn.push(name);
          }
        }
      }
    })();
    // Two stores on one folder stand for two processes: one records, the other ends and forgets.
    const removers = createPendingRunStore(dir);
    await Promise.all(
      ids.map(async (id, i) => {
        await writers.add(entry(id));
        if (i % 2 === 0) await removers.remove(id);
      }),
    );
    reading = false;
    await reader;
    expect(torn).toEqual([]);
    expect((await writers.list()).map((p) => p.attemptId).sort()).toEqual(
      ids.filter((_, i) => i % 2 === 1).sort(),
    );
    expect((await readdir(dir)).filter((n) => n.startsWith(".tmp-"))).toEqual(
      [],
    );
    await removers.remove(ids[0]!); // already gone: no error
  });

  it("is empty when its folder does not exist yet", async () => {
    expect(
      await createPendingRunStore(
        join(tmpdir(), `sf-none-${newAttemptId()}`),
      ).list(),
    ).toEqual([]);
  });
});
