import { StreamflowError, type StreamflowErrorOptions } from "@streamflow/core";

/**
 * Codes raised by `@streamflow/registry-client`, for the MLflow client and the local registry alike.
 * Closed on purpose: the CLI maps every code to an exit code.
 */
export const REGISTRY_ERROR_CODES = {
  /** The server cannot be reached, timed out, or kept answering 408/429/5xx until the retries ran out. Retryable. */
  REGISTRY_UNAVAILABLE: "REGISTRY_UNAVAILABLE",
  /** The server refused the credentials (401) or the permission (403). */
  REGISTRY_AUTH: "REGISTRY_AUTH",
  /** The server answered something that is not the MLflow REST API (HTML, non-JSON, unknown endpoint). */
  REGISTRY_PROTOCOL: "REGISTRY_PROTOCOL",
  /** An experiment, run, registered model, version, alias or artifact does not exist. */
  REGISTRY_NOT_FOUND: "REGISTRY_NOT_FOUND",
  /** The resource already exists (MLflow's RESOURCE_ALREADY_EXISTS). */
  REGISTRY_CONFLICT: "REGISTRY_CONFLICT",
  /** The server (or the local registry, by the same rules) rejected a value: a bad alias, a changed param, a bad stage. */
  REGISTRY_INVALID_REQUEST: "REGISTRY_INVALID_REQUEST",
  /** A tracking URI, `models:/` or `runs:/` URI that cannot be parsed. */
  REGISTRY_URI_INVALID: "REGISTRY_URI_INVALID",
  /** Artifacts live where this client cannot go (e.g. `s3://`): the server must proxy them (`--serve-artifacts`). */
  REGISTRY_ARTIFACTS_UNSUPPORTED: "REGISTRY_ARTIFACTS_UNSUPPORTED",
  /** The local registry's folder cannot be read or written, or holds a file it cannot parse. */
  REGISTRY_STORAGE: "REGISTRY_STORAGE",
  /** Another process held the local registry's lock for longer than the wait allows. Retryable. */
  REGISTRY_LOCK_TIMEOUT: "REGISTRY_LOCK_TIMEOUT",
} as const;
export type RegistryErrorCode = keyof typeof REGISTRY_ERROR_CODES;

export interface RegistryErrorOptions extends StreamflowErrorOptions {
  /** HTTP status of the last response, when there was one. */
  httpStatus?: number;
  /** MLflow's `error_code` from the response body (`RESOURCE_DOES_NOT_EXIST`…), when the server sent one. */
  mlflowErrorCode?: string;
}

/** Errors raised by `@streamflow/registry-client`. Messages and causes never carry credentials. */
export class RegistryError extends StreamflowError<RegistryErrorCode> {
  readonly httpStatus: number | undefined;
  readonly mlflowErrorCode: string | undefined;

  constructor(
    code: RegistryErrorCode,
    message: string,
    options: RegistryErrorOptions = {},
  ) {
    super(code, message, options);
    this.httpStatus = options.httpStatus;
    this.mlflowErrorCode = options.mlflowErrorCode;
  }
}

/** True when `value` is a RegistryError, optionally of one code. */
export function isRegistryError(
  value: unknown,
  code?: RegistryErrorCode,
): value is RegistryError {
  return (
    value instanceof RegistryError &&
    (code === undefined || value.code === code)
  );
}
