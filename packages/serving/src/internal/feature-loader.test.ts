import { describe, expect, it } from "vitest";
import type { OnlineFeatures } from "@streamflow/features";
import { FeatureLoader } from "./feature-loader.ts";

const features = (userId: string): OnlineFeatures => ({
  userId,
  found: userId !== "ghost",
  values: { x: userId.length },
  statuses: {},
  asOf: {},
});

function recorder(options: { fail?: boolean; delayMs?: number } = {}) {
  const calls: string[][] = [];
  let running = 0;
  let maxRunning = 0;
  const load = async (ids: readonly string[]) => {
    calls.push([...ids]);
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, options.delayMs ?? 1));
    running--;
    if (options.fail) throw new Error("database down");
    return ids.map(features);
  };
  return { calls, load, maxRunning: () => maxRunning };
}

describe("FeatureLoader", () => {
  it("answers lookups made in the same turn with one query, duplicates read once", async () => {
    const r = recorder();
    const loader = new FeatureLoader({
      load: r.load,
      maxInFlight: 4,
      maxBatch: 1000,
    });
    const answers = await Promise.all(
      ["a", "b", "a", "ghost"].map((id) => loader.get(id)),
    );
    expect(r.calls).toEqual([["a", "b", "ghost"]]);
    expect(answers.map((f) => [f.userId, f.found])).toEqual([
      ["a", true],
      ["b", true],
      ["a", true],
      ["ghost", false],
    ]);
  });

  it("queries a lone lookup at once, and again for a later one", async () => {
    const r = recorder();
    const loader = new FeatureLoader({
      load: r.load,
      maxInFlight: 4,
      maxBatch: 1000,
    });
    expect((await loader.get("a")).userId).toBe("a");
    expect((await loader.get("b")).userId).toBe("b");
    expect(r.calls).toEqual([["a"], ["b"]]);
  });

  it("keeps to maxInFlight queries and maxBatch ids per query, gathering the rest for the next", async () => {
    const r = recorder({ delayMs: 5 });
    const loader = new FeatureLoader({
      load: r.load,
      maxInFlight: 1,
      maxBatch: 3,
    });
    const first = loader.get("a");
    await new Promise((resolve) => setImmediate(resolve));
    const rest = ["b", "c", "d", "e", "f"].map((id) => loader.get(id));
    await Promise.all([first, ...rest]);
    expect(r.maxRunning()).toBe(1);
    expect(r.calls).toEqual([["a"], ["b", "c", "d"], ["e", "f"]]);
  });

  it("fails every lookup of a failed query, and recovers on the next", async () => {
    const failing = recorder({ fail: true });
    const loader = new FeatureLoader({
      load: failing.load,
      maxInFlight: 2,
      maxBatch: 1000,
    });
    const results = await Promise.allSettled([
      loader.get("a"),
      loader.get("b"),
    ]);
    expect(results.map((x) => x.status)).toEqual(["rejected", "rejected"]);
    expect(failing.calls).toEqual([["a", "b"]]);
  });
});
