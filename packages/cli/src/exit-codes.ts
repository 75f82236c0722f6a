import type { CoreErrorCode } from "@streamflow/core";
import type { FeaturesErrorCode } from "@streamflow/features";
import type { LifecycleErrorCode } from "@streamflow/lifecycle";
import type { RegistryErrorCode } from "@streamflow/registry-client";
import type { ServingErrorCode } from "@streamflow/serving";

/** The CLI's promise to scripts: these numbers never change meaning. */
export const EXIT = {
  OK: 0,
  BUG: 1,
  USAGE: 2,
  UNAVAILABLE: 3,
  DATA_INVALID: 4,
  CHECK_FAILED: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Codes the CLI raises itself. */
export const CLI_ERROR_CODES = {
  USAGE: "USAGE",
  CONFIG_INVALID: "CONFIG_INVALID",
  CHECK_FAILED: "CHECK_FAILED",
} as const;
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

export type ErrorCode =
  | CoreErrorCode
  | FeaturesErrorCode
  | LifecycleErrorCode
  | RegistryErrorCode
  | ServingErrorCode
  | CliErrorCode;

// A Record over the union: a new library code fails typecheck here until it has an exit code.
export const EXIT_CODE: Record<ErrorCode, ExitCode> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  DATA_INVALID: EXIT.DATA_INVALID,
  MODEL_FORMAT_INVALID: EXIT.DATA_INVALID,
  MODEL_TOO_LARGE: EXIT.DATA_INVALID,
  DATABASE_URL_INVALID: EXIT.USAGE,
  DATABASE_UNAVAILABLE: EXIT.UNAVAILABLE,
  DATABASE_SCHEMA_NEWER: EXIT.DATA_INVALID,
  INPUT_NOT_FOUND: EXIT.USAGE,
  INPUT_INVALID: EXIT.DATA_INVALID,
  SNAPSHOT_CONFLICT: EXIT.DATA_INVALID,
  NO_DATA_AS_OF: EXIT.DATA_INVALID,
  OUTPUT_INVALID: EXIT.USAGE,
  SHARD_INVALID: EXIT.USAGE,
  REPOSITORY_INVALID: EXIT.USAGE,
  // The store holds data the repository in force would drop: the data, not the command, is at odds.
  REPOSITORY_CHANGE_DESTRUCTIVE: EXIT.DATA_INVALID,
  REGISTRY_UNAVAILABLE: EXIT.UNAVAILABLE,
  // Wrong credentials are configuration: retrying will not help.
  REGISTRY_AUTH: EXIT.USAGE,
  REGISTRY_PROTOCOL: EXIT.UNAVAILABLE,
  REGISTRY_NOT_FOUND: EXIT.DATA_INVALID,
  REGISTRY_CONFLICT: EXIT.DATA_INVALID,
  REGISTRY_INVALID_REQUEST: EXIT.USAGE,
  REGISTRY_URI_INVALID: EXIT.USAGE,
  REGISTRY_ARTIFACTS_UNSUPPORTED: EXIT.USAGE,
  REGISTRY_STORAGE: EXIT.USAGE,
  REGISTRY_LOCK_TIMEOUT: EXIT.UNAVAILABLE,
  // A model that fails its checksum or does not fit the store is bad data, like a corrupt model file.
  MODEL_INTEGRITY: EXIT.DATA_INVALID,
  MODEL_SCHEMA_MISMATCH: EXIT.DATA_INVALID,
  PROMOTION_TARGET_MISSING: EXIT.USAGE,
  DRIFT_OPTION_INVALID: EXIT.USAGE,
  QUEUE_UNAVAILABLE: EXIT.UNAVAILABLE,
  // Workers kept dying on the job: the run could not get done, retrying later may.
  QUEUE_JOB_FAILED: EXIT.UNAVAILABLE,
  // Port taken or not permitted: the operator picks another --host/--port.
  LISTEN_FAILED: EXIT.USAGE,
  USAGE: EXIT.USAGE,
  CONFIG_INVALID: EXIT.USAGE,
  CHECK_FAILED: EXIT.CHECK_FAILED,
};

export function exitCodeFor(code: string): ExitCode {
  return Object.hasOwn(EXIT_CODE, code)
    ? EXIT_CODE[code as ErrorCode]
    : EXIT.BUG;
}

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  unexpected error (a bug: please report it with --verbose output)
  2  usage or configuration invalid
  3  dependency unavailable (PostgreSQL or MLflow unreachable; retry later)
  4  data invalid (bad CSV, snapshot conflict, no data at that date, bad model file, unknown model, version, alias or run)
  5  check failed (check-online coverage below threshold, promote --if-better refused)`;
