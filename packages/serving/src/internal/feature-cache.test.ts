import { describe, expect, it } from "vitest";
import type { OnlineFeatures } from "@streamflow/features";
import { FeatureCache } from "./feature-cache.ts";

const features = (userId: string): OnlineFeatures => ({
  userId,
  found: true,
  values: {},
  statuses: {},
  asOf: {},
});

describe("FeatureCache", () => {
  it("answers within the ttl and forgets after it", () => {
    let now = 1_000;
    const cache = new FeatureCache({
      ttlMs: 500,
      maxEntries: 10,
      now: () => now,
    });
    cache.set(features("a"));
    now += 499;
    expect(cache.get("a")?.features.userId).toBe("a");
    now += 1;
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("drops the oldest write once full", () => {
    const cache = new FeatureCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set(features("a"));
    cache.set(features("b"));
    cache.set(features("a"));
    cache.set(features("c"));
    expect([
      cache.get("a") !== undefined,
      cache.get("b") !== undefined,
      cache.get("c") !== undefined,
    ]).toEqual([true, false, true]);
  });

  it("stores nothing with a ttl of 0, yet still hands back an entry for the request", () => {
    const cache = new FeatureCache({ ttlMs: 0, maxEntries: 10 });
    expect(cache.set(features("a")).features.userId).toBe("a");
    expect(cache.get("a")).toBeUndefined();
    expect(cache.enabled).toBe(false);
  });
});
