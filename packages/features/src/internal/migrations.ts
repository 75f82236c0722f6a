import type { Database } from "./db.ts";
import { FeaturesError } from "../errors.ts";

/**
 * Schema history. A migration, once released, never changes: a new schema is a new entry.
 * Kept as literal SQL (not generated from schema.ts) for that reason; a test checks that the
 * migrated tables match the declarations in schema.ts.
 */
export const MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: string;
}[] = [
  {
    version: 1,
    name: "live tables, snapshots with labels, online store",
    sql: `
CREATE TABLE users (
  user_id TEXT PRIMARY KEY,
  signup_date DATE NOT NULL,
  user_gender TEXT NOT NULL,
  user_is_senior BOOLEAN NOT NULL,
  has_family BOOLEAN NOT NULL,
  has_dependents BOOLEAN NOT NULL
);
-- No foreign keys to users: ingestion checks that every user of a month's files is in its
-- users.csv before writing anything, and the FK triggers cost ~8 µs a row (65% of an upsert).
CREATE TABLE subscriptions (
  user_id TEXT PRIMARY KEY,
  months_active INTEGER NOT NULL,
  plan_stream_tv BOOLEAN,
  plan_stream_movies BOOLEAN,
  contract_type TEXT NOT NULL,
  paperless_billing BOOLEAN NOT NULL,
  monthly_fee DOUBLE PRECISION NOT NULL,
  total_paid DOUBLE PRECISION NOT NULL,
  net_service TEXT NOT NULL
);
CREATE TABLE usage_agg_30d (
  user_id TEXT PRIMARY KEY,
  watch_hours_30d DOUBLE PRECISION NOT NULL,
  avg_session_mins_7d DOUBLE PRECISION NOT NULL,
  unique_devices_30d INTEGER NOT NULL,
  skips_7d INTEGER NOT NULL,
  rebuffer_events_7d INTEGER NOT NULL
);
CREATE TABLE payments_agg_90d (
  user_id TEXT PRIMARY KEY,
  failed_payments_90d INTEGER NOT NULL
);
CREATE TABLE support_agg_90d (
  user_id TEXT PRIMARY KEY,
  support_tickets_90d INTEGER NOT NULL,
  ticket_avg_resolution_hrs_90d DOUBLE PRECISION NOT NULL
);
CREATE TABLE labels (
  user_id TEXT PRIMARY KEY,
  churn_label BOOLEAN NOT NULL
);

-- One row per ingested month: lets a re-ingest be recognised as a no-op or a conflict.
CREATE TABLE ingestions (
  as_of DATE PRIMARY KEY,
  content_sha256 TEXT NOT NULL,
  source TEXT NOT NULL,
  row_counts JSONB NOT NULL,
  ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Snapshots are insert-only; the primary key (user_id, as_of) is also the index the
-- point-in-time join probes backwards ("latest as_of <= cutoff").
CREATE TABLE subscriptions_profile_snapshots (
  user_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  months_active INTEGER NOT NULL,
  monthly_fee DOUBLE PRECISION NOT NULL,
  paperless_billing BOOLEAN NOT NULL,
  plan_stream_tv BOOLEAN,
  plan_stream_movies BOOLEAN,
  net_service TEXT NOT NULL,
  PRIMARY KEY (user_id, as_of)
);
CREATE TABLE usage_agg_30d_snapshots (
  user_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  watch_hours_30d DOUBLE PRECISION NOT NULL,
  avg_session_mins_7d DOUBLE PRECISION NOT NULL,
  unique_devices_30d INTEGER NOT NULL,
  skips_7d INTEGER NOT NULL,
  rebuffer_events_7d INTEGER NOT NULL,
  PRIMARY KEY (user_id, as_of)
);
CREATE TABLE payments_agg_90d_snapshots (
  user_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  failed_payments_90d INTEGER NOT NULL,
  PRIMARY KEY (user_id, as_of)
);
CREATE TABLE support_agg_90d_snapshots (
  user_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  support_tickets_90d INTEGER NOT NULL,
  ticket_avg_resolution_hrs_90d DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (user_id, as_of)
);
-- The lab's defect was here: labels lived only in the live table, so training used the labels of
-- whichever month had been ingested last.
CREATE TABLE labels_snapshots (
  user_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  churn_label BOOLEAN NOT NULL,
  PRIMARY KEY (user_id, as_of)
);
CREATE INDEX labels_snapshots_as_of ON labels_snapshots (as_of);

-- Online store: one wide row per user so one index lookup returns every feature. Each view keeps
-- the as_of of the snapshot its values come from; NULL means the view has no value for the user.
CREATE TABLE online_user_features (
  user_id TEXT PRIMARY KEY,
  months_active INTEGER,
  monthly_fee DOUBLE PRECISION,
  paperless_billing BOOLEAN,
  plan_stream_tv BOOLEAN,
  plan_stream_movies BOOLEAN,
  net_service TEXT,
  subs_profile_fv_as_of DATE,
  watch_hours_30d DOUBLE PRECISION,
  avg_session_mins_7d DOUBLE PRECISION,
  unique_devices_30d INTEGER,
  skips_7d INTEGER,
  rebuffer_events_7d INTEGER,
  usage_agg_30d_fv_as_of DATE,
  failed_payments_90d INTEGER,
  payments_agg_90d_fv_as_of DATE,
  support_tickets_90d INTEGER,
  ticket_avg_resolution_hrs_90d DOUBLE PRECISION,
  support_agg_90d_fv_as_of DATE,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE materializations (
  feature_view TEXT PRIMARY KEY,
  as_of DATE NOT NULL,
  materialized_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: "batch predictions",
    sql: `
-- Insert-only: a rerun of the same (as_of, model version) writes nothing, and a new version's
-- scores sit beside the old ones, so prediction drift and realised performance can be read later.
CREATE TABLE churn_predictions (
  user_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  model_name TEXT NOT NULL,
  model_version TEXT NOT NULL,
  p_churn DOUBLE PRECISION NOT NULL,
  label SMALLINT NOT NULL CHECK (label IN (0, 1)),
  threshold DOUBLE PRECISION NOT NULL,
  run_id TEXT,
  scored_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (user_id, as_of, model_name, model_version)
);
`,
  },
  {
    version: 3,
    name: "drift reports",
    sql: `
-- One row per drift run: the summary a service or a dashboard reads as "the latest report", and
-- the whole result (per-feature scores, target, prediction, performance) as the command printed it.
CREATE TABLE drift_reports (
  id BIGSERIAL PRIMARY KEY,
  reference DATE NOT NULL,
  current DATE NOT NULL,
  model_name TEXT,
  model_version TEXT,
  features_tested INTEGER NOT NULL CHECK (features_tested >= 0),
  drifted_features INTEGER NOT NULL CHECK (drifted_features >= 0),
  drift_share DOUBLE PRECISION NOT NULL,
  dataset_drift BOOLEAN NOT NULL,
  run_id TEXT,
  result JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 4,
    name: "pipeline runs",
    sql: `
-- One row per step of a monthly pipeline run: what pipeline run resumes from after a crash (the
-- first step of the month's latest run that is not done, noop or skipped) and what
-- pipeline status shows. A step is written 'running' before it starts and finished after.
CREATE TABLE pipeline_runs (
  run_id TEXT NOT NULL,
  as_of DATE NOT NULL,
  step TEXT NOT NULL,
  position INTEGER NOT NULL CHECK (position >= 0),
  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'noop', 'skipped', 'failed')),
  started_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  finished_at TIMESTAMPTZ,
  duration_ms INTEGER CHECK (duration_ms >= 0),
  result JSONB,
  PRIMARY KEY (run_id, step)
);
CREATE INDEX pipeline_runs_as_of ON pipeline_runs (as_of, started_at);
`,
  },
  {
    version: 5,
    name: "pipeline workers",
    sql: `
-- One row per running \`streamflow worker\` process, its heartbeat and the job-queue worker ids
-- it runs under. A process killed without warning leaves its jobs locked; the other workers find
-- its heartbeat stale, delete the row and unlock those jobs so that one of them retries them.
CREATE TABLE pipeline_workers (
  worker_id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  concurrency INTEGER NOT NULL CHECK (concurrency >= 1),
  queue_worker_ids TEXT[] NOT NULL DEFAULT '{}',
  started_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface MigrateResult {
  /** Versions applied by this call, oldest first; empty when the schema was current. */
  applied: number[];
  version: number;
}

/**
 * Brings the schema to the latest version. Idempotent, and safe when two processes start at once:
 * an advisory lock serialises them and the second finds nothing left to do.
 */
export async function migrate(db: Database): Promise<MigrateResult> {
  return db.transaction(async (tx) => {
    await tx.exec("SELECT pg_advisory_xact_lock(7409237401)");
    await tx.exec(`CREATE TABLE IF NOT EXISTS streamflow_schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>(
      "SELECT version FROM streamflow_schema_migrations ORDER BY version",
    );
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    if (newest > LATEST_SCHEMA_VERSION) {
      throw new FeaturesError(
        "DATABASE_SCHEMA_NEWER",
        `database ${db.location} has schema version ${newest}, this StreamFlow knows up to ${LATEST_SCHEMA_VERSION}`,
        { hint: "Upgrade StreamFlow, or point it at another database." },
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.execute(
        "INSERT INTO streamflow_schema_migrations (version, name) VALUES ($1, $2)",
        [m.version, m.name],
      );
      applied.push(m.version);
    }
    return { applied, version: LATEST_SCHEMA_VERSION };
  });
}
