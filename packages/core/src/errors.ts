/**
 * Codes raised by `@streamflow/core`. Closed on purpose: the CLI maps every code to an exit code,
 * so adding one fails typecheck until it has a mapping.
 */
export const CORE_ERROR_CODES = {
  /** An option passed to a library function is out of its domain (e.g. a negative tree count). */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  /** Training or evaluation data cannot be used (empty, one class only, wrong columns). */
  DATA_INVALID: "DATA_INVALID",
  /** A model file is corrupt, of another format, or of a format version we do not know. */
  MODEL_FORMAT_INVALID: "MODEL_FORMAT_INVALID",
  /** A trained model too large for the model file's JSON (over V8's longest string). */
  MODEL_TOO_LARGE: "MODEL_TOO_LARGE",
} as const;
export type CoreErrorCode = keyof typeof CORE_ERROR_CODES;

export interface StreamflowErrorOptions {
  /** What the user can do about it; rendered under the message. */
  hint?: string;
  cause?: unknown;
  /** Structured facts for `--json` output and tests (file, line, value…). */
  details?: Record<string, unknown>;
}

/**
 * Base of every error the StreamFlow libraries throw on purpose. `code` is stable across versions
 * and is what callers (the CLI, the server) branch on; the message is for people.
 */
export class StreamflowError<TCode extends string = string> extends Error {
  readonly code: TCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: TCode,
    message: string,
    options: StreamflowErrorOptions = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

/** Errors raised by `@streamflow/core` itself. */
export class CoreError extends StreamflowError<CoreErrorCode> {}

/** True for any StreamFlow error, whichever package threw it. */
export function isStreamflowError(value: unknown): value is StreamflowError {
  return value instanceof StreamflowError;
}
