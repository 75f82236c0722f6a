import type { FeatureRepository } from "./feature-repository.ts";
import { parseFeatureRepository } from "./parse-repository.ts";

/**
 * The lab's feature repository as a user would write it: the built-in default, and what
 * `streamflow init --example lab` writes. Parsed by the same code as any user's file, so the
 * default cannot say what a file could not.
 */
export const LAB_REPOSITORY_YAML = `# A StreamFlow feature repository: what the store holds and the model reads.
# This is the lab's (the built-in default); edit it to bring your own data, then check it with
#   streamflow features show
version: 1

# The entity every row is about, and the key column each source file starts with.
entity:
  name: user
  join_key: user_id
  max_key_length: 64 # longest key accepted at ingestion and by serve

# One file per source in each month directory (<name>.csv unless "file" says otherwise; .parquet
# files too), its columns after the key in the file's order. Types: text, integer, double,
# boolean, date. Rules checked before anything is written: nullable (default false: an empty
# field is refused), min / max (numbers), allowed (text), max_length (default 256 for text).
sources:
  - name: users
    entity_table: true # every other source's keys must be users listed here
    columns:
      - { name: signup_date, type: date }
      - { name: user_gender, type: text }
      - { name: user_is_senior, type: boolean }
      - { name: has_family, type: boolean }
      - { name: has_dependents, type: boolean }
  - name: subscriptions
    columns:
      - { name: months_active, type: integer, min: 0 }
      # Empty for users without a net service: a legitimate value, not a missing one.
      - { name: plan_stream_tv, type: boolean, nullable: true }
      - { name: plan_stream_movies, type: boolean, nullable: true }
      - { name: contract_type, type: text }
      - { name: paperless_billing, type: boolean }
      - { name: monthly_fee, type: double, min: 0 }
      - { name: total_paid, type: double, min: 0 }
      - { name: net_service, type: text }
  - name: usage_agg_30d
    columns:
      - { name: watch_hours_30d, type: double, min: 0 }
      - { name: avg_session_mins_7d, type: double, min: 0 }
      - { name: unique_devices_30d, type: integer, min: 0 }
      - { name: skips_7d, type: integer, min: 0 }
      - { name: rebuffer_events_7d, type: integer, min: 0 }
  - name: payments_agg_90d
    columns:
      - { name: failed_payments_90d, type: integer, min: 0 }
  - name: support_agg_90d
    columns:
      - { name: support_tickets_90d, type: integer, min: 0 }
      - { name: ticket_avg_resolution_hrs_90d, type: double, min: 0 }
  - name: labels
    columns:
      - { name: churn_label, type: boolean }

# What the model reads, view by view, in this order. Each month's values are kept as a snapshot
# (snapshot_table, default <source>_snapshots), so a training set is rebuilt as it was at any date.
# ttl_days: the oldest snapshot a point-in-time read may use (default: no limit).
feature_views:
  - name: subs_profile_fv
    source: subscriptions
    snapshot_table: subscriptions_profile_snapshots
    features: [months_active, monthly_fee, paperless_billing, plan_stream_tv, plan_stream_movies, net_service]
  - name: usage_agg_30d_fv
    source: usage_agg_30d
    features: [watch_hours_30d, avg_session_mins_7d, unique_devices_30d, skips_7d, rebuffer_events_7d]
  - name: payments_agg_90d_fv
    source: payments_agg_90d
    features: [failed_payments_90d]
  - name: support_agg_90d_fv
    source: support_agg_90d
    features: [support_tickets_90d, ticket_avg_resolution_hrs_90d]

# The boolean the model learns to predict, snapshotted like the features.
label:
  source: labels
  column: churn_label
`;

export const LAB_REPOSITORY: FeatureRepository = parseFeatureRepository(
  LAB_REPOSITORY_YAML,
  { file: "<built-in lab repository>" },
);
