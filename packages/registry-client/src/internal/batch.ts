/** One metric point as the REST API takes it; non-finite values are protobuf-JSON strings. */
export interface WireMetric {
  key: string;
  value: number | "NaN" | "Infinity" | "-Infinity";
  timestamp: number;
  step: number;
}

export interface WireKeyValue {
  key: string;
  value: string;
}

export interface BatchChunk {
  metrics: WireMetric[];
  params: WireKeyValue[];
  tags: WireKeyValue[];
}

/** Server-side limits of `runs/log-batch` (`mlflow/utils/validation.py`). */
export const LOG_BATCH_LIMITS = {
  maxMetrics: 1000,
  maxParams: 100,
  maxTags: 100,
  maxEntities: 1000,
  // The server checks the raw body against 1e6 bytes; stay under it with room for the envelope.
  maxBytes: 1_000_000 - 4_096,
} as const;
export type LogBatchLimits = { [K in keyof typeof LOG_BATCH_LIMITS]: number };

export function toWireValue(value: number): WireMetric["value"] {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value;
}

export function fromWireValue(value: unknown): number {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return Number(value);
}

type Item =
  | { kind: "params" | "tags"; entry: WireKeyValue }
  | { kind: "metrics"; entry: WireMetric };

/**
 * Packs params, tags and metrics into as few requests as the limits allow. Params and tags go
 * first, like the Python client, so a failure part-way leaves the run's identity logged.
 */
export function chunkLogBatch(
  batch: BatchChunk,
  limits: LogBatchLimits = LOG_BATCH_LIMITS,
): BatchChunk[] {
  const items: Item[] = [
    ...batch.params.map((entry): Item => ({ kind: "params", entry })),
    ...batch.tags.map((entry): Item => ({ kind: "tags", entry })),
    ...batch.metrics.map((entry): Item => ({ kind: "metrics", entry })),
  ];
  const caps = {
    params: limits.maxParams,
    tags: limits.maxTags,
    metrics: limits.maxMetrics,
  };
  const chunks: BatchChunk[] = [];
  let current: BatchChunk = { metrics: [], params: [], tags: [] };
  let entities = 0;
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.entry)) + 1;
    const full =
      current[item.kind].length >= caps[item.kind] ||
      entities >= limits.maxEntities ||
      (entities > 0 && bytes + size > limits.maxBytes);
    if (full) {
      chunks.push(current);
      current = { metrics: [], params: [], tags: [] };
      entities = 0;
      bytes = 0;
    }
    if (item.kind === "metrics") current.metrics.push(item.entry);
    else current[item.kind].push(item.entry);
    entities += 1;
    bytes += size;
  }
  if (entities > 0) chunks.push(current);
  return chunks;
}
