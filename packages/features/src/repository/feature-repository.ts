import type { ColumnType } from "./column-types.ts";

/**
 * A feature repository: what a store holds and a model reads, declared by its user (the
 * `streamflow.features.yaml` file) instead of written into the code. The lab's is the built-in
 * default (LAB_REPOSITORY). Every field here is resolved: defaults applied, names checked.
 */
export interface FeatureRepository {
  readonly version: 1;
  readonly entity: RepositoryEntity;
  /** In ingestion order: the entity's own table first, when there is one. */
  readonly sources: readonly RepositorySource[];
  readonly featureViews: readonly RepositoryFeatureView[];
  readonly label: RepositoryLabel;
  readonly model: RepositoryModelDefaults;
}

export interface RepositoryEntity {
  readonly name: string;
  /** Column every source is keyed on (first in each file). */
  readonly joinKey: string;
  /** Longest key accepted at ingestion and by `serve`, in characters. */
  readonly maxKeyLength: number;
}

export type SourceFormat = "csv" | "parquet";

export interface RepositorySource {
  /** The live table's name; the file is `file` in each month directory. */
  readonly name: string;
  readonly file: string;
  readonly format: SourceFormat;
  /** The entity's own table: every other source's keys must exist in it. */
  readonly entityTable: boolean;
  /** Columns after the join key, in the file's order. */
  readonly columns: readonly RepositoryColumn[];
}

export interface RepositoryColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** Only these may hold an empty field (stored as NULL). */
  readonly nullable: boolean;
  /** Bounds of a number (inclusive); undefined for none. */
  readonly min: number | undefined;
  readonly max: number | undefined;
  /** The only values a text column may hold; undefined for any. */
  readonly allowed: readonly string[] | undefined;
  /** Longest field accepted, in characters (UTF-16 code units). */
  readonly maxLength: number;
}

export interface RepositoryFeatureView {
  readonly name: string;
  readonly source: string;
  /** One row per (key, as_of) of the view's features. */
  readonly snapshotTable: string;
  /** Names of the source's columns the view serves, in the model's order. */
  readonly features: readonly string[];
  /** Oldest snapshot the point-in-time join may use, in days; undefined for no bound (Feast ttl None). */
  readonly ttlDays: number | undefined;
}

export interface RepositoryLabel {
  readonly source: string;
  /** A boolean column of that source. */
  readonly column: string;
  readonly snapshotTable: string;
}

export interface RepositoryModelDefaults {
  /** Features the model one-hot encodes although their type would not say so; undefined: by type. */
  readonly categorical: readonly string[] | undefined;
}
