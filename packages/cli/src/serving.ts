import { pino, type Logger as PinoLogger } from "pino";
import type { Logger } from "@streamflow/core";
import type { CommandContext } from "./context.ts";
import { CliError } from "./errors.ts";

/** A serving process keeps more connections than a batch command, and never waits long for one. */
export const SERVING_POOL = {
  max: 8,
  connectionTimeoutMs: 2_000,
  statementTimeoutMs: 5_000,
  queryTimeoutMs: 6_000,
} as const;

export const DEFAULT_TOKEN_ENV = "STREAMFLOW_API_TOKEN";

/**
 * A server polls the registry again anyway: minutes of retries (the Python client's default, 7 with
 * backoff up to 120 s) would only hold up start and shutdown while MLflow is down. One retry,
 * which the client sends at once (a stale keep-alive socket, a dropped connection), and no backoff
 * after it: each poll then ends, and /ready's registry state follows, within a connection attempt
 * or two of MLflow going away (with a second, backed-off retry it lagged by 4 s).
 */
export const SERVING_REGISTRY = { maxRetries: 1, timeoutMs: 10_000 } as const;

export type LogLevel = "debug" | "info" | "warn" | "error";

/** JSON lines on stderr (stdout stays for the command's result), the usual shape for log shippers. */
export function createServerLogger(
  ctx: CommandContext,
  level: LogLevel,
): PinoLogger {
  return pino(
    {
      level,
      base: { service: "streamflow-serve" },
      redact: ["req.headers.authorization", "headers.authorization"],
    },
    { write: (line: string) => ctx.io.stderr.write(line) },
  );
}

/**
 * The context with its logger writing through the server's JSON logger: what libraries report
 * while serving (registry retries, database notes) must not be plain-text lines among JSON ones.
 */
export function withJsonLogger(
  ctx: CommandContext,
  logger: PinoLogger,
): CommandContext {
  const json: Logger = {
    debug: (message) => logger.debug(message),
    info: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
  };
  // A view of the same context (its printed state included), with only the logger replaced.
  return Object.create(ctx, {
    logger: { value: json, enumerable: true },
  }) as CommandContext;
}

/**
 * The API token from the environment variable named by --api-token-env. Naming a variable that is
 * unset is a mistake (the operator asked for auth), while the default name may simply be unset.
 * A variable set but empty is refused, whichever name: serving it without auth would drop the
 * protection the operator meant to turn on (a template that left the value blank, a failed lookup).
 */
export function resolveApiToken(
  ctx: CommandContext,
  tokenEnv: string | undefined,
): string | undefined {
  const name = tokenEnv ?? DEFAULT_TOKEN_ENV;
  const value = ctx.io.env[name];
  if (value === "") {
    throw new CliError(
      "USAGE",
      `${name} is set but empty, which would serve without authentication: set a non-empty token or unset the variable`,
      {
        hint: `export ${name}=<a long random token>, or unset ${name} to serve without auth on 127.0.0.1.`,
      },
    );
  }
  if (value !== undefined) return value;
  if (tokenEnv !== undefined) {
    throw new CliError(
      "USAGE",
      `--api-token-env names ${tokenEnv}, but that environment variable is not set`,
      {
        hint: `export ${tokenEnv}=<a long random token>, or drop --api-token-env to serve without auth on 127.0.0.1.`,
      },
    );
  }
  return undefined;
}
