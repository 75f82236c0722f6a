import { describe, expect, it } from "vitest";
import {
  LOG_BATCH_LIMITS,
  chunkLogBatch,
  fromWireValue,
  toWireValue,
  type BatchChunk,
  type WireMetric,
} from "./batch.ts";

function kv(prefix: string, n: number): { key: string; value: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${i}`,
    value: `v${i}`,
  }));
}
function metrics(n: number): WireMetric[] {
  return Array.from({ length: n }, (_, i) => ({
    key: "loss",
    value: i,
    timestamp: 1_700_000_000_000 + i,
    step: i,
  }));
}
function withinLimits(chunk: BatchChunk): boolean {
  const entities =
    chunk.metrics.length + chunk.params.length + chunk.tags.length;
  const bytes = Buffer.byteLength(
    JSON.stringify({ run_id: "0123456789abcdef0123456789abcdef", ...chunk }),
  );
  return (
    chunk.metrics.length <= LOG_BATCH_LIMITS.maxMetrics &&
    chunk.params.length <= LOG_BATCH_LIMITS.maxParams &&
    chunk.tags.length <= LOG_BATCH_LIMITS.maxTags &&
    entities <= LOG_BATCH_LIMITS.maxEntities &&
    bytes < 1_000_000
  );
}

describe("chunkLogBatch", () => {
  it("keeps a small batch in one request", () => {
    const batch = {
      params: kv("p", 8),
      tags: kv("t", 4),
      metrics: metrics(10),
    };
    expect(chunkLogBatch(batch)).toEqual([batch]);
  });

  it("splits by count, params and tags first, losing and reordering nothing", () => {
    const batch = {
      params: kv("p", 250),
      tags: kv("t", 120),
      metrics: metrics(2300),
    };
    const chunks = chunkLogBatch(batch);
    expect(chunks.every(withinLimits)).toBe(true);
    expect(chunks.flatMap((c) => c.params)).toEqual(batch.params);
    expect(chunks.flatMap((c) => c.tags)).toEqual(batch.tags);
    expect(chunks.flatMap((c) => c.metrics)).toEqual(batch.metrics);
    expect(chunks[0]!.params).toHaveLength(100);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
  });

  it("splits by size when values are long", () => {
    const params = Array.from({ length: 100 }, (_, i) => ({
      key: `p${i}`,
      value: "x".repeat(6000),
    }));
    const tags = Array.from({ length: 100 }, (_, i) => ({
      key: `t${i}`,
      value: "y".repeat(8000),
    }));
    const chunks = chunkLogBatch({ params, tags, metrics: [] });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every(withinLimits)).toBe(true);
    expect(chunks.flatMap((c) => c.tags)).toEqual(tags);
  });

  it("returns no request for an empty batch", () => {
    expect(chunkLogBatch({ params: [], tags: [], metrics: [] })).toEqual([]);
  });
});

describe("metric values on the wire", () => {
  it("sends non-finite values as protobuf-JSON strings and reads them back", () => {
    expect([NaN, Infinity, -Infinity, 0.5].map(toWireValue)).toEqual([
      "NaN",
      "Infinity",
      "-Infinity",
      0.5,
    ]);
    expect(["NaN", "Infinity", "-Infinity", 0.5].map(fromWireValue)).toEqual([
      NaN,
      Infinity,
      -Infinity,
      0.5,
    ]);
  });
});
