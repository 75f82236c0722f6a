import swagger from "@fastify/swagger";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger as PinoLogger } from "pino";
import {
  describeOnlineStore,
  getOnlineFeatures,
  type Database,
  type OnlineFeatures,
} from "@streamflow/features";
import { DECISION_THRESHOLD, TOOLKIT_VERSION } from "@streamflow/core";
import { createTokenCheck } from "./auth.ts";
import {
  answerClientError,
  answerExpectation,
  RouteMethods,
} from "./http-errors.ts";
import {
  isDatabaseUnavailable,
  type DatabaseHealth,
} from "./database-health.ts";
import { FeatureLoader } from "./feature-loader.ts";
import type { CachedFeatures, FeatureCache } from "./feature-cache.ts";
import type { ServingMetrics } from "./metrics.ts";
import type { LoadedModel, ModelRef } from "./loaded-model.ts";
import type { ModelManager } from "./model-manager.ts";
import {
  apiSchemas,
  MAX_BATCH_USERS,
  errorSchema,
  healthResponseSchema,
} from "./schemas.ts";

/** Longest stretch of a batch's forest walk between two turns of the event loop. */
const FOREST_SLICE_MS = 2;

/**
 * Ids per online-store query on PGlite, which runs queries on this thread: one read of 1,000 ids
 * held the event loop for 35–125 ms, one of 100 for about 5 ms, at about the same cost per id.
 */
const PGLITE_READ_IDS = 100;

export interface AppDeps {
  db: Database;
  models: ModelManager;
  health: DatabaseHealth;
  metrics: ServingMetrics;
  logger: PinoLogger;
  apiToken: string | undefined;
  /** Seconds a client is told to wait (Retry-After) when no model is loaded. */
  modelRetryAfterS: number;
  bodyLimitBytes: number;
  /** True once shutdown began: responses then close their connection instead of keeping it alive. */
  isClosing: () => boolean;
  cache: FeatureCache;
}

/** A client-facing failure: its status, body and headers are the whole answer. */
class ApiProblem extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    body: { error: string; message: string } & Record<string, unknown>,
    headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function modelJson(ref: ModelRef) {
  return {
    name: ref.name,
    version: ref.version,
    stage: ref.stage,
    alias: ref.alias,
    run_id: ref.runId,
  };
}

function missingViews(
  features: OnlineFeatures,
  views: readonly string[],
): string[] {
  return views.filter((v) => features.asOf[v] === null);
}

/** The entity's key field and name, as answers spell them. */
interface EntityWords {
  key: string;
  name: string;
}

/** A batch's answer for a key the online store does not hold. */
function notFoundEntry(
  entity: EntityWords,
  features: OnlineFeatures,
  views: readonly string[],
) {
  return {
    error: "user_not_found" as const,
    [entity.key]: features.userId,
    missing_feature_views: missingViews(features, views),
  };
}

function notFound(
  entity: EntityWords,
  features: OnlineFeatures,
  views: readonly string[],
) {
  return {
    ...notFoundEntry(entity, features, views),
    message: `${entity.name} '${features.userId}' is not in the online store`,
  };
}

function usedFeatures(
  loaded: LoadedModel,
  features: OnlineFeatures,
): Record<string, unknown> {
  const used: Record<string, unknown> = {};
  for (const name of loaded.features)
    used[name] = features.values[name] ?? null;
  return used;
}

/** 503 for a database known or found to be down; the breaker and its probe take it from there. */
function databaseUnavailable(detail: string): ApiProblem {
  return new ApiProblem(
    503,
    {
      error: "database_unavailable",
      message: `the feature store database is unavailable: ${detail}`,
    },
    { "Retry-After": "1" },
  );
}

function prediction(p: number) {
  return { churn_probability: p, prediction: p > DECISION_THRESHOLD ? 1 : 0 };
}

