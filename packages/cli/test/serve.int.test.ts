import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseModel, type StreamflowModel } from "@streamflow/core";
import {
  FEATURE_COLUMNS,
  FEATURE_VIEWS,
  getOnlineFeatures,
  materialize,
  openFeatureStore,
  type Database,
} from "@streamflow/features";
import {
  createLocalRegistry,
  createMlflowClient,
  type Registry,
} from "@streamflow/registry-client";
import { parseModelTarget, scoreUsers } from "@streamflow/lifecycle";
import {
  createPredictionService,
  type PredictionService,
} from "@streamflow/serving";
import {
  createTestDatabase,
  labDataDir,
  labDataMissingReason,
  startMlflowServer,
  TEST_ENGINES,
  type MlflowServer,
  type TestDatabase,
} from "@streamflow/test-utils";
import { SERVING_POOL, SERVING_REGISTRY } from "../src/serving.ts";
import { runCli } from "./run-cli.ts";
import {
  ALLOWED_METHODS,
  MALFORMED_REQUESTS,
  RAW_MALFORMED_REQUESTS,
  sendRaw,
} from "./malformed-requests.ts";
import { parseCalendarDay } from "@streamflow/core";

const VIEWS = FEATURE_VIEWS.map((v) => v.name);

/** Rows of a CSV written by generate-data (no quoted commas in it). */
async function readCsv(path: string): Promise<Record<string, string>[]> {
  const [header, ...lines] = (await readFile(path, "utf8")).trim().split("\n");
  const names = header!.split(",");
  return lines.map((line) =>
    Object.fromEntries(line.split(",").map((v, i) => [names[i]!, v])),
  );
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe.each(TEST_ENGINES)("streamflow serve on %s", (engine) => {
  let work: string;
  let home: string;
  let testDb: TestDatabase;
  let db: Database;
  let registry: Registry;
  let service: PredictionService;
  let reference: StreamflowModel;
  let ids: string[];
  let noNetUser: string;
  const env = () => ({
    STREAMFLOW_HOME: home,
    STREAMFLOW_DATABASE_URL: testDb.url,
    MLFLOW_TRACKING_URI: undefined,
    STREAMFLOW_API_TOKEN: undefined,
  });
  const cli = async (...argv: string[]) => {
    const r = await runCli(argv, env(), work);
    expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
    return r;
  };
  const post = (
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    service.app.inject({
      method: "POST",
      url: path,
      payload: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), `sf-serve-${engine}-`));
    home = join(work, "home");
    testDb = await createTestDatabase(engine);
    await cli("generate-data", "--users", "1200", "--out", join(work, "data"));
    await cli(
      "ingest",
      "--month-dir",
      join(work, "data", "month_000"),
      "--as-of",
      "2024-01-31",
    );
    await cli(
      "ingest",
      "--month-dir",
      join(work, "data", "month_001"),
      "--as-of",
      "2024-02-29",
    );
    await cli("materialize", "--as-of", "2024-02-29");
    await cli("train", "--as-of", "2024-01-31", "--n-estimators", "25");
    await cli("promote", "--version", "1", "--stage", "Production");
    // Version 2 stays unpromoted until the hot-reload test promotes it.
    await cli(
      "train",
      "--as-of",
      "2024-02-29",
      "--n-estimators",
      "25",
      "--seed",
      "7",
    );

    db = await openFeatureStore({
      url: testDb.url,
      dataDir: testDb.url === undefined ? join(home, "pgdata") : undefined,
      pool: SERVING_POOL,
    });
    registry = createLocalRegistry({ root: join(home, "registry") });
    service = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
    });
    const dir = await mkdtemp(join(work, "model-"));
    const { localPath } = await registry.downloadModel(
      "models:/streamflow_churn/1",
      dir,
    );
    reference = parseModel(
      await readFile(join(localPath, "model.json"), "utf8"),
    );
    const subscriptions = await readCsv(
      join(work, "data", "month_001", "subscriptions.csv"),
    );
    ids = subscriptions.slice(0, 40).map((r) => r["user_id"]!);
    noNetUser = subscriptions.find((r) => r["net_service"] === "No")![
      "user_id"
    ]!;
  });

  afterAll(async () => {
    await service?.close();
    await db?.close();
    await registry?.close();
    await testDb?.[Symbol.asyncDispose]();
  });

  it("is live and ready, serving version 1 from Production", async () => {
    expect((await service.app.inject({ url: "/health" })).json()).toEqual({
      status: "ok",
    });
    const ready = await service.app.inject({ url: "/ready" });
    expect(ready.statusCode, ready.body).toBe(200);
    const body = ready.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      ready: true,
      reasons: [],
      model: {
        name: "streamflow_churn",
        version: "1",
        stage: "Production",
        alias: null,
      },
      database: { ok: true, engine },
    });
    expect(body["online_store"]).toEqual({
      materialized_as_of: Object.fromEntries(
        VIEWS.map((v) => [v, "2024-02-29"]),
      ),
    });
  });

  it("predicts exactly what the library predicts from the same online features", async () => {
    const online = await getOnlineFeatures(db, ids);
    for (const features of online) {
      const r = await post("/predict", { user_id: features.userId });
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json<Record<string, unknown>>();
      const expected = reference.predictProbaRow(features.values);
      expect(body["churn_probability"]).toBe(expected);
      expect(body["prediction"]).toBe(expected > 0.5 ? 1 : 0);
      expect(body["threshold"]).toBe(0.5);
      expect(body["model"]).toMatchObject({
        name: "streamflow_churn",
        version: "1",
        stage: "Production",
      });
      expect(Object.keys(body["features_used"] as object).sort()).toEqual(
        FEATURE_COLUMNS.map((c) => c.name).sort(),
      );
      expect(body["features_as_of"]).toEqual(
        Object.fromEntries(VIEWS.map((v) => [v, "2024-02-29"])),
      );
    }
  });

  it("batch scoring (score) gives every user the p_churn and label serve answers, bit for bit", async () => {
    // Online store and offline point-in-time rows are both as of 2024-02-29: the same features.
    const scored = await scoreUsers({
      db,
      registry,
      target: parseModelTarget("models:/streamflow_churn/1"),
      asOf: parseCalendarDay("2024-02-29"),
      table: "serve_equality",
    });
    expect(scored.rows).toBe(1200);
    const rows = await db.query<{
      user_id: string;
      p_churn: number;
      label: number;
    }>(
      'SELECT user_id, p_churn, label FROM serve_equality ORDER BY user_id COLLATE "C"',
    );
    const served: {
      user_id: string;
      churn_probability: number;
      prediction: number;
    }[] = [];
    for (let at = 0; at < rows.length; at += 1000) {
      const r = await post("/predict/batch", {
        user_ids: rows.slice(at, at + 1000).map((row) => row.user_id),
      });
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json<{
        model: { version: string };
        results: typeof served;
      }>();
      expect(body.model.version).toBe("1");
      served.push(...body.results);
    }
    expect(
      served.map((s) => [s.user_id, s.churn_probability, s.prediction]),
    ).toEqual(rows.map((row) => [row.user_id, row.p_churn, row.label]));
  });

  it("predicts a user whose streaming plans are NULL (net_service = No) instead of rejecting them", async () => {
    const r = await post("/predict", { user_id: noNetUser });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json<{
      churn_probability: number;
      features_used: Record<string, unknown>;
    }>();
    expect(body.features_used).toMatchObject({
      net_service: "No",
      plan_stream_tv: null,
      plan_stream_movies: null,
    });
    expect(body.churn_probability).toBe(
      reference.predictProbaRow(
        (await getOnlineFeatures(db, [noNetUser]))[0]!.values,
      ),
    );
    const features = await service.app.inject({
      url: `/features/${noNetUser}`,
    });
    expect(features.statusCode).toBe(200);
    expect(features.json()).toMatchObject({
      user_id: noNetUser,
      statuses: {
        plan_stream_tv: "NULL_VALUE",
        plan_stream_movies: "NULL_VALUE",
        net_service: "PRESENT",
      },
    });
  });

  it("answers 404 user_not_found, naming the missing feature views, for an unknown user", async () => {
    for (const path of ["/predict", "/features/NOPE-00000"]) {
      const r =
        path === "/predict"
          ? await post(path, { user_id: "NOPE-00000" })
          : await service.app.inject({ url: path });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({
        error: "user_not_found",
        user_id: "NOPE-00000",
        missing_feature_views: VIEWS,
      });
    }
  });

  it("returns the online values, statuses and as_of of a user", async () => {
    const r = await service.app.inject({ url: `/features/${ids[0]}` });
    expect(r.statusCode).toBe(200);
    const body = r.json<{
      features: Record<string, unknown>;
      statuses: Record<string, string>;
      as_of: Record<string, string>;
    }>();
    const online = (await getOnlineFeatures(db, [ids[0]!]))[0]!;
    expect(body.features).toEqual(online.values);
    expect(body.statuses).toEqual(online.statuses);
    expect(body.as_of).toEqual(
      Object.fromEntries(VIEWS.map((v) => [v, "2024-02-29"])),
    );
  });

  it("answers a batch in request order, one result or one error per id, duplicates included", async () => {
    const asked = [ids[0]!, "NOPE-1", ids[1]!, ids[0]!, noNetUser];
    const r = await post("/predict/batch", { user_ids: asked });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json<{
      predicted: number;
      not_found: number;
      model: { version: string };
      results: Record<string, unknown>[];
    }>();
    expect(body).toMatchObject({
      predicted: 4,
      not_found: 1,
      model: { version: "1" },
    });
    expect(body.results.map((x) => x["user_id"])).toEqual(asked);
    expect(body.results[1]).toEqual({
      user_id: "NOPE-1",
      error: "user_not_found",
      missing_feature_views: VIEWS,
    });
    for (const [i, id] of asked.entries()) {
      if (i === 1) continue;
      const single = (await post("/predict", { user_id: id })).json<
        Record<string, unknown>
      >();
      expect(body.results[i]!["churn_probability"]).toBe(
        single["churn_probability"],
      );
      expect(body.results[i]!["features_used"]).toEqual(
        single["features_used"],
      );
    }
  });

  it("takes 1,000 ids in a batch and refuses 1,001 with 422", async () => {
    const thousand = Array.from(
      { length: 1000 },
      (_, i) => ids[i % ids.length]!,
    );
    const ok = await post("/predict/batch", { user_ids: thousand });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ predicted: number }>().predicted).toBe(1000);
    const over = await post("/predict/batch", {
      user_ids: [...thousand, ids[0]],
    });
    expect(over.statusCode).toBe(422);
    expect(over.json()).toMatchObject({ error: "invalid_request" });
  });

  it(`answers each of ${MALFORMED_REQUESTS.length + RAW_MALFORMED_REQUESTS.length} malformed requests with a 4xx and keeps serving`, async () => {
    expect(
      MALFORMED_REQUESTS.length + RAW_MALFORMED_REQUESTS.length,
    ).toBeGreaterThanOrEqual(30);
    // Every answer is checked before any assertion, so one failure lists all the requests answered wrongly.
    const answered: {
      name: string;
      status: number;
      error: unknown;
      message: string;
      allow?: string | undefined;
      bytes: number;
    }[] = [];
    const expected: typeof answered = [];
    const errorOf = (body: string): { error: unknown; message: string } => {
      try {
        const parsed = JSON.parse(body) as {
          error?: unknown;
          message?: unknown;
        };
        return { error: parsed.error, message: typeof parsed.message };
      } catch {
        return { error: `not JSON: ${body.slice(0, 80)}`, message: "none" };
      }
    };
    for (const m of MALFORMED_REQUESTS) {
      const r = await service.app.inject({
        method: m.method,
        url: m.url,
        payload: m.payload,
        headers: m.headers,
      });
      // An error report stays small whatever the body held.
      answered.push({
        name: m.name,
        status: r.statusCode,
        ...errorOf(r.body),
        allow: r.headers["allow"],
        bytes: Math.min(r.body.length, 10_000),
      });
      expected.push({
        name: m.name,
        status: m.status,
        error: m.error,
        message: "string",
        allow: m.status === 405 ? ALLOWED_METHODS[m.url] : undefined,
        bytes: Math.min(r.body.length, 9_999),
      });
    }
    // What inject cannot send (broken HTTP framing) goes over a real socket; the answer has the
    // same {error, message} JSON body as every other error.
    const url = await service.listen({ port: 0 });
    for (const m of RAW_MALFORMED_REQUESTS) {
      const answer = await sendRaw(url, m.raw);
      const json = /^application\/json/.test(
        answer.headers["content-type"] ?? "",
      );
      answered.push({
        name: m.name,
        status: answer.status,
        ...(json
          ? errorOf(answer.body)
          : {
              error: `${answer.headers["content-type"] ?? "no"} content type`,
              message: "none",
            }),
        bytes: 0,
      });
      expected.push({
        name: m.name,
        status: m.status,
        error: m.error,
        message: "string",
        bytes: 0,
      });
    }
    expect(answered).toEqual(expected);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const after = await fetch(`${url}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: ids[2] }),
    });
    expect(after.status).toBe(200);
  });

  it("exposes Prometheus metrics: the lab's names, routes and statuses, the model version, never a user id", async () => {
    const r = await service.app.inject({ url: "/metrics" });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toContain("text/plain");
    const text = r.body;
    expect(text).toMatch(
      /^api_requests_total\{endpoint="\/predict",method="POST",status="200"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^api_requests_total\{endpoint="\/predict",method="POST",status="404"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^api_requests_total\{endpoint="\/predict\/batch",method="POST",status="422"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^api_request_latency_seconds_count\{endpoint="\/predict",method="POST"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^streamflow_feature_lookup_seconds_count\{kind="batch"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(/^streamflow_model_version 1$/m);
    expect(text).toMatch(
      /^streamflow_model_info\{name="streamflow_churn",version="1",stage="Production",alias="",run_id="[0-9a-f]+"\} 1$/m,
    );
    expect(text).toMatch(
      /^streamflow_model_reloads_total\{result="success"\} 1$/m,
    );
    expect(text).toMatch(/^streamflow_database_up 1$/m);
    for (const id of [...ids, noNetUser, "NOPE-00000"])
      expect(text).not.toContain(id);
  });

  it("publishes an OpenAPI document of every route", async () => {
    const doc = (await service.app.inject({ url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/features/{user_id}",
      "/health",
      "/metrics",
      "/predict",
      "/predict/batch",
      "/ready",
    ]);
    expect(doc.paths["/predict"]!["post"]).toMatchObject({
      responses: { 200: {}, 404: {}, 503: {} },
    });
  });

  it("requires the bearer token on /predict* and /features* when one is set, and never logs it", async () => {
    const token = "tok-" + "x".repeat(40);
    const logs: string[] = [];
    const { pino } = await import("pino");
    const logger = pino(
      { level: "debug" },
      { write: (s: string) => logs.push(s) },
    );
    const secured = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
      apiToken: token,
      logger,
    });
    try {
      const predict = (headers: Record<string, string>) =>
        secured.app.inject({
          method: "POST",
          url: "/predict",
          payload: JSON.stringify({ user_id: ids[0] }),
          headers: { "content-type": "application/json", ...headers },
        });
      for (const authorization of [
        undefined,
        "",
        `Bearer ${token}x`,
        `Basic ${token}`,
        token,
        "Bearer ",
      ]) {
        const r = await predict(
          authorization === undefined ? {} : { authorization },
        );
        expect(r.statusCode, String(authorization)).toBe(401);
        expect(r.headers["www-authenticate"]).toContain("Bearer");
        expect(r.json()).toMatchObject({ error: "unauthorized" });
      }
      expect(
        (await predict({ authorization: `Bearer ${token}` })).statusCode,
      ).toBe(200);
      expect(
        (await secured.app.inject({ url: `/features/${ids[0]}` })).statusCode,
      ).toBe(401);
      expect(
        (
          await secured.app.inject({
            url: `/features/${ids[0]}`,
            headers: { authorization: `Bearer ${token}` },
          })
        ).statusCode,
      ).toBe(200);
      const batch = await secured.app.inject({
        method: "POST",
        url: "/predict/batch",
        payload: "{}",
        headers: { "content-type": "application/json" },
      });
      expect(batch.statusCode).toBe(401);
      for (const open of ["/health", "/ready", "/metrics", "/openapi.json"])
        expect((await secured.app.inject({ url: open })).statusCode, open).toBe(
          200,
        );
      expect(logs.length).toBeGreaterThan(0);
      expect(logs.join("")).not.toContain(token);
    } finally {
      await secured.close();
    }
  });

  it("starts without a model, answers 503 with Retry-After, and picks the model up once the alias exists", async () => {
    const waiting = await createPredictionService({
      db,
      registry,
      modelUri: "models:/streamflow_churn@champion",
      reloadIntervalMs: 0,
    });
    try {
      const before = await waiting.app.inject({
        method: "POST",
        url: "/predict",
        payload: JSON.stringify({ user_id: ids[0] }),
        headers: { "content-type": "application/json" },
      });
      expect(before.statusCode).toBe(503);
      expect(before.headers["retry-after"]).toBeDefined();
      expect(before.json()).toMatchObject({ error: "model_unavailable" });
      const ready = await waiting.app.inject({ url: "/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json<{ reasons: string[] }>().reasons.join("\n")).toContain(
        "models:/streamflow_churn@champion",
      );
      await registry.setRegisteredModelAlias({
        name: "streamflow_churn",
        alias: "champion",
        version: "1",
      });
      expect(await waiting.reload()).toBe("loaded");
      const after = await waiting.app.inject({
        method: "POST",
        url: "/predict",
        payload: JSON.stringify({ user_id: ids[0] }),
        headers: { "content-type": "application/json" },
      });
      expect(after.statusCode).toBe(200);
      expect(after.json()).toMatchObject({
        model: { version: "1", alias: "champion" },
      });
      expect((await waiting.app.inject({ url: "/ready" })).statusCode).toBe(
        200,
      );
    } finally {
      await waiting.close();
    }
  });

  it("finishes in-flight requests on close, then refuses new connections", async () => {
    const closing = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
    });
    const url = await closing.listen({ port: 0 });
    const batch = JSON.stringify({
      user_ids: Array.from({ length: 1000 }, (_, i) => ids[i % ids.length]),
    });
    let received = 0;
    closing.app.server.on("request", () => received++);
    const inFlight = Array.from({ length: 20 }, () =>
      fetch(`${url}/predict/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: batch,
      }),
    );
    // In flight = received by the server; a connection with no request on it yet is idle and closed.
    while (received < inFlight.length)
      await new Promise((r) => setImmediate(r));
    const closed = closing.close();
    const statuses = await Promise.all(
      inFlight.map(async (p) => (await p).status),
    );
    await closed;
    expect(statuses).toEqual(statuses.map(() => 200));
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it("reuses a user's features for the cache ttl only, and reads every time with a ttl of 0", async () => {
    const user = ids[5]!;
    const fee = async (svc: PredictionService) =>
      (
        await svc.app.inject({
          method: "POST",
          url: "/predict",
          payload: JSON.stringify({ user_id: user }),
          headers: { "content-type": "application/json" },
        })
      ).json<{ features_used: { monthly_fee: number } }>().features_used
        .monthly_fee;
    const cached = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
      featureCacheTtlMs: 400,
    });
    const uncached = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
      featureCacheTtlMs: 0,
    });
    const original = (await getOnlineFeatures(db, [user]))[0]!.values[
      "monthly_fee"
    ] as number;
    try {
      expect(await fee(cached)).toBe(original);
      // What a materialize of a newer month does to this user's row.
      await db.execute(
        "UPDATE online_user_features SET monthly_fee = $2 WHERE user_id = $1",
        [user, original + 1000],
      );
      expect(await fee(cached)).toBe(original);
      expect(await fee(uncached)).toBe(original + 1000);
      await new Promise((r) => setTimeout(r, 450));
      expect(await fee(cached)).toBe(original + 1000);
      const metrics = (await cached.app.inject({ url: "/metrics" })).body;
      expect(metrics).toMatch(
        /^streamflow_feature_cache_total\{result="hit"\} 1$/m,
      );
      expect(metrics).toMatch(
        /^streamflow_feature_cache_total\{result="miss"\} 2$/m,
      );
    } finally {
      await db.execute(
        "UPDATE online_user_features SET monthly_fee = $2 WHERE user_id = $1",
        [user, original],
      );
      await cached.close();
      await uncached.close();
    }
  });

  it("answers every request while materialize rebuilds and swaps the online table, then serves the new one", async () => {
    const uncached = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
      featureCacheTtlMs: 0,
    });
    const ask = async (i: number) =>
      (
        await uncached.app.inject({
          method: "POST",
          url: "/predict",
          payload: JSON.stringify({ user_id: ids[i % ids.length] }),
          headers: { "content-type": "application/json" },
        })
      ).statusCode;
    try {
      // Prepared reads first: the swap must not leave them on the table it drops.
      expect(await ask(0)).toBe(200);
      const before = await getOnlineFeatures(db, ids);
      let done = false;
      const statuses: number[] = [];
      const load = (async () => {
        for (let i = 0; !done; i++) statuses.push(await ask(i));
      })();
      const result = await materialize({
        db,
        asOf: parseCalendarDay("2024-02-29"),
      });
      done = true;
      await load;
      expect(result.views.every((v) => v.keptNewer === 0)).toBe(true);
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((code) => code !== 200)).toEqual([]);
      expect(await ask(1)).toBe(200);
      expect(await getOnlineFeatures(db, ids)).toEqual(before);
    } finally {
      await uncached.close();
    }
  });

  it("answers 503 database_error, not 500, when the online store cannot be read", async () => {
    // On PostgreSQL, connections of its own: none has the online read prepared from before the table
    // went away. (PGlite is one instance per directory; it prepares nothing.)
    const own =
      testDb.url === undefined
        ? db
        : await openFeatureStore({ url: testDb.url, pool: SERVING_POOL });
    const broken = await createPredictionService({
      db: own,
      registry,
      reloadIntervalMs: 0,
      featureCacheTtlMs: 0,
    });
    await db.exec(
      "ALTER TABLE online_user_features RENAME TO online_user_features_moved",
    );
    try {
      const r = await broken.app.inject({
        method: "POST",
        url: "/predict",
        payload: JSON.stringify({ user_id: ids[0] }),
        headers: { "content-type": "application/json" },
      });
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json()).toMatchObject({ error: "database_error" });
      expect(r.headers["retry-after"]).toBeDefined();
      const ready = await broken.app.inject({ url: "/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json<{ reasons: string[] }>().reasons.join("\n")).toMatch(
        /online store/,
      );
    } finally {
      await db.exec(
        "ALTER TABLE online_user_features_moved RENAME TO online_user_features",
      );
      await broken.close();
      if (own !== db) await own.close();
    }
  });

  // Last: it moves Production to version 2.
  it("hot-reloads a newly promoted version under concurrent load with zero failed requests", async () => {
    const polling = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 200,
    });
    const url = await polling.listen({ port: 0 });
    const seen: { version: string; at: number }[] = [];
    const failures: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await fetch(`${url}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ user_id: ids[(w * 7 + i) % ids.length] }),
          });
          const body = await json(r);
          if (r.status !== 200)
            failures.push(`${r.status} ${JSON.stringify(body)}`);
          else
            seen.push({
              version: (body["model"] as { version: string }).version,
              at: performance.now(),
            });
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    try {
      const load = Promise.all([0, 1, 2, 3].map(worker));
      await new Promise((r) => setTimeout(r, 300));
      await cli(
        "promote",
        "--version",
        "2",
        "--stage",
        "Production",
        "--archive-existing",
      );
      const promotedAt = performance.now();
      const deadline = Date.now() + 15_000;
      while (polling.currentModel()?.version !== "2" && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await load;
      expect(failures).toEqual([]);
      expect(polling.currentModel()).toMatchObject({
        version: "2",
        stage: "Production",
      });
      expect(seen.filter((s) => s.version === "1").length).toBeGreaterThan(0);
      const v2 = seen.filter((s) => s.version === "2");
      expect(v2.length).toBeGreaterThan(0);
      // Once version 2 answered, a version-1 answer may only come from a request already in flight.
      const firstV2 = v2[0]!.at;
      expect(
        seen.filter((s) => s.version === "1" && s.at > firstV2 + 100),
      ).toEqual([]);
      expect(firstV2 - promotedAt).toBeLessThan(5_000);
      const metrics = (await polling.app.inject({ url: "/metrics" })).body;
      expect(metrics).toMatch(
        /^streamflow_model_reloads_total\{result="success"\} 2$/m,
      );
      expect(metrics).toMatch(/^streamflow_model_version 2$/m);
    } finally {
      stop = true;
      await polling.close();
    }
  });

  it("refuses a model file that does not hash to the sha256 its run recorded", async () => {
    const version = await registry.getModelVersion("streamflow_churn", "1");
    // The local registry keeps artifacts as plain files: corrupt one as a bad disk or a hand edit would.
    const file = join(
      home,
      "registry",
      "runs",
      version.runId!,
      "artifacts",
      "model",
      "model.json",
    );
    await writeFile(
      file,
      (await readFile(file, "utf8")).replace('"seed":', '"seed": '),
    );
    const strict = await createPredictionService({
      db,
      registry,
      modelUri: "models:/streamflow_churn/1",
      reloadIntervalMs: 0,
    });
    try {
      expect(strict.currentModel()).toBeUndefined();
      const ready = await strict.app.inject({ url: "/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json<{ reasons: string[] }>().reasons.join("\n")).toMatch(
        /model\.json of models:\/streamflow_churn\/1 hashes to [0-9a-f]{64}, but its run recorded [0-9a-f]{64}/,
      );
      const r = await strict.app.inject({
        method: "POST",
        url: "/predict",
        payload: JSON.stringify({ user_id: ids[0] }),
        headers: { "content-type": "application/json" },
      });
      expect(r.statusCode).toBe(503);
    } finally {
      await strict.close();
    }
  });
});

describe("streamflow serve when the MLflow registry goes away", () => {
  let work: string;
  let mlflow: MlflowServer;
  let db: Database;
  let registry: Registry;
  let service: PredictionService;
  /** As `streamflow serve` sets it up: its registry settings, polling every 300 ms. */
  let polling: { registry: Registry; service: PredictionService };
  let userId: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sf-serve-mlflow-"));
    mlflow = await startMlflowServer({ line: "2" });
    const env = {
      STREAMFLOW_HOME: join(work, "home"),
      STREAMFLOW_DATABASE_URL: undefined,
      MLFLOW_TRACKING_URI: mlflow.url,
    };
    const cli = async (...argv: string[]) =>
      expect((await runCli(argv, env, work)).exitCode, argv.join(" ")).toBe(0);
    await cli(
      "generate-data",
      "--users",
      "800",
      "--months",
      "1",
      "--out",
      join(work, "data"),
    );
    await cli(
      "ingest",
      "--month-dir",
      join(work, "data", "month_000"),
      "--as-of",
      "2024-01-31",
    );
    await cli("materialize", "--as-of", "2024-01-31");
    await cli("train", "--as-of", "2024-01-31", "--n-estimators", "15");
    await cli("promote", "--latest", "--stage", "Production");
    userId = (await readCsv(join(work, "data", "month_000", "users.csv")))[0]![
      "user_id"
    ]!;
    db = await openFeatureStore({ dataDir: join(work, "home", "pgdata") });
    // No retries: the test is about what the server does once the registry is gone, not how long it waits.
    registry = createMlflowClient({
      trackingUri: mlflow.url,
      maxRetries: 0,
      timeoutMs: 2_000,
    });
    service = await createPredictionService({
      db,
      registry,
      reloadIntervalMs: 0,
    });
    const servingRegistry = createMlflowClient({
      trackingUri: mlflow.url,
      ...SERVING_REGISTRY,
    });
    polling = {
      registry: servingRegistry,
      service: await createPredictionService({
        db,
        registry: servingRegistry,
        reloadIntervalMs: 300,
      }),
    };
  });

  afterAll(async () => {
    await polling?.service.close();
    await polling?.registry.close();
    await service?.close();
    await db?.close();
    await registry?.close();
    await mlflow?.stop();
  });

  it("keeps serving the model it has, says so in /ready and /metrics, and /ready follows each failed poll", async () => {
    const predict = () =>
      service.app.inject({
        method: "POST",
        url: "/predict",
        payload: JSON.stringify({ user_id: userId }),
        headers: { "content-type": "application/json" },
      });
    const before = await predict();
    expect(before.statusCode, before.body).toBe(200);
    expect(await service.reload()).toBe("unchanged");
    const registryState = async () =>
      (await polling.service.app.inject({ url: "/ready" })).json<{
        registry: { reachable: boolean | null; last_check_at: string | null };
      }>().registry;
    expect((await registryState()).reachable).toBe(true);
    await mlflow.stop();
    // A server set up as `streamflow serve` does says the registry is unreachable from the first
    // poll that fails: one poll interval (300 ms) plus a refused connection and its immediate
    // retry. With the backoff of the CLI's other commands, it took over 4 s.
    const stopped = Date.now();
    let state = await registryState();
    while (state.reachable !== false && Date.now() - stopped < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      state = await registryState();
    }
    expect({
      reachable: state.reachable,
      withinTwoSeconds: Date.now() - stopped < 2_000,
    }).toEqual({ reachable: false, withinTwoSeconds: true });
    // And each failed poll refreshes it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const later = await registryState();
    expect(later.reachable).toBe(false);
    expect(Date.parse(later.last_check_at!)).toBeGreaterThan(
      Date.parse(state.last_check_at!),
    );
    expect(await service.reload()).toBe("failed");
    const during = await predict();
    expect(during.statusCode).toBe(200);
    expect(during.json<{ churn_probability: number }>().churn_probability).toBe(
      before.json<{ churn_probability: number }>().churn_probability,
    );
    const ready = await service.app.inject({ url: "/ready" });
    // Serving the last good model is what the service is for; /ready stays 200 and reports the registry.
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      ready: true,
      model: { version: "1" },
      registry: { reachable: false },
    });
    expect(
      ready.json<{ registry: { last_error: string } }>().registry.last_error,
    ).toMatch(/\S/);
    const metrics = (await service.app.inject({ url: "/metrics" })).body;
    expect(metrics).toMatch(/^streamflow_registry_reachable 0$/m);
    expect(metrics).toMatch(
      /^streamflow_model_reloads_total\{result="failure"\} 1$/m,
    );
    expect(metrics).toMatch(/^streamflow_model_version 1$/m);
  });
});

describe("streamflow serve with refused registry credentials", () => {
  it("fails at start with REGISTRY_AUTH instead of polling forever", async () => {
    // A server that refuses every call, as MLflow behind an auth proxy does with a wrong token.
    const refusing = createServer((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error_code: "UNAUTHENTICATED", message: "bad token" }),
      );
    });
    await new Promise<void>((resolve) =>
      refusing.listen(0, "127.0.0.1", resolve),
    );
    const db = await openFeatureStore({});
    const registry = createMlflowClient({
      trackingUri: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`,
      token: "wrong",
      maxRetries: 0,
    });
    try {
      await expect(
        createPredictionService({ db, registry, reloadIntervalMs: 0 }),
      ).rejects.toMatchObject({ code: "REGISTRY_AUTH" });
    } finally {
      await registry.close();
      await db.close();
      refusing.close();
    }
  });
});

