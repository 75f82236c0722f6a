import { StreamflowError } from "@streamflow/core";

/**
 * Codes raised by `@streamflow/serving`. Closed on purpose: the CLI maps every code to an exit code,
 * and the server maps the ones a request can meet to HTTP statuses.
 */
export const SERVING_ERROR_CODES = {
  /** The server cannot listen on the host and port asked for (in use, not permitted, no such address). */
  LISTEN_FAILED: "LISTEN_FAILED",
} as const;
export type ServingErrorCode = keyof typeof SERVING_ERROR_CODES;

export class ServingError extends StreamflowError<ServingErrorCode> {}