/** The Fastify application: routes, validation, auth, metrics and error mapping. Listening is the caller's. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { db, models, health, metrics } = deps;
  const schemas = apiSchemas(db.layout);
  const { one: keyField, many: keysField } = schemas.fields;
  const entity: EntityWords = { key: keyField, name: db.layout.entity.name };
  // Widened to Fastify's logger type, so the app's type does not depend on pino's generics.
  const logger: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance: logger,
    // One line per request would cost more than the prediction; access logs go out at debug level below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // Long ids must reach the schema (422), not fail the router: any that fits in Node's header
    // limit (16 KiB for the request line and headers together).
    routerOptions: { maxParamLength: 16 * 1024 },
    // Broken framing (bad Content-Length, invalid chunking, oversized headers) never reaches a
    // route; it gets the same {error, message} body as everything else.
    clientErrorHandler: answerClientError,
    requestTimeout: 30_000,
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL) get the same JSON shape as the rest.
    frameworkErrors: (error, _request, reply) => {
      // Typed for a generic route in Fastify 5; this reply is a plain one.
      void (reply as unknown as FastifyReply)
        .code(400)
        .send({ error: "bad_request", message: error.message });
    },
    ajv: {
      // Fastify's defaults coerce "123" ↔ 123 and drop unknown fields; a client sending either should hear about it.
      // First error only: with allErrors a 250 KB body of 100k wrong items made a 13 MB answer.
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        allErrors: false,
      },
    },
  });

  // Without a listener, Node answers an unsupported Expect with an empty 417.
  app.server.on("checkExpectation", answerExpectation);
  const routes = new RouteMethods();
  app.addHook("onRoute", (route) => routes.add(route.method, route.url));

  // JSON only: Fastify would otherwise accept text/plain bodies and answer them with a schema error.
  app.removeContentTypeParser("text/plain");

  const requireToken =
    deps.apiToken === undefined ? undefined : createTokenCheck(deps.apiToken);
  const secured =
    deps.apiToken === undefined ? {} : { security: [{ bearer: [] }] };
  const checkToken = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> => {
    if (
      requireToken === undefined ||
      requireToken(request.headers.authorization)
    )
      return;
    reply.header("WWW-Authenticate", 'Bearer realm="streamflow"');
    throw new ApiProblem(401, {
      error: "unauthorized",
      message:
        "send Authorization: Bearer <token> (the value of the server's token environment variable)",
    });
  };
  // Without a token there is no hook at all: an empty async hook still costs a promise per request.
  const auth = requireToken === undefined ? {} : { onRequest: checkToken };

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "StreamFlow prediction service",
        version: TOOLKIT_VERSION,
        description: `Churn predictions from the online feature store and the registered model. Entities are ${db.layout.entity.name}s, keyed by \`${keyField}\`; the features are those of feature repository ${db.layout.hash.slice(0, 12)}. Errors are JSON objects with a stable \`error\` code.`,
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
    },
  });

  // One pair of labelled children per route, method and status, looked up by a string key: prom-client
  // would otherwise hash the label object on every request.
  const children = new Map<
    string,
    { count: () => void; observe: (seconds: number) => void }
  >();
  app.addHook("onResponse", (request, reply, done) => {
    const endpoint = request.routeOptions.url ?? "unmatched";
    const key = `${endpoint} ${request.method} ${reply.statusCode}`;
    let child = children.get(key);
    if (child === undefined) {
      const counter = metrics.requests.labels({
        endpoint,
        method: request.method,
        status: String(reply.statusCode),
      });
      const histogram = metrics.latency.labels({
        endpoint,
        method: request.method,
      });
      child = {
        count: () => counter.inc(),
        observe: (seconds) => histogram.observe(seconds),
      };
      children.set(key, child);
    }
    child.count();
    child.observe(reply.elapsedTime / 1000);
    if (deps.logger.isLevelEnabled("debug")) {
      request.log.debug(
        {
          method: request.method,
          endpoint,
          status: reply.statusCode,
          ms: Number(reply.elapsedTime.toFixed(3)),
        },
        "request",
      );
    }
    done();
  });

  // Node's close() only ends connections idle at that moment; one whose response is still being
  // written would stay open for the keep-alive timeout and hold shutdown up.
  // eslint-disable-next-line max-params -- Fastify's callback hook; the async form costs a promise per request.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (deps.isClosing()) reply.header("Connection", "close");
    done(null, payload);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split("?")[0]!;
    const allowed = routes.allowedAt(path);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header("Allow", allowed.join(", "))
        .send({
          error: "method_not_allowed",
          message: `${path} does not take ${request.method}; it takes ${allowed.join(", ")}`,
          allow: allowed,
        });
    }
    return reply.code(404).send({
      error: "not_found",
      message: `no route ${request.method} ${path}; see GET /openapi.json`,
    });
  });

  app.setErrorHandler(
    async (error: FastifyError | ApiProblem, request, reply) => {
      if (error instanceof ApiProblem)
        return reply.code(error.status).headers(error.headers).send(error.body);
      if (error.validation !== undefined) {
        return reply.code(422).send({
          error: "invalid_request",
          message: `request ${error.validationContext ?? "body"} is invalid: ${error.message}`,
          details: error.validation.slice(0, 10).map((v) => ({
            path: v.instancePath || "/",
            message: v.message ?? "invalid",
            keyword: v.keyword,
          })),
        });
      }
      switch (error.code) {
        case "FST_ERR_CTP_BODY_TOO_LARGE":
          return reply.code(413).send({
            error: "payload_too_large",
            message: `request body is over ${deps.bodyLimitBytes} bytes`,
            limit_bytes: deps.bodyLimitBytes,
          });
        case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
          return reply.code(415).send({
            error: "unsupported_media_type",
            message:
              "send the body as JSON with Content-Type: application/json",
          });
        case "FST_ERR_CTP_EMPTY_JSON_BODY":
        case "FST_ERR_CTP_INVALID_JSON_BODY":
          return reply.code(400).send({
            error: "malformed_json",
            message: `request body is not valid JSON: ${error.message}`,
          });
        default:
          break;
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        // JSON syntax errors and other client errors Fastify raises before the handler runs.
        const malformed =
          error instanceof SyntaxError ||
          error.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH";
        return reply.code(400).send({
          error: malformed ? "malformed_json" : "bad_request",
          message: error.message,
        });
      }
      request.log.error({ err: error }, "unexpected failure");
      return reply.code(500).send({
        error: "internal_error",
        message: `internal error (request ${request.id}); see the server log`,
      });
    },
  );

  const currentModel = (): LoadedModel => {
    const loaded = models.current;
    if (loaded === undefined) {
      throw new ApiProblem(
        503,
        {
          error: "model_unavailable",
          message: `no model is loaded from ${models.uri}${models.status.lastError ? `: ${models.status.lastError}` : ""}`,
        },
        { "Retry-After": String(deps.modelRetryAfterS) },
      );
    }
    return loaded;
  };

  const read = async (
    userIds: readonly string[],
    kind: "single" | "batch",
  ): Promise<OnlineFeatures[]> => {
    const end = metrics.featureLookup.startTimer({ kind });
    try {
      if (db.kind !== "pglite" || userIds.length <= PGLITE_READ_IDS)
        return await getOnlineFeatures(db, userIds);
      const features: OnlineFeatures[] = [];
      for (let at = 0; at < userIds.length; at += PGLITE_READ_IDS) {
        if (at > 0) await new Promise((resolve) => setImmediate(resolve));
        features.push(
          ...(await getOnlineFeatures(
            db,
            userIds.slice(at, at + PGLITE_READ_IDS),
          )),
        );
      }
      return features;
    } catch (error) {
      // Whatever the database says, the client is not at fault: 503, and /ready tells the operator.
      if (isDatabaseUnavailable(error)) {
        health.markDown(error);
        throw databaseUnavailable((error as Error).message);
      }
      deps.logger.error({ err: error }, "online-store read failed");
      throw new ApiProblem(
        503,
        {
          error: "database_error",
          message: `the online store could not be read: ${(error as Error).message}`,
        },
        { "Retry-After": "1" },
      );
    } finally {
      end();
    }
  };
  const requireDatabase = (): void => {
    if (!health.up) throw databaseUnavailable(health.lastError ?? "no answer");
  };
  // PGlite runs one query at a time in this process: a second in flight would only queue.
  const loader = new FeatureLoader({
    load: (ids) => read(ids, "single"),
    maxInFlight: db.kind === "pglite" ? 1 : 4,
    maxBatch: MAX_BATCH_USERS,
  });
  const cache = deps.cache;
  const countCache = (hits: number, misses: number) => {
    if (!cache.enabled) return;
    if (hits > 0) metrics.featureCache.labels({ result: "hit" }).inc(hits);
    if (misses > 0) metrics.featureCache.labels({ result: "miss" }).inc(misses);
  };
  /** Cached features, else one (coalesced) read. While the database is known down, nothing is served. */
  const lookupOne = async (userId: string): Promise<CachedFeatures> => {
    requireDatabase();
    const hit = cache.get(userId);
    countCache(hit === undefined ? 0 : 1, hit === undefined ? 1 : 0);
    return hit ?? cache.set(await loader.get(userId));
  };
  /** Every id's entry; the ids the cache lacks are read in one query. */
  const lookupMany = async (
    userIds: readonly string[],
  ): Promise<Map<string, CachedFeatures>> => {
    requireDatabase();
    const entries = new Map<string, CachedFeatures>();
    const misses: string[] = [];
    for (const id of userIds) {
      const hit = cache.get(id);
      if (hit === undefined) misses.push(id);
      else entries.set(id, hit);
    }
    countCache(entries.size, misses.length);
    if (misses.length > 0)
      for (const features of await read(misses, "batch"))
        entries.set(features.userId, cache.set(features));
    return entries;
  };
  const probabilityOf = (
    entry: CachedFeatures,
    loaded: LoadedModel,
  ): number => {
    if (entry.prediction?.model !== loaded)
      entry.prediction = {
        model: loaded,
        probability: loaded.model.predictProbaRow(entry.features.values),
      };
    return entry.prediction.probability;
  };

  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness: the process is up",
        tags: ["operations"],
        response: { 200: healthResponseSchema },
      },
    },
    () => ({ status: "ok" }),
  );

  app.get(
    "/ready",
    {
      schema: {
        summary:
          "Readiness: a model is loaded, the database answers, the online store covers the model",
        tags: ["operations"],
        response: {
          200: schemas.readyResponse,
          503: schemas.readyResponse,
        },
      },
    },
    async (_request, reply) => {
      const reasons: string[] = [];
      const loaded = models.current;
      if (loaded === undefined)
        reasons.push(
          `no model loaded from ${models.uri}${models.status.lastError ? `: ${models.status.lastError}` : ""}`,
        );
      const dbOk = await health.ping();
      if (!dbOk)
        reasons.push(
          `database unavailable: ${health.lastError ?? "no answer"}`,
        );
      let materializedAsOf: Record<string, string | null> = {};
      if (dbOk) {
        try {
          const store = await describeOnlineStore(db);
          materializedAsOf = store.materializedAsOf;
          for (const view of loaded?.featureViews ?? []) {
            if (store.materializedAsOf[view] === null)
              reasons.push(
                `online store has no materialized data for feature view ${view}; run streamflow materialize --as-of YYYY-MM-DD`,
              );
          }
        } catch (error) {
          reasons.push(
            `cannot read the online store: ${(error as Error).message}`,
          );
        }
      }
      const ready = reasons.length === 0;
      if (!ready) reply.code(503).header("Retry-After", "1");
      return {
        ready,
        reasons,
        model: loaded === undefined ? null : modelJson(loaded.ref),
        model_uri: models.uri,
        model_loaded_at: loaded?.loadedAt.toISOString() ?? null,
        database: {
          ok: dbOk,
          engine: db.kind,
          location: db.location,
          error: dbOk ? null : health.lastError,
        },
        online_store: { materialized_as_of: materializedAsOf },
        registry: {
          reachable: models.status.reachable ?? null,
          last_check_at: models.status.lastCheckAt?.toISOString() ?? null,
          last_error: models.status.lastError,
        },
      };
    },
  );

  app.post(
    "/predict",
    {
      ...auth,
      schema: {
        summary:
          "Churn probability of one user, from the user's online features",
        tags: ["predictions"],
        ...secured,
        body: schemas.predictBody,
        response: {
          200: schemas.predictResponse,
          404: schemas.notFound,
          "4xx": errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const userId = (request.body as Record<string, string>)[keyField]!;
      const loaded = currentModel();
      const entry = await lookupOne(userId);
      const { features } = entry;
      if (!features.found) {
        metrics.predictions.labels({ outcome: "user_not_found" }).inc();
        throw new ApiProblem(
          404,
          notFound(entity, features, loaded.featureViews),
        );
      }
      const p = probabilityOf(entry, loaded);
      metrics.predictions.labels({ outcome: "predicted" }).inc();
      metrics.churnProbability
        .labels({ model_version: loaded.ref.version })
        .observe(p);
      return {
        [keyField]: userId,
        ...prediction(p),
        threshold: DECISION_THRESHOLD,
        model: modelJson(loaded.ref),
        features_used: usedFeatures(loaded, features),
        features_as_of: features.asOf,
      };
    },
  );

  app.post(
    "/predict/batch",
    {
      ...auth,
      schema: {
        summary:
          "Churn probabilities of up to 1,000 users; those not in the feature cache are read in one database round trip",
        tags: ["predictions"],
        ...secured,
        body: schemas.batchBody,
        response: {
          200: schemas.batchResponse,
          "4xx": errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const userIds = (request.body as Record<string, string[]>)[keysField]!;
      const loaded = currentModel();
      const entries = await lookupMany([...new Set(userIds)]);
      const found = [...entries.values()].filter((e) => e.features.found);
      // The rows this model has not scored yet go through the forest together (its batch path is
      // faster), in slices of about 2 ms: walked in one piece, 1,000 rows held the event loop for
      // ~20 ms, and every other request (GET /health included) waited for it.
      const unscored = found.filter((e) => e.prediction?.model !== loaded);
      const { preprocessor, forest } = loaded.model;
      const probabilities = await forest.predictProbaInSlices(
        preprocessor.transform(unscored.map((e) => e.features.values)),
        { sliceMs: FOREST_SLICE_MS },
      );
      unscored.forEach(
        (e, i) =>
          (e.prediction = { model: loaded, probability: probabilities[i]! }),
      );
      const answers = new Map<string, Record<string, unknown>>();
      const served = metrics.churnProbability.labels({
        model_version: loaded.ref.version,
      });
      for (const e of found) {
        const f = e.features;
        answers.set(f.userId, {
          [keyField]: f.userId,
          ...prediction(probabilityOf(e, loaded)),
          features_used: usedFeatures(loaded, f),
          features_as_of: f.asOf,
        });
      }
      let notFoundCount = 0;
      const results = userIds.map((id) => {
        const answer = answers.get(id);
        if (answer !== undefined) {
          // Per answer, duplicates included, as the predictions counter counts.
          served.observe(answer["churn_probability"] as number);
          return answer;
        }
        notFoundCount++;
        return notFoundEntry(
          entity,
          entries.get(id)!.features,
          loaded.featureViews,
        );
      });
      metrics.predictions
        .labels({ outcome: "predicted" })
        .inc(userIds.length - notFoundCount);
      metrics.predictions
        .labels({ outcome: "user_not_found" })
        .inc(notFoundCount);
      return {
        model: modelJson(loaded.ref),
        threshold: DECISION_THRESHOLD,
        predicted: userIds.length - notFoundCount,
        not_found: notFoundCount,
        results,
      };
    },
  );

  app.get(
    `/features/:${keyField}`,
    {
      ...auth,
      schema: {
        summary:
          "A user's online feature values, per-feature status and snapshot dates",
        tags: ["features"],
        ...secured,
        params: schemas.featuresParams,
        response: {
          200: schemas.featuresResponse,
          404: schemas.notFound,
          "4xx": errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const userId = (request.params as Record<string, string>)[keyField]!;
      const { features } = await lookupOne(userId);
      if (!features.found)
        throw new ApiProblem(
          404,
          notFound(entity, features, Object.keys(features.asOf)),
        );
      return {
        [keyField]: userId,
        features: features.values,
        statuses: features.statuses,
        as_of: features.asOf,
      };
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics (text format)",
        tags: ["operations"],
      },
    },
    async (_request, reply) => {
      reply.header("Content-Type", metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );

  app.get("/openapi.json", { schema: { hide: true } }, () => app.swagger());

  await app.ready();
  return app;
}
