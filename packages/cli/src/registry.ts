import { createLocalRegistry, createMlflowClient, type Registry } from "@streamflow/registry-client";
import type { CommandContext } from "./context.ts";

/** Opens the configured registry (MLflow when a tracking URI is set, else the local one), runs `fn`, closes it. */
export async function withRegistry<T>(ctx: CommandContext, fn: (registry: Registry) => Promise<T>): Promise<T> {
  const t = ctx.config.tracking;
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
