import { join } from "node:path";
import {
  createLocalRegistry,
  createMlflowClient,
  createPendingRunStore,
  endPendingRuns,
  redactUrl,
  type PendingRunStore,
  type Registry,
} from "@streamflow/registry-client";
import type { PendingRunJournal } from "@streamflow/lifecycle";
import type { CommandContext } from "./context.ts";

/** Retry settings a command may default differently from the Python client's (MLFLOW_HTTP_REQUEST_* still win). */
export interface RegistryDefaults {
  timeoutMs?: number;
  maxRetries?: number;
}

/** Which tracking server (credentials removed) or local registry folder this command talks to: the journal's key. */
export function trackingServer(ctx: CommandContext): string {
  const t = ctx.config.tracking;
  return t.uri === undefined
    ? t.localRoot
    : redactUrl(t.uri.trim()).replace(/\/+$/, "");
}

/** Runs `train` could not end while the server was away, kept in `$STREAMFLOW_HOME/pending-runs`. */
function pendingRunStore(ctx: CommandContext): PendingRunStore {
  return createPendingRunStore(join(ctx.config.home, "pending-runs"));
}

/** The journal the lifecycle library records unended runs in, keyed by this command's server. */
export function pendingRunJournal(ctx: CommandContext): PendingRunJournal {
  return { store: pendingRunStore(ctx), server: trackingServer(ctx) };
}

/**
 * Ends FAILED the runs an earlier command left open on this server, and says so. Never fails the
 * command: when the server is still away the entries stay for the next one.
 */
async function endLeftoverRuns(
  ctx: CommandContext,
  registry: Registry,
): Promise<void> {
  const server = trackingServer(ctx);
  try {
    for (const { pending, runs } of await endPendingRuns(
      registry,
      pendingRunStore(ctx),
      server,
    )) {
      for (const run of runs.filter((r) => r.before !== r.after)) {
        ctx.logger.warn(
          `ended run ${run.runId} FAILED on ${server}: an earlier command (${pending.recordedAt}) could not end it (${pending.reason})`,
        );
      }
    }
  } catch (error) {
    ctx.logger.warn(
      `runs left open on ${server} are not ended yet (${(error as Error).message}); the next command will try again`,
    );
  }
}

/**
 * Opens the configured registry (MLflow when a tracking URI is set, else the local one), ends the
 * runs an earlier command left open there, runs `fn`, closes it.
 */
export async function withRegistry<T>(
  ctx: CommandContext,
  fn: (registry: Registry) => Promise<T>,
  defaults: RegistryDefaults = {},
): Promise<T> {
  const t = {
    ...ctx.config.tracking,
    timeoutMs: ctx.config.tracking.timeoutMs ?? defaults.timeoutMs,
    maxRetries: ctx.config.tracking.maxRetries ?? defaults.maxRetries,
  };
  const registry =
    t.uri === undefined
      ? createLocalRegistry({ root: t.localRoot })
      : createMlflowClient({
          trackingUri: t.uri,
          token: t.token,
          username: t.username,
          password: t.password,
          insecureTls: t.insecureTls,
          ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
          ...(t.maxRetries === undefined ? {} : { maxRetries: t.maxRetries }),
          ...(t.backoffFactorMs === undefined
            ? {}
            : { backoffFactorMs: t.backoffFactorMs }),
          ...(t.backoffJitterMs === undefined
            ? {}
            : { backoffJitterMs: t.backoffJitterMs }),
          logger: ctx.logger,
        });
  try {
    await endLeftoverRuns(ctx, registry);
    return await fn(registry);
  } finally {
    await registry.close();
  }
}
