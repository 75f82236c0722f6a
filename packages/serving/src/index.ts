/** Serving errors: the closed code table the CLI maps to exit codes, and the error class. */
export { SERVING_ERROR_CODES, ServingError } from "./errors.ts";
export type { ServingErrorCode } from "./errors.ts";

/** The prediction service: Fastify app, model hot reload, database breaker, Prometheus metrics. */
export {
  createPredictionService,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_DRIFT_REFRESH_INTERVAL_MS,
  DEFAULT_FEATURE_CACHE_TTL_MS,
  DEFAULT_MODEL_URI,
  DEFAULT_RELOAD_INTERVAL_MS,
} from "./service.ts";
export type {
  ListenOptions,
  PredictionService,
  PredictionServiceOptions,
} from "./service.ts";
export type { ModelRef } from "./internal/loaded-model.ts";
export type {
  RegistryStatus,
  ReloadOutcome,
} from "./internal/model-manager.ts";
export { MAX_BATCH_USERS } from "./internal/schemas.ts";
