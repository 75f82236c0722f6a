import type { CommandContext } from "../context.ts";
import { withRegistry } from "../registry.ts";
import { createPredictionService } from "@streamflow/serving";
import {
  createServerLogger,
  resolveApiToken,
  SERVING_POOL,
  SERVING_REGISTRY,
  withJsonLogger,
  type LogLevel,
} from "../serving.ts";
import { withFeatureStore } from "../store.ts";

export interface ServeFlags {
  host: string;
  port: number;
  modelUri: string;
  reloadIntervalS: number;
  featureCacheTtlS: number;
  driftRefreshS: number;
  apiTokenEnv?: string;
  logLevel: LogLevel;
}

/** Runs the prediction service until SIGTERM/SIGINT, then drains in-flight requests and exits 0. */
export async function runServe(
  cliCtx: CommandContext,
  flags: ServeFlags,
): Promise<void> {
  const apiToken = resolveApiToken(cliCtx, flags.apiTokenEnv);
  const logger = createServerLogger(
    cliCtx,
    cliCtx.config.verbose ? "debug" : flags.logLevel,
  );
  const ctx = withJsonLogger(cliCtx, logger);
  if (
    apiToken === undefined &&
    !["127.0.0.1", "localhost", "::1"].includes(flags.host)
  ) {
    logger.warn(
      `listening on ${flags.host} without an API token: anyone who can reach it can read features; set ${flags.apiTokenEnv ?? "STREAMFLOW_API_TOKEN"}`,
    );
  }
  await withFeatureStore(
    ctx,
    (db) =>
      withRegistry(
        ctx,
        async (registry) => {
          const service = await createPredictionService({
            db,
            registry,
            modelUri: flags.modelUri,
            reloadIntervalMs: flags.reloadIntervalS * 1000,
            featureCacheTtlMs: flags.featureCacheTtlS * 1000,
            driftRefreshIntervalMs: flags.driftRefreshS * 1000,
            apiToken,
            logger,
          });
          let url: string;
          try {
            url = await service.listen({ host: flags.host, port: flags.port });
          } catch (error) {
            await service.close();
            throw error;
          }
          const model = service.currentModel();
          ctx.result(
            {
              url,
              model_uri: service.modelUri,
              model:
                model === undefined
                  ? null
                  : {
                      name: model.name,
                      version: model.version,
                      stage: model.stage,
                      alias: model.alias,
                      run_id: model.runId,
                    },
              database: db.location,
              auth: apiToken !== undefined,
              reload_interval_s: flags.reloadIntervalS,
              feature_cache_ttl_s: flags.featureCacheTtlS,
              drift_refresh_s: flags.driftRefreshS,
            },
            () =>
              [
                `StreamFlow prediction service on ${url}  (database: ${db.location})`,
                model === undefined
                  ? `  no model yet at ${service.modelUri}: answering 503 until one is promoted (checked every ${flags.reloadIntervalS} s)`
                  : `  serving ${model.name} version ${model.version} (${model.stage}) from ${service.modelUri}, checked every ${flags.reloadIntervalS} s`,
                `  try: curl -s ${url}/predict -H 'Content-Type: application/json'${apiToken === undefined ? "" : ' -H "Authorization: Bearer $STREAMFLOW_API_TOKEN"'} -d '{"${db.layout.entity.joinKey}":"<id>"}'`,
                `  docs: ${url}/openapi.json · metrics: ${url}/metrics · stop: Ctrl-C`,
              ].join("\n"),
          );
          const signal = await (ctx.io.stopRequested?.() ??
            new Promise<string>(() => undefined));
          logger.info(`${signal}: draining in-flight requests and stopping`);
          await service.close();
          logger.info("stopped");
        },
        SERVING_REGISTRY,
      ),
    { pool: SERVING_POOL },
  );
}
