import { createLocalRegistry, createMlflowClient, type Registry } from "@streamflow/registry-client";
import type { CommandContext } from "./context.ts";

/** Retry settings a command may default differently from the Python client's (MLFLOW_HTTP_REQUEST_* still win). */
export interface RegistryDefaults {
  timeoutMs?: number;
  maxRetries?: number;
}

/** Opens the configured registry (MLflow when a tracking URI is set, else the local one), runs `fn`, closes it. */
export async function withRegistry<T>(ctx: CommandContext, fn: (registry: Registry) => Promise<T>, defaults: RegistryDefaults = {}): Promise<T> {
  const t = { ...ctx.config.tracking, timeoutMs: ctx.config.tracking.timeoutMs ?? defaults.timeoutMs, maxRetries: ctx.config.tracking.maxRetries ?? defaults.maxRetries };
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
          ...(t.backoffFactorMs === undefined ? {} : { backoffFactorMs: t.backoffFactorMs }),
          ...(t.backoffJitterMs === undefined ? {} : { backoffJitterMs: t.backoffJitterMs }),
          logger: ctx.logger,
        });
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}
