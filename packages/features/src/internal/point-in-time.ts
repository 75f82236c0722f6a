import { CoreError, type CalendarDay } from "@streamflow/core";
import { FeaturesError } from "../errors.ts";
import type { FeatureViewSpec, StoreLayout } from "../layout.ts";
import type { SqlExecutor } from "./db.ts";

/** Per-view ttl overrides in days, by view name; a view left out keeps its declared `ttlDays`. */
export type TtlOverrides = Readonly<Record<string, number | undefined>>;

/** One entry per feature view of the layout, in its order: the ttl in whole days, or undefined for none. */
export type ResolvedTtl = readonly (number | undefined)[];

/** Checks the overrides (known views, whole days >= 0) and applies them over the declarations. */
export function resolveTtl(
  layout: StoreLayout,
  overrides: TtlOverrides | undefined,
): ResolvedTtl {
  for (const [view, days] of Object.entries(overrides ?? {})) {
    if (
      !layout.views.some((v) => v.name === view) ||
      (days !== undefined && !(Number.isInteger(days) && days >= 0))
    ) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `ttlDays needs known views and whole days >= 0, got ${view}=${String(days)}`,
      );
    }
  }
  return layout.views.map((v) =>
    overrides !== undefined && Object.hasOwn(overrides, v.name)
      ? overrides[v.name]
      : v.ttlDays,
  );
}

/**
 * `asOf` goes into the SQL as a literal, not a bind parameter: a cursor's query cannot take bind
 * parameters on every driver. A CalendarDay is YYYY-MM-DD by construction, so it is safe to inline.
 */
function dateLiteral(asOf: CalendarDay): string {
  return `'${asOf}'::date`;
}

/** The rows of a view's snapshot table a cutoff may use: as_of <= cutoff, and within the ttl. */
export function usableSnapshots(
  alias: string,
  asOf: CalendarDay,
  days: number | undefined,
): string {
  const ttl =
    days === undefined
      ? ""
      : ` AND ${alias}.as_of >= ${dateLiteral(asOf)} - ${days}`;
  return `${alias}.as_of <= ${dateLiteral(asOf)}${ttl}`;
}

export interface PointInTimeQuery {
  layout: StoreLayout;
  /** Feature cutoff. */
  asOf: CalendarDay;
  ttl: ResolvedTtl;
  /** A query yielding one row per entity to join: its key column plus the `carry` columns. */
  users: string;
  /** Columns of `users` passed through after the features (e.g. the label). */
  carry?: readonly string[];
}

/**
 * The point-in-time join: for every row of `users`, per view the latest snapshot <= asOf (and
 * within the view's ttl), NULLs when there is none. Each view is one index probe per user on
 * (key, as_of), so the cost does not grow with the history's length. Ordering uses the C
 * collation so PGlite and any server order (and fingerprint) rows alike. Output columns: the
 * key, the layout's feature columns in order, then the carried columns.
 */
export function pointInTimeSql(query: PointInTimeQuery): string {
  const { views, entity } = query.layout;
  const key = entity.joinKey;
  const selects = views.flatMap((v, i) =>
    v.features.map((f) => `v${i}.${f.name}`),
  );
  const carried = (query.carry ?? []).map((c) => `, l.${c}`).join("");
  const laterals = views.map(
    (v, i) => `LEFT JOIN LATERAL (
      SELECT ${v.features.map((f) => f.name).join(", ")} FROM ${v.snapshotTable} s
      WHERE s.${key} = l.${key} AND ${usableSnapshots("s", query.asOf, query.ttl[i])}
      ORDER BY s.as_of DESC LIMIT 1) v${i} ON true`,
  );
  return `SELECT l.${key}, ${selects.join(", ")}${carried}
    FROM (${query.users}) l
    ${laterals.join("\n    ")}
    ORDER BY l.${key} COLLATE "C"`;
}

/**
 * Every entity key the store holds, as a table expression with the key column: the entity's own
 * table when the repository declares one (it lists every key any source names), else the union
 * of the sources' live tables.
 */
export function entityKeysSql(layout: StoreLayout): string {
  const key = layout.entity.joinKey;
  return layout.entity.source !== undefined
    ? layout.entity.source.name
    : `(${layout.sources.map((s) => `SELECT ${key} FROM ${s.name}`).join(" UNION ")})`;
}

/** Where to look when a cutoff finds nothing: the ingested dates, or how to ingest a first month. */
export async function ingestedDatesHint(
  db: SqlExecutor,
): Promise<{ hint: string; available: string[] }> {
  const rows = await db.query<{ as_of: string }>(
    "SELECT as_of::text AS as_of FROM ingestions ORDER BY as_of",
  );
  const available = rows.map((r) => r.as_of);
  const hint =
    available.length === 0
      ? "Nothing has been ingested yet: run `streamflow ingest --month-dir DIR --as-of YYYY-MM-DD` first."
      : `Ingested as_of dates: ${available.join(", ")}. Pick a date on or after the first one.`;
  return { hint, available };
}

/** True when the view has at least one snapshot the cutoff may use (ttl ignored: coverage is about dates). */
export async function viewHasDataAsOf(
  db: SqlExecutor,
  view: FeatureViewSpec,
  asOf: CalendarDay,
): Promise<boolean> {
  const rows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${view.snapshotTable} s WHERE ${usableSnapshots("s", asOf, undefined)} LIMIT 1) x`,
  );
  return (rows[0]?.n ?? 0) > 0;
}

/** Raised when a cutoff precedes every snapshot of what it needs. */
export async function noDataAsOf(
  db: SqlExecutor,
  what: string,
  details: Record<string, unknown>,
): Promise<FeaturesError> {
  const { hint, available } = await ingestedDatesHint(db);
  return new FeaturesError("NO_DATA_AS_OF", what, {
    hint,
    details: { ...details, available },
  });
}
