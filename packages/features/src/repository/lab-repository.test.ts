import { describe, expect, it } from "vitest";
import {
  FEATURE_COLUMNS,
  FEATURE_VIEWS,
  LABEL_SNAPSHOT,
  MAX_USER_ID_LENGTH,
  SOURCE_FILES,
  USER_ENTITY,
} from "../schema.ts";
import { LAB_REPOSITORY, LAB_REPOSITORY_YAML } from "./lab-repository.ts";
import { parseFeatureRepository } from "./parse-repository.ts";
import {
  renderFeatureRepository,
  repositoryHash,
} from "./render-repository.ts";

// The store's tables as they were declared in code before the lab's repository became a file:
// [column, type, nullable, non-negative]. Every store, dataset fingerprint and model depends on
// these, so the derivation must give them back exactly.
const N = true;
const SOURCES_BEFORE: [string, [string, string, boolean, boolean][]][] = [
  [
    "users",
    [
      ["signup_date", "date", false, false],
      ["user_gender", "text", false, false],
      ["user_is_senior", "boolean", false, false],
      ["has_family", "boolean", false, false],
      ["has_dependents", "boolean", false, false],
    ],
  ],
  [
    "subscriptions",
    [
      ["months_active", "integer", false, N],
      ["plan_stream_tv", "boolean", N, false],
      ["plan_stream_movies", "boolean", N, false],
      ["contract_type", "text", false, false],
      ["paperless_billing", "boolean", false, false],
      ["monthly_fee", "double", false, N],
      ["total_paid", "double", false, N],
      ["net_service", "text", false, false],
    ],
  ],
  [
    "usage_agg_30d",
    [
      ["watch_hours_30d", "double", false, N],
      ["avg_session_mins_7d", "double", false, N],
      ["unique_devices_30d", "integer", false, N],
      ["skips_7d", "integer", false, N],
      ["rebuffer_events_7d", "integer", false, N],
    ],
  ],
  ["payments_agg_90d", [["failed_payments_90d", "integer", false, N]]],
  [
    "support_agg_90d",
    [
      ["support_tickets_90d", "integer", false, N],
      ["ticket_avg_resolution_hrs_90d", "double", false, N],
    ],
  ],
  ["labels", [["churn_label", "boolean", false, false]]],
];
const MAX = { text: 256, date: 64, boolean: 64, integer: 64, double: 64 };

describe("the lab's feature repository", () => {
  it("gives back the store's tables exactly as they were declared in code", () => {
    expect(
      SOURCE_FILES.map((s) => [
        s.name,
        s.columns.map((c) => [c.name, c.type, c.nullable, c.min === 0]),
      ]),
    ).toEqual(SOURCES_BEFORE);
    for (const s of SOURCE_FILES)
      for (const c of s.columns) expect(c.maxLength).toBe(MAX[c.type]);
    expect(USER_ENTITY).toEqual({
      name: "user",
      joinKey: "user_id",
      sourceFile: "users",
    });
    expect(MAX_USER_ID_LENGTH).toBe(64);
    expect(
      FEATURE_VIEWS.map((v) => [
        v.name,
        v.source,
        v.snapshotTable,
        v.features.map((f) => f.name),
        v.ttlDays,
      ]),
    ).toEqual([
      [
        "subs_profile_fv",
        "subscriptions",
        "subscriptions_profile_snapshots",
        [
          "months_active",
          "monthly_fee",
          "paperless_billing",
          "plan_stream_tv",
          "plan_stream_movies",
          "net_service",
        ],
        undefined,
      ],
      [
        "usage_agg_30d_fv",
        "usage_agg_30d",
        "usage_agg_30d_snapshots",
        [
          "watch_hours_30d",
          "avg_session_mins_7d",
          "unique_devices_30d",
          "skips_7d",
          "rebuffer_events_7d",
        ],
        undefined,
      ],
      [
        "payments_agg_90d_fv",
        "payments_agg_90d",
        "payments_agg_90d_snapshots",
        ["failed_payments_90d"],
        undefined,
      ],
      [
        "support_agg_90d_fv",
        "support_agg_90d",
        "support_agg_90d_snapshots",
        ["support_tickets_90d", "ticket_avg_resolution_hrs_90d"],
        undefined,
      ],
    ]);
    expect(FEATURE_COLUMNS).toHaveLength(14);
    expect(LABEL_SNAPSHOT).toMatchObject({
      source: "labels",
      snapshotTable: "labels_snapshots",
      column: { name: "churn_label", type: "boolean", nullable: false },
    });
  });

  it("round-trips through the resolved form `features show` prints, with the same hash", () => {
    const shown = renderFeatureRepository(LAB_REPOSITORY);
    const again = parseFeatureRepository(shown, { file: "shown.yaml" });
    expect(again).toEqual(LAB_REPOSITORY);
    expect(repositoryHash(again)).toBe(repositoryHash(LAB_REPOSITORY));
    expect(repositoryHash(LAB_REPOSITORY)).toMatch(/^[0-9a-f]{64}$/);
    // The commented file and the resolved one declare the same thing.
    expect(
      repositoryHash(
        parseFeatureRepository(LAB_REPOSITORY_YAML, { file: "lab.yaml" }),
      ),
    ).toBe(repositoryHash(again));
  });
});
