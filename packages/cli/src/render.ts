import type {
  CheckOnlineResult,
  IngestMonthResult,
  MaterializeResult,
} from "@streamflow/features";

// JSON is snake_case, like the lab's files and MLflow's API; the libraries stay camelCase.

export function ingestJson(r: IngestMonthResult): object {
  return {
    as_of: r.asOf,
    month_dir: r.monthDir,
    noop: r.noop,
    replaced: r.replaced,
    content_sha256: r.contentSha256,
    rows: r.rows,
    snapshot_rows: r.snapshotRows,
    timings_ms: r.timingsMs,
    duration_ms: r.durationMs,
  };
}

const n = (x: number) => x.toLocaleString("en-US");

export function formatIngest(r: IngestMonthResult): string {
  if (r.noop)
    return `No change: the same content is already ingested as of ${r.asOf} (content ${r.contentSha256.slice(0, 12)}).`;
  const snapshotTotal = Object.values(r.snapshotRows).reduce(
    (a, b) => a + b,
    0,
  );
  return [
    `${r.replaced ? "Replaced" : "Ingested"} ${r.monthDir} as of ${r.asOf} in ${(r.durationMs / 1000).toFixed(1)} s`,
    `  rows: ${Object.entries(r.rows)
      .map(([t, c]) => `${t} ${n(c)}`)
      .join(" · ")}`,
    `  snapshot rows written: ${n(snapshotTotal)} (${Object.keys(r.snapshotRows).length} tables, labels included)`,
  ].join("\n");
}

export function materializeJson(r: MaterializeResult): object {
  return {
    as_of: r.asOf,
    views: r.views.map((v) => ({
      feature_view: v.featureView,
      written: v.written,
      kept_newer: v.keptNewer,
      materialized_as_of: v.materializedAsOf,
    })),
    duration_ms: r.durationMs,
  };
}

export function formatMaterialize(r: MaterializeResult): string {
  return [
    `Materialized features as of ${r.asOf} into the online store`,
    ...r.views.map(
      (v) =>
        `  ${v.featureView.padEnd(22)} ${n(v.written).padStart(10)} written` +
        (v.keptNewer > 0 ? `, ${n(v.keptNewer)} kept (newer online)` : "") +
        `  (store as of ${v.materializedAsOf})`,
    ),
  ].join("\n");
}

export function checkOnlineJson(r: CheckOnlineResult): object {
  return {
    ok: r.ok,
    users: r.users,
    min_coverage: r.minCoverage,
    views: r.views.map((v) => ({
      feature_view: v.featureView,
      materialized_as_of: v.materializedAsOf,
      coverage: v.coverage,
      present: v.statuses.PRESENT,
      null_value: v.statuses.NULL_VALUE,
      not_found: v.statuses.NOT_FOUND,
      ok: v.ok,
    })),
  };
}

export function formatCheckOnline(r: CheckOnlineResult): string {
  const header = `${"feature view".padEnd(22)} ${"as of".padEnd(10)} ${"coverage".padStart(9)} ${"PRESENT".padStart(10)} ${"NULL_VALUE".padStart(10)} ${"NOT_FOUND".padStart(10)}`;
  return [
    `Online store check over ${n(r.users)} users (min coverage ${(r.minCoverage * 100).toFixed(2)}%): ${r.ok ? "OK" : "FAILED"}`,
    header,
    ...r.views.map(
      (v) =>
        `${v.featureView.padEnd(22)} ${(v.materializedAsOf ?? "never").padEnd(10)} ${`${(v.coverage * 100).toFixed(2)}%`.padStart(9)} ${n(v.statuses.PRESENT).padStart(10)} ${n(v.statuses.NULL_VALUE).padStart(10)} ${n(v.statuses.NOT_FOUND).padStart(10)}${v.ok ? "" : "  ✗"}`,
    ),
    "NULL_VALUE counts stored NULLs (a nullable column's empty value): covered, not missing.",
  ].join("\n");
}
