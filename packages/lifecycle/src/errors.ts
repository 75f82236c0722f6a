import { StreamflowError } from "@streamflow/core";

/**
 * Codes raised by `@streamflow/lifecycle`. Closed on purpose: the CLI maps every code to an exit
 * code, and the server maps the ones a request can meet to HTTP statuses.
 */
export const LIFECYCLE_ERROR_CODES = {
  /** The downloaded model file does not hash to the sha256 its run recorded, or the run recorded none. */
  MODEL_INTEGRITY: "MODEL_INTEGRITY",
  /** The model needs a feature the store does not have, or has with another type. */
  MODEL_SCHEMA_MISMATCH: "MODEL_SCHEMA_MISMATCH",
  /** A promotion that names neither a stage nor an alias. */
  PROMOTION_TARGET_MISSING: "PROMOTION_TARGET_MISSING",
  /** A drift setting names an unknown column, or a method that cannot test that column's kind. */
  DRIFT_OPTION_INVALID: "DRIFT_OPTION_INVALID",
  /** The job queue in the store's PostgreSQL cannot be reached or installed. Retryable. */
  QUEUE_UNAVAILABLE: "QUEUE_UNAVAILABLE",
  /** A distributed step's job was given up (its workers kept dying) or vanished without a record. */
  QUEUE_JOB_FAILED: "QUEUE_JOB_FAILED",
} as const;
export type LifecycleErrorCode = keyof typeof LIFECYCLE_ERROR_CODES;

export class LifecycleError extends StreamflowError<LifecycleErrorCode> {}
