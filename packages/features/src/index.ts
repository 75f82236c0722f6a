export { FEATURE_COLUMNS, FEATURE_VIEWS, LABEL_SNAPSHOT, SOURCE_FILES, USER_ENTITY } from "./schema.ts";
export type { ColumnSpec, ColumnType, FeatureViewSpec, SourceFileName, SourceFileSpec } from "./schema.ts";