const labMissing = labDataMissingReason();

describe.skipIf(labMissing !== undefined)(
  `streamflow serve on the lab data${labMissing ? ` — SKIPPED: ${labMissing}` : ""}`,
  () => {
    it("predicts 7469-LKBCI (net_service = No, NULL streaming plans), which the lab rejected as missing features", async () => {
      const work = await mkdtemp(join(tmpdir(), "sf-serve-lab-"));
      const env = {
        STREAMFLOW_HOME: join(work, "home"),
        STREAMFLOW_DATABASE_URL: undefined,
        MLFLOW_TRACKING_URI: undefined,
      };
      const cli = async (...argv: string[]) =>
        expect((await runCli(argv, env, work)).exitCode, argv.join(" ")).toBe(
          0,
        );
      await cli(
        "ingest",
        "--month-dir",
        join(labDataDir(), "month_000"),
        "--as-of",
        "2024-01-31",
      );
      await cli(
        "ingest",
        "--month-dir",
        join(labDataDir(), "month_001"),
        "--as-of",
        "2024-02-29",
      );
      await cli("materialize", "--as-of", "2024-02-29");
      await cli("train", "--as-of", "2024-01-31", "--n-estimators", "20");
      await cli("promote", "--latest", "--stage", "Production");
      const db = await openFeatureStore({
        dataDir: join(work, "home", "pgdata"),
      });
      const registry = createLocalRegistry({
        root: join(work, "home", "registry"),
      });
      const service = await createPredictionService({
        db,
        registry,
        reloadIntervalMs: 0,
      });
      try {
        const r = await service.app.inject({
          method: "POST",
          url: "/predict",
          payload: JSON.stringify({ user_id: "7469-LKBCI" }),
          headers: { "content-type": "application/json" },
        });
        expect(r.statusCode, r.body).toBe(200);
        const body = r.json<{
          churn_probability: number;
          features_used: Record<string, unknown>;
        }>();
        expect(body.features_used).toMatchObject({
          net_service: "No",
          plan_stream_tv: null,
          plan_stream_movies: null,
        });
        expect(body.churn_probability).toBeGreaterThanOrEqual(0);
        expect(body.churn_probability).toBeLessThanOrEqual(1);
        // The lab's own example user answers too.
        expect(
          (
            await service.app.inject({
              method: "POST",
              url: "/predict",
              payload: JSON.stringify({ user_id: "7590-VHVEG" }),
              headers: { "content-type": "application/json" },
            })
          ).statusCode,
        ).toBe(200);
      } finally {
        await service.close();
        await db.close();
        await registry.close();
      }
    });
  },
);
