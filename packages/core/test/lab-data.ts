import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { FeatureRow, FeatureSchema } from "../src/index.ts";

/** The lab's 14 model features (lab notes §5), typed as the feature views type them. */
export const LAB_FEATURE_SCHEMA: FeatureSchema = {
  categorical_cols: ["net_service"],
  numeric_cols: [
    "months_active",
    "monthly_fee",
    "watch_hours_30d",
    "avg_session_mins_7d",
    "unique_devices_30d",
    "skips_7d",
    "rebuffer_events_7d",
    "failed_payments_90d",
    "support_tickets_90d",
    "ticket_avg_resolution_hrs_90d",
  ],
  boolean_cols: ["paperless_billing", "plan_stream_tv", "plan_stream_movies"],
};

const FILES = [
  "subscriptions",
  "usage_agg_30d",
  "payments_agg_90d",
  "support_agg_90d",
  "labels",
] as const;

export interface LabMonth {
  userIds: string[];
  rows: FeatureRow[];
  /** churn_label as 0/1. */
  labels: Uint8Array;
}

export function hasLabMonth(dir: string, month: string): boolean {
  return FILES.every((f) => existsSync(path.join(dir, month, `${f}.csv`)));
}

function parseCell(text: string): string | number | boolean | null {
  if (text === "") return null;
  if (text === "True") return true;
  if (text === "False") return false;
  const n = Number(text);
  return Number.isNaN(n) ? text : n;
}

/**
 * Reads one month's CSVs straight from disk and joins them on user_id (every file has the same
 * user order, but the join does not rely on it). Features and labels as in the lab recipe.
 */
export function readLabMonth(dir: string, month: string): LabMonth {
  const byUser = new Map<
    string,
    Record<string, string | number | boolean | null>
  >();
  const order: string[] = [];
  for (const file of FILES) {
    const lines = readFileSync(path.join(dir, month, `${file}.csv`), "utf8")
      .split("\n")
      .filter((l) => l !== "");
    const header = (lines[0] as string).split(",");
    for (const line of lines.slice(1)) {
      const cells = line.split(",");
      const id = cells[0] as string;
      let rec = byUser.get(id);
      if (rec === undefined) {
        if (file !== FILES[0])
          throw new Error(
            `${file}.csv has user ${id} missing from ${FILES[0]}.csv`,
          );
        rec = {};
        byUser.set(id, rec);
        order.push(id);
      }
      header.forEach((h, i) => {
        if (i > 0) rec[h] = parseCell(cells[i] ?? "");
      });
    }
  }
  const names = [
    ...LAB_FEATURE_SCHEMA.categorical_cols,
    ...LAB_FEATURE_SCHEMA.numeric_cols,
    ...LAB_FEATURE_SCHEMA.boolean_cols,
  ];
  const rows: FeatureRow[] = [];
  const labels = new Uint8Array(order.length);
  order.forEach((id, i) => {
    const rec = byUser.get(id) as Record<
      string,
      string | number | boolean | null
    >;
    const row: Record<string, string | number | boolean | null> = {};
    for (const n of names) {
      if (!(n in rec)) throw new Error(`user ${id} has no ${n}`);
      row[n] = rec[n] ?? null;
    }
    rows.push(row);
    labels[i] = rec["churn_label"] === true ? 1 : 0;
  });
  return { userIds: order, rows, labels };
}
