import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A month as rows of raw CSV cells, by file; headers are the lab's. */
export type MonthFixture = Record<string, string[][]>;

export const LAB_HEADERS: Record<string, string[]> = {
  users: [
    "user_id",
    "signup_date",
    "user_gender",
    "user_is_senior",
    "has_family",
    "has_dependents",
  ],
  subscriptions: [
    "user_id",
    "months_active",
    "plan_stream_tv",
    "plan_stream_movies",
    "contract_type",
    "paperless_billing",
    "monthly_fee",
    "total_paid",
    "net_service",
  ],
  usage_agg_30d: [
    "user_id",
    "watch_hours_30d",
    "avg_session_mins_7d",
    "unique_devices_30d",
    "skips_7d",
    "rebuffer_events_7d",
  ],
  payments_agg_90d: ["user_id", "failed_payments_90d"],
  support_agg_90d: [
    "user_id",
    "support_tickets_90d",
    "ticket_avg_resolution_hrs_90d",
  ],
  labels: ["user_id", "churn_label"],
};

export interface FixtureUser {
  id: string;
  months?: number;
  fee?: number;
  net?: "DSL" | "Fiber optic" | "No";
  watch?: number;
  rebuffer?: number;
  failed?: number;
  tickets?: number;
  churn?: boolean;
}

/** Builds a small valid month in the lab's format from a few users. */
export function monthFixture(users: readonly FixtureUser[]): MonthFixture {
  return {
    users: users.map((u) => [
      u.id,
      "2022-01-15",
      "Female",
      "False",
      "True",
      "False",
    ]),
    subscriptions: users.map((u) => {
      const net = u.net ?? "DSL";
      const plan = net === "No" ? "" : "True";
      const fee = u.fee ?? 29.85;
      const months = u.months ?? 12;
      return [
        u.id,
        String(months),
        plan,
        net === "No" ? "" : "False",
        "Month-to-month",
        "True",
        fee.toFixed(2),
        String(Math.round(fee * months * 100) / 100),
        net,
      ];
    }),
    usage_agg_30d: users.map((u) => [
      u.id,
      String(u.watch ?? 24.483650766787413),
      "29.14104464084511",
      "2",
      "3",
      String(u.rebuffer ?? 1),
    ]),
    payments_agg_90d: users.map((u) => [u.id, String(u.failed ?? 0)]),
    support_agg_90d: users.map((u) => [u.id, String(u.tickets ?? 0), "16.0"]),
    labels: users.map((u) => [u.id, u.churn ? "True" : "False"]),
  };
}

/** Writes a fixture month to `dir` (LF line ends); files named in `raw` are written verbatim instead. */
export async function writeMonth(
  dir: string,
  month: MonthFixture,
  raw: Record<string, string> = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, header] of Object.entries(LAB_HEADERS)) {
    const text =
      raw[name] ??
      [header, ...(month[name] ?? [])].map((r) => r.join(",")).join("\n") +
        "\n";
    await writeFile(join(dir, `${name}.csv`), text);
  }
  return dir;
}
