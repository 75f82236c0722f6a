/**
 * The lab's data model as the rest of the store reads it today, derived from the lab's feature
 * repository (repository/lab-repository.ts), the one place it is declared. Ingestion, the
 * point-in-time builder, the online store and the synthetic generator derive their SQL and
 * validation from these tables; F9 threads a user's repository through in their place.
 */
import {
  MAX_FIELD_LENGTH,
  type ColumnType,
} from "./repository/column-types.ts";
import type { RepositoryColumn } from "./repository/feature-repository.ts";
import { LAB_REPOSITORY } from "./repository/lab-repository.ts";

export { MAX_FIELD_LENGTH, type ColumnType };

/** A column as the store reads it: the repository's own declaration (name, type, rules, max length). */
export type ColumnSpec = RepositoryColumn;

/**
 * The longest user id, the same limit `serve` accepts: the lab's ids are 10 characters; 64 leaves
 * room for other id schemes, and none for a value that breaks the primary-key index.
 */
export const MAX_USER_ID_LENGTH = LAB_REPOSITORY.entity.maxKeyLength;

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
export const SOURCE_FILES: readonly SourceFileSpec[] = Object.freeze(
  LAB_REPOSITORY.sources.map((s) => ({
    name: s.name as SourceFileName,
    columns: s.columns,
  })),
);

/** The entity, its key, and the source file (and live table) that lists every one of them. */
export const USER_ENTITY = Object.freeze({
  name: LAB_REPOSITORY.entity.name,
  joinKey: LAB_REPOSITORY.entity.joinKey,
  sourceFile: LAB_REPOSITORY.sources.find((s) => s.entityTable)!
    .name as "users" satisfies SourceFileName,
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
export const FEATURE_VIEWS: readonly FeatureViewSpec[] = Object.freeze(
  LAB_REPOSITORY.featureViews.map((v) => ({
    name: v.name,
    sourceFile: v.source as SourceFileName,
    snapshotTable: v.snapshotTable,
    features: pick(v.source as SourceFileName, v.features),
    ttlDays: v.ttlDays,
  })),
);

/** Labels are snapshotted like features, so a training set's labels depend on dates, not on ingestion order. */
export const LABEL_SNAPSHOT = Object.freeze({
  sourceFile: LAB_REPOSITORY.label.source as "labels" satisfies SourceFileName,
  snapshotTable: LAB_REPOSITORY.label.snapshotTable,
  column: pick(LAB_REPOSITORY.label.source as SourceFileName, [
    LAB_REPOSITORY.label.column,
  ])[0]!,
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
