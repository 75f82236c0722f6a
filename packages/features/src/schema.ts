/**
 * The lab's repository as constants, for the code that is about the lab itself: its synthetic
 * generator and the tests that hold the lab to its historical figures. Everything else reads a
 * store's layout (`db.layout`), whatever repository it holds.
 */
import {
  MAX_FIELD_LENGTH,
  type ColumnType,
} from "./repository/column-types.ts";
import { LAB_REPOSITORY } from "./repository/lab-repository.ts";
import {
  storeLayout,
  type ColumnSpec,
  type FeatureViewSpec,
} from "./layout.ts";

export {
  MAX_FIELD_LENGTH,
  type ColumnType,
  type ColumnSpec,
  type FeatureViewSpec,
};

/** The lab's store layout: what a store opened without a repository holds. */
export const LAB_LAYOUT = storeLayout(LAB_REPOSITORY);

/** The longest lab user id, the same limit `serve` accepts. */
export const MAX_USER_ID_LENGTH = LAB_LAYOUT.entity.maxKeyLength;

/** One CSV of a lab month directory and the live table it is upserted into (same name). */
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

/** The lab's six CSVs, in ingestion order (`users` first: the others reference it). */
export const SOURCE_FILES: readonly SourceFileSpec[] = Object.freeze(
  LAB_LAYOUT.sources.map((s) => ({
    name: s.name as SourceFileName,
    columns: s.columns,
  })),
);

/** The lab's entity, its key, and the source file (and live table) that lists every one of them. */
export const USER_ENTITY = Object.freeze({
  name: LAB_LAYOUT.entity.name,
  joinKey: LAB_LAYOUT.entity.joinKey,
  sourceFile: LAB_LAYOUT.entity.source!
    .name as "users" satisfies SourceFileName,
});

/** The lab's four feature views; their 14 features are the model's whole input. */
export const FEATURE_VIEWS: readonly FeatureViewSpec[] = LAB_LAYOUT.views;

/** The lab's label snapshot. */
export const LABEL_SNAPSHOT = LAB_LAYOUT.label;

/** All 14 lab model features in the lab's order. */
export const FEATURE_COLUMNS: readonly ColumnSpec[] = LAB_LAYOUT.featureColumns;

export function sourceFileSpec(name: SourceFileName): SourceFileSpec {
  const spec = SOURCE_FILES.find((f) => f.name === name);
  if (!spec) throw new Error(`unknown source file ${name}`);
  return spec;
}
