/**
 * The lab's data model, declared once. Ingestion, the point-in-time builder, the online store and
 * the synthetic generator all derive their SQL and validation from these tables, so a column is
 * added or renamed in exactly one place.
 */

export type ColumnType = "text" | "date" | "boolean" | "integer" | "double";

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** Only these columns may hold an empty CSV field (stored as NULL). */
  readonly nullable: boolean;
  /** Counts, amounts and durations: a negative value is refused at ingestion. */
  readonly nonNegative: boolean;
  /** Longest CSV field accepted, in characters (UTF-16 code units); a longer one is refused at ingestion. */
  readonly maxLength: number;
}

/**
 * The longest user id, the same limit `serve` accepts: the lab's ids are 10 characters; 64 leaves
 * room for other id schemes, and none for a value that breaks the primary-key index.
 */
export const MAX_USER_ID_LENGTH = 64;

/**
 * Longest field of each type. The lab's text values are category names (`Month-to-month`,
 * `Fiber optic`); 256 leaves room for others. No valid number, date or boolean needs more than 64
 * characters (a double's shortest spelling takes at most 24).
 */
export const MAX_FIELD_LENGTH: Readonly<Record<ColumnType, number>> =
  Object.freeze({
    text: 256,
    date: 64,
    boolean: 64,
    integer: 64,
    double: 64,
  });

function col(
  name: string,
  type: ColumnType,
  flags: { nullable?: boolean; nonNegative?: boolean } = {},
): ColumnSpec {
  return Object.freeze({
    name,
    type,
    nullable: flags.nullable ?? false,
    nonNegative: flags.nonNegative ?? false,
    maxLength: MAX_FIELD_LENGTH[type],
  });
}

const COUNT = { nonNegative: true } as const;

/** One CSV of a month directory and the live table it is upserted into (same name). */
export interface SourceFileSpec {
  readonly name: SourceFileName;
  /** Columns after `user_id`, in the CSV's order. */
  readonly columns: readonly ColumnSpec[];
}

export type SourceFileName =
  | "users"
  | "subscriptions"
  | "usage_agg_30d"
  | "payments_agg_90d"
  | "support_agg_90d"
  | "labels";

/** The six CSVs of a month, in ingestion order (`users` first: the others reference it). */
export const SOURCE_FILES: readonly SourceFileSpec[] = Object.freeze([
  {
    name: "users",
    columns: [
      col("signup_date", "date"),
      col("user_gender", "text"),
      col("user_is_senior", "boolean"),
      col("has_family", "boolean"),
      col("has_dependents", "boolean"),
    ],
  },
  {
    name: "subscriptions",
    columns: [
      col("months_active", "integer", COUNT),
      // NULL for users without a net service: a legitimate value, not a missing one.
      col("plan_stream_tv", "boolean", { nullable: true }),
      col("plan_stream_movies", "boolean", { nullable: true }),
      col("contract_type", "text"),
      col("paperless_billing", "boolean"),
      col("monthly_fee", "double", COUNT),
      col("total_paid", "double", COUNT),
      col("net_service", "text"),
    ],
  },
  {
    name: "usage_agg_30d",
    columns: [
      col("watch_hours_30d", "double", COUNT),
      col("avg_session_mins_7d", "double", COUNT),
      col("unique_devices_30d", "integer", COUNT),
      col("skips_7d", "integer", COUNT),
      col("rebuffer_events_7d", "integer", COUNT),
    ],
  },
  {
    name: "payments_agg_90d",
    columns: [col("failed_payments_90d", "integer", COUNT)],
  },
  {
    name: "support_agg_90d",
    columns: [
      col("support_tickets_90d", "integer", COUNT),
      col("ticket_avg_resolution_hrs_90d", "double", COUNT),
    ],
  },
  { name: "labels", columns: [col("churn_label", "boolean")] },
] satisfies SourceFileSpec[]);

/** The entity every feature view is keyed on. */
/** The entity, its key, and the source file (and live table) that lists every one of them. */
export const USER_ENTITY = Object.freeze({
  name: "user",
  joinKey: "user_id",
  sourceFile: "users" as const satisfies SourceFileName,
});

export interface FeatureViewSpec {
  readonly name: string;
  /** Live table the view's snapshots are copied from. */
  readonly sourceFile: SourceFileName;
  /** Snapshot table, one row per (user_id, as_of). */
  readonly snapshotTable: string;
  readonly features: readonly ColumnSpec[];
  /**
   * Oldest snapshot the point-in-time join may use, in days before the cutoff. Undefined means no
   * lower bound, as in the lab (Feast ttl None).
   */
  readonly ttlDays: number | undefined;
}

function pick(file: SourceFileName, names: readonly string[]): ColumnSpec[] {
  const spec = SOURCE_FILES.find((f) => f.name === file);
  if (!spec) throw new Error(`unknown source file ${file}`);
  return names.map((n) => {
    const c = spec.columns.find((x) => x.name === n);
    if (!c) throw new Error(`unknown column ${file}.${n}`);
    return c;
  });
}

/** The lab's four feature views; their 14 features are the model's whole input. */
export const FEATURE_VIEWS: readonly FeatureViewSpec[] = Object.freeze([
  {
    name: "subs_profile_fv",
    sourceFile: "subscriptions",
    snapshotTable: "subscriptions_profile_snapshots",
    features: pick("subscriptions", [
      "months_active",
      "monthly_fee",
      "paperless_billing",
      "plan_stream_tv",
      "plan_stream_movies",
      "net_service",
    ]),
    ttlDays: undefined,
  },
  {
    name: "usage_agg_30d_fv",
    sourceFile: "usage_agg_30d",
    snapshotTable: "usage_agg_30d_snapshots",
    features: pick("usage_agg_30d", [
      "watch_hours_30d",
      "avg_session_mins_7d",
      "unique_devices_30d",
      "skips_7d",
      "rebuffer_events_7d",
    ]),
    ttlDays: undefined,
  },
  {
    name: "payments_agg_90d_fv",
    sourceFile: "payments_agg_90d",
    snapshotTable: "payments_agg_90d_snapshots",
    features: pick("payments_agg_90d", ["failed_payments_90d"]),
    ttlDays: undefined,
  },
  {
    name: "support_agg_90d_fv",
    sourceFile: "support_agg_90d",
    snapshotTable: "support_agg_90d_snapshots",
    features: pick("support_agg_90d", [
      "support_tickets_90d",
      "ticket_avg_resolution_hrs_90d",
    ]),
    ttlDays: undefined,
  },
] satisfies FeatureViewSpec[]);

/** Labels are snapshotted like features, so a training set's labels depend on dates, not on ingestion order. */
export const LABEL_SNAPSHOT = Object.freeze({
  sourceFile: "labels" as const,
  snapshotTable: "labels_snapshots",
  column: pick("labels", ["churn_label"])[0]!,
});

/** All 14 model features in the lab's order. */
export const FEATURE_COLUMNS: readonly ColumnSpec[] = Object.freeze(
  FEATURE_VIEWS.flatMap((v) => v.features),
);

export function sourceFileSpec(name: SourceFileName): SourceFileSpec {
  const spec = SOURCE_FILES.find((f) => f.name === name);
  if (!spec) throw new Error(`unknown source file ${name}`);
  return spec;
}
