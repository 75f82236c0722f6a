import type { FastifyInstance } from "fastify";
import { pino, type Logger as PinoLogger } from "pino";
import { describeOnlineStore, type Database } from "@streamflow/features";
import { isRegistryError, type Registry } from "@streamflow/registry-client";
import { ServingError } from "./errors.ts";
import { buildApp } from "./internal/app.ts";
import { DatabaseHealth } from "./internal/database-health.ts";
import { DriftGauges } from "./internal/drift-gauges.ts";
import { FeatureCache } from "./internal/feature-cache.ts";
import { ServingMetrics } from "./internal/metrics.ts";
import { parseModelTarget } from "@streamflow/lifecycle";
import type { ModelRef } from "./internal/loaded-model.ts";
import { ModelManager, type ReloadOutcome } from "./internal/model-manager.ts";

export const DEFAULT_MODEL_URI = "models:/streamflow_churn/Production";
export const DEFAULT_RELOAD_INTERVAL_MS = 30_000;
export const DEFAULT_FEATURE_CACHE_TTL_MS = 5_000;
export const DEFAULT_DRIFT_REFRESH_INTERVAL_MS = 60_000;
/** A full batch of 1,000 ids of 64 characters is about 70 KB. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;

export interface PredictionServiceOptions {
  /** The feature store; the caller opens and closes it. */
  db: Database;
  /** Where models are resolved and downloaded from; the caller opens and closes it. */
  registry: Registry;
  /** @default models:/streamflow_churn/Production */
  modelUri?: string | undefined;
  /** How often the registry is polled for a new version; 0 turns hot reload off. @default 30000 */
  reloadIntervalMs?: number | undefined;
  /** When set, /predict* and /features* require `Authorization: Bearer <apiToken>`. */
  apiToken?: string | undefined;
  /** Structured logs (start, reloads, outages, errors; requests at debug). @default silent */
  logger?: PinoLogger | undefined;
  /** @default 262144 */
  bodyLimitBytes?: number | undefined;
  /** How often a down database is probed. @default 500 */
  databaseProbeIntervalMs?: number | undefined;
  /** On close, connections still open after this long are cut. @default 10000 */
  drainTimeoutMs?: number | undefined;
  /**
   * How long a user's online features (and the model's prediction from them) are reused before
   * being read again; 0 reads the database on every request. @default 5000
   */
  featureCacheTtlMs?: number | undefined;
  /** Users kept in the feature cache at most. @default 100000 */
  featureCacheSize?: number | undefined;
  /**
   * How often the latest drift report is read into the drift gauges of /metrics; 0 reads it only
   * at start. @default 60000
   */
  driftRefreshIntervalMs?: number | undefined;
}

export interface ListenOptions {
  /** @default 127.0.0.1 */
  host?: string | undefined;
  /** 0 picks a free port. @default 8000 */
  port?: number | undefined;
}

export interface PredictionService {
  /** The Fastify instance, for `inject()` in tests and for embedding. */
  readonly app: FastifyInstance;
  /** The model served right now; undefined until one loads. */
  currentModel(): ModelRef | undefined;
  /** The model URI followed, canonical form. */
  readonly modelUri: string;
  /** Checks the registry now instead of waiting for the next poll. */
  reload(): Promise<ReloadOutcome>;
  /** Starts accepting connections and returns the base URL. @throws ServingError LISTEN_FAILED */
  listen(options?: ListenOptions): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, stops polling. Leaves the database and registry open. */
  close(): Promise<void>;
}

/**
 * Builds the prediction service and loads the model the URI points at. A model that cannot be
 * loaded yet (none promoted, registry down) does not stop the service: it answers 503 and /ready
 * says why, and the poll picks the model up when it appears.
 * @throws RegistryError REGISTRY_URI_INVALID for a URI that names no registered model, REGISTRY_AUTH
 * when the registry refuses the credentials.
 */
export async function createPredictionService(
  options: PredictionServiceOptions,
): Promise<PredictionService> {
  const logger = options.logger ?? pino({ enabled: false });
  const target = parseModelTarget(options.modelUri ?? DEFAULT_MODEL_URI);
  const reloadIntervalMs =
    options.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
  const metrics = new ServingMetrics();
  const health = new DatabaseHealth({
    db: options.db,
    metrics,
    logger,
    probeIntervalMs: options.databaseProbeIntervalMs ?? 500,
  });
  const cache = new FeatureCache({
    ttlMs: options.featureCacheTtlMs ?? DEFAULT_FEATURE_CACHE_TTL_MS,
    maxEntries: options.featureCacheSize ?? 100_000,
  });
  const models = new ModelManager({
    registry: options.registry,
    target,
    describeStore: () => describeOnlineStore(options.db),
    metrics,
    logger,
  });
  // Refused credentials will not fix themselves by polling: fail now, where the operator looks.
  if (
    (await models.refresh()) === "failed" &&
    isRegistryError(models.lastFailure) &&
    models.lastFailure.code === "REGISTRY_AUTH"
  ) {
    throw models.lastFailure;
  }
  const drift = new DriftGauges({ db: options.db, metrics, logger });
  await drift.refresh();
  drift.start(
    options.driftRefreshIntervalMs ?? DEFAULT_DRIFT_REFRESH_INTERVAL_MS,
  );
  // Cached answers must stop when the database goes away: a heartbeat notices within a second.
  if (cache.enabled) health.startHeartbeat(1_000);
  let closing = false;
  const app = await buildApp({
    isClosing: () => closing,
    cache,
    db: options.db,
    models,
    health,
    metrics,
    logger,
    apiToken: options.apiToken,
    modelRetryAfterS: Math.max(1, Math.ceil(reloadIntervalMs / 1000)),
    bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
  });
  models.startPolling(reloadIntervalMs);
  const drainMs = options.drainTimeoutMs ?? 10_000;
  let closed: Promise<void> | undefined;
  return {
    app,
    modelUri: models.uri,
    currentModel: () => models.current?.ref,
    reload: () => models.refresh(),
    async listen(listen = {}) {
      const host = listen.host ?? "127.0.0.1";
      const port = listen.port ?? 8000;
      try {
        await app.listen({
          host,
          port,
          listenTextResolver: (address) => `listening on ${address}`,
        });
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        throw new ServingError(
          "LISTEN_FAILED",
          `cannot listen on ${host}:${port}: ${code ?? (cause as Error).message}`,
          {
            cause,
            hint:
              code === "EADDRINUSE"
                ? `Port ${port} is taken: stop the other server or pass --port.`
                : "Check --host and --port.",
            details: { host, port, code },
          },
        );
      }
      const address = app.server.address();
      const bound =
        typeof address === "object" && address !== null ? address.port : port;
      return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        models.stopPolling();
        const cut = setTimeout(() => app.server.closeAllConnections(), drainMs);
        cut.unref();
        await app.close();
        clearTimeout(cut);
        // A check stuck in registry retries must not hold the exit past the drain budget.
        const budget = new Promise<void>((resolve) =>
          setTimeout(resolve, drainMs).unref(),
        );
        await Promise.race([
          Promise.all([models.settle(), drift.stop()]),
          budget,
        ]);
        health.stop();
      })();
      return closed;
    },
  };
}
