import { StreamflowError } from "@streamflow/core";

/**
 * Codes raised by `@streamflow/serving`. Closed on purpose: the CLI maps every code to an exit code,
 * and the server maps the ones a request can meet to HTTP statuses.
 */
export const SERVING_ERROR_CODES = {
  /** The downloaded model file does not hash to the sha256 its run recorded, or the run recorded none. */
  MODEL_INTEGRITY: "MODEL_INTEGRITY",
  /** The model needs a feature the online store does not have, or has with another type. */
  MODEL_SCHEMA_MISMATCH: "MODEL_SCHEMA_MISMATCH",
  /** The server cannot listen on the host and port asked for (in use, not permitted, no such address). */
  LISTEN_FAILED: "LISTEN_FAILED",
} as const;
export type ServingErrorCode = keyof typeof SERVING_ERROR_CODES;

export class ServingError extends StreamflowError<ServingErrorCode> {}
