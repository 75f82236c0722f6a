/**
 * Seeded churn-like rows for the ONNX tests: every column kind of the lab (text, integer, double,
 * boolean, nullable boolean), NULLs in every column that can hold one, and prediction rows with
 * categories training never saw, NaN and values exactly equal to the forest's thresholds.
 */
import type { FeatureRow, FeatureSchema, TypedColumn } from "@streamflow/core";

export const ONNX_TEST_COLUMNS: readonly TypedColumn[] = [
  { name: "net_service", type: "text" },
  { name: "contract_type", type: "text" },
  { name: "months_active", type: "integer" },
  { name: "monthly_fee", type: "double" },
  { name: "watch_hours_30d", type: "double" },
  { name: "paperless_billing", type: "boolean" },
  { name: "plan_stream_tv", type: "boolean" },
];

export const ONNX_TEST_SCHEMA: FeatureSchema = {
  categorical_cols: ["net_service", "contract_type"],
  numeric_cols: ["months_active", "monthly_fee", "watch_hours_30d"],
  boolean_cols: ["paperless_billing", "plan_stream_tv"],
};

/** Park–Miller style LCG: fixed sequence for a seed, so every run trains the same forest. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function pick<T>(rnd: () => number, values: readonly T[]): T {
  return values[Math.floor(rnd() * values.length)] as T;
}

export interface OnnxTestRowsOptions {
  n: number;
  seed: number;
  /** Prediction rows: unknown categories, NULL where training had none, NaN. */
  unseen?: boolean;
}

export function onnxTestRows({
  n,
  seed,
  unseen = false,
}: OnnxTestRowsOptions): {
  rows: FeatureRow[];
  labels: Uint8Array;
} {
  const rnd = seededRandom(seed);
  const rows: FeatureRow[] = [];
  const labels = new Uint8Array(n);
  const nets = unseen
    ? ["DSL", "Fiber optic", "No", null, "Satellite"]
    : ["DSL", "Fiber optic", "No", null];
  const contracts = unseen
    ? ["Month-to-month", "One year", "Two year", "Weekly", null]
    : ["Month-to-month", "One year", "Two year"];
  for (let i = 0; i < n; i++) {
    const net = pick(rnd, nets);
    const contract = pick(rnd, contracts);
    const months = Math.floor(rnd() * 72);
    const fee =
      rnd() < 0.05 ? null : Math.round((18 + rnd() * 100) * 100) / 100;
    const watch =
      rnd() < 0.05 ? (unseen && rnd() < 0.5 ? Number.NaN : null) : rnd() * 60;
    const paperless = unseen && rnd() < 0.1 ? null : rnd() < 0.6;
    const tv = net === "No" || net === null ? null : rnd() < 0.5;
    rows.push({
      net_service: net,
      contract_type: contract,
      months_active: months,
      monthly_fee: fee,
      watch_hours_30d: watch,
      paperless_billing: paperless,
      plan_stream_tv: tv,
    });
    const score =
      (contract === "Month-to-month" ? 0.35 : 0) +
      (net === "Fiber optic" ? 0.15 : 0) +
      (fee ?? 60) / 300 -
      months / 120 +
      (tv === true ? 0.1 : 0) +
      rnd() * 0.5;
    labels[i] = score > 0.55 ? 1 : 0;
  }
  return { rows, labels };
}
