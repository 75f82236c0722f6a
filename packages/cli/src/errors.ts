import { StreamflowError } from "@streamflow/core";
import type { CliErrorCode } from "./exit-codes.ts";

/** Errors raised by the CLI layer itself (configuration, failed checks). */
export class CliError extends StreamflowError<CliErrorCode> {}
