import { StreamflowError } from "@streamflow/core";

/** Codes raised by `@streamflow/features`; the CLI maps each to an exit code. */
export const FEATURES_ERROR_CODES = {
  /** The database URL is not a postgres:// or postgresql:// URL, or one pg would misread (a '#', a bad port or escape). */
  DATABASE_URL_INVALID: "DATABASE_URL_INVALID",
  /** PostgreSQL cannot be reached, refused the login, or the database does not exist. Retryable. */
  DATABASE_UNAVAILABLE: "DATABASE_UNAVAILABLE",
  /** The database was migrated by a newer StreamFlow than this one. */
  DATABASE_SCHEMA_NEWER: "DATABASE_SCHEMA_NEWER",
  /** The month directory named does not exist (a wrong argument; a CSV missing inside it is INPUT_INVALID). */
  INPUT_NOT_FOUND: "INPUT_NOT_FOUND",
  /**
   * A month is bad: a CSV is missing or not a regular file, breaks a validation rule, or holds a
   * value the database refuses; `details.errors` lists file, line, column, value and rule.
   */
  INPUT_INVALID: "INPUT_INVALID",
  /** The month differs from the snapshot already stored at that as_of (use replace). */
  SNAPSHOT_CONFLICT: "SNAPSHOT_CONFLICT",
  /** No snapshot exists at or before the requested date. */
  NO_DATA_AS_OF: "NO_DATA_AS_OF",
  /**
   * An output cannot be written: a file path (unknown extension, missing directory), or a
   * predictions table (a name that is not a plain SQL identifier, a table of another shape).
   */
  OUTPUT_INVALID: "OUTPUT_INVALID",
  /** A feature repository file is not valid YAML, misses or mistypes a key, or names what it does not declare; details name file, key and line. */
  REPOSITORY_INVALID: "REPOSITORY_INVALID",
  /**
   * The feature repository in force would drop or retype what the store holds (a source, view,
   * column, or the key); `details.losses` names each. Refused unless allowed.
   */
  REPOSITORY_CHANGE_DESTRUCTIVE: "REPOSITORY_CHANGE_DESTRUCTIVE",
  /** A shard is not I/N with 0 <= I < N <= 1024. */
  SHARD_INVALID: "SHARD_INVALID",
} as const;
export type FeaturesErrorCode = keyof typeof FEATURES_ERROR_CODES;

/** Errors raised by `@streamflow/features`. */
export class FeaturesError extends StreamflowError<FeaturesErrorCode> {}
