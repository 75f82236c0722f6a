import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openFeatureStore, type Database } from "@streamflow/features";
import {
  createLocalRegistry,
  type Registry,
} from "@streamflow/registry-client";
import {
  createPredictionService,
  type PredictionService,
} from "@streamflow/serving";
import {
  startPrivatePostgres,
  type PrivatePostgres,
} from "@streamflow/test-utils";
import { SERVING_POOL } from "../src/serving.ts";
import { runCli } from "./run-cli.ts";

// "Database outage: requests get 503 during the outage and the service recovers by itself within
// seconds after." The outage is real: the test's own PostgreSQL (initdb in a temp folder, own
// port) is stopped and started again, so no other test or server is disturbed.

const RECOVERY_BUDGET_MS = 10_000;
/** The service pings the database every second while it is up (cached answers need no query). */
const DETECTION_BUDGET_MS = 2_500;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

let work: string;
let pg: PrivatePostgres | undefined;
let db: Database | undefined;
let registry: Registry | undefined;
let service: PredictionService | undefined;
let base: string;
let userIds: string[];
/** The service's JSON log lines, printed when a test fails. */
const serviceLog: string[] = [];

async function call(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
    // Longer than the pool's connection timeout: a request stuck on a dead server must show up as slow, not vanish.
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

const predict = (userId: string): Promise<Answer> =>
  call("POST", "/predict", { user_id: userId });
const metricsText = async (): Promise<string> =>
  String((await call("GET", "/metrics")).body["raw"]);
const show = (a: Answer): string => `${a.status} ${JSON.stringify(a.body)}`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sf-serve-outage-"));
  pg = await startPrivatePostgres();
  const home = join(work, "home");
  const env = {
    STREAMFLOW_HOME: home,
    STREAMFLOW_DATABASE_URL: pg.url,
    MLFLOW_TRACKING_URI: undefined,
  };
  const steps = [
    ["generate-data", "--users", "1500", "--out", join(work, "data")],
    [
      "ingest",
      "--month-dir",
      join(work, "data", "month_000"),
      "--as-of",
      "2024-01-31",
    ],
    ["materialize", "--as-of", "2024-01-31"],
    ["train", "--as-of", "2024-01-31", "--n-estimators", "20"],
    ["promote", "--latest", "--stage", "Production"],
  ];
  for (const argv of steps) {
    const run = await runCli(argv, env, work);
    expect(run.exitCode, `streamflow ${argv.join(" ")}\n${run.stderr}`).toBe(0);
  }

  // Opened as `streamflow serve` opens them (packages/cli/src/commands/serve.ts), with a faster probe.
  db = await openFeatureStore({ url: pg.url, pool: SERVING_POOL });
  registry = createLocalRegistry({ root: join(home, "registry") });
  const logger = pino(
    { level: "info" },
    { write: (line: string) => void serviceLog.push(line.trimEnd()) },
  );
  service = await createPredictionService({
    db,
    registry,
    reloadIntervalMs: 0,
    databaseProbeIntervalMs: 200,
    logger,
  });
  base = await service.listen({ port: 0 });

  const users = (
    await readFile(join(work, "data", "month_000", "users.csv"), "utf8")
  )
    .trimEnd()
    .split("\n");
  expect(users[0]?.split(",")[0]).toBe("user_id");
  userIds = users.slice(1, 4).map((line) => line.split(",")[0]!);
});

afterAll(async () => {
  // Each step on its own: one failing must not leave the server or the database behind.
  await service
    ?.close()
    .catch((e: unknown) => console.error("service.close", e));
  await db?.close().catch((e: unknown) => console.error("db.close", e));
  await registry
    ?.close()
    .catch((e: unknown) => console.error("registry.close", e));
  await pg?.destroy().catch((e: unknown) => console.error("pg.destroy", e));
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(async () => {
    const pgLog =
      pg === undefined
        ? ""
        : await readFile(pg.logFile, "utf8").catch(() => "(none)");
    console.error(
      `--- service log (last 40 lines) ---\n${serviceLog.slice(-40).join("\n")}\n` +
        `--- private PostgreSQL log (last 20 lines) ---\n${pgLog.trimEnd().split("\n").slice(-20).join("\n")}`,
    );
  });
});

describe("streamflow serve through a database outage", () => {
  const before = new Map<string, Answer>();

  it("serves predictions and is ready while the database is up", async () => {
    for (const id of userIds) {
      const answer = await predict(id);
      expect(answer.status, show(answer)).toBe(200);
      expect(answer.body["churn_probability"]).toEqual(expect.any(Number));
      before.set(id, answer);
    }
    const ready = await call("GET", "/ready");
    expect(ready.status, show(ready)).toBe(200);
    expect(await metricsText()).toMatch(/^streamflow_database_up 1$/m);
  });

  it("answers 503 database_unavailable (never 500) while the database is down, and keeps serving", async () => {
    // A client that keeps asking from before the stop to the end of the outage: requests in flight
    // when the server goes away must fail as cleanly as those arriving after.
    const background: Answer[] = [];
    let hammering = true;
    const hammer = (async () => {
      for (let i = 0; hammering; i++) {
        // A request that gets no HTTP answer at all (connection reset, timeout) is a failure too.
        background.push(
          await predict(userIds[i % userIds.length]!).catch((e: unknown) => ({
            status: 0,
            headers: new Headers(),
            body: { error: String(e) },
          })),
        );
      }
    })();

    try {
      // Let it get going, so requests are in flight at the moment the server goes away.
      while (background.length < 5)
        await new Promise((resolve) => setTimeout(resolve, 5));
      await pg!.stop();
      const stoppedAt = performance.now();

      // Cached features keep answering until the service notices the outage: its heartbeat pings
      // the database every second, so within about a second every request must get a 503.
      let first = await predict(userIds[0]!);
      while (
        first.status === 200 &&
        performance.now() - stoppedAt < DETECTION_BUDGET_MS
      )
        first = await predict(userIds[0]!);
      expect(
        first.status,
        `still ${show(first)} ${DETECTION_BUDGET_MS} ms after the stop`,
      ).toBe(503);
      console.log(
        `database outage noticed ${Math.round(performance.now() - stoppedAt)} ms after the stop`,
      );

      for (let i = 0; i < 6; i++) {
        const answer = await predict(userIds[i % userIds.length]!);
        expect(answer.status, show(answer)).toBe(503);
        expect(answer.body["error"], show(answer)).toBe("database_unavailable");
        expect(answer.headers.get("retry-after"), show(answer)).toMatch(
          /^\d+$/,
        );
      }

      const burst = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          predict(userIds[i % userIds.length]!),
        ),
      );
      expect(
        burst.map((a) => `${a.status} ${String(a.body["error"])}`),
      ).toEqual(burst.map(() => "503 database_unavailable"));

      const batch = await call("POST", "/predict/batch", { user_ids: userIds });
      expect(batch.status, show(batch)).toBe(503);
      expect(batch.body["error"], show(batch)).toBe("database_unavailable");
      expect(batch.headers.get("retry-after"), show(batch)).toMatch(/^\d+$/);

      const features = await call(
        "GET",
        `/features/${encodeURIComponent(userIds[0]!)}`,
      );
      expect(features.status, show(features)).toBe(503);
      expect(features.body["error"], show(features)).toBe(
        "database_unavailable",
      );

      const ready = await call("GET", "/ready");
      expect(ready.status, show(ready)).toBe(503);
      expect(ready.body["ready"]).toBe(false);
      expect(ready.body["reasons"], show(ready)).toEqual(
        expect.arrayContaining([expect.stringMatching(/database/i)]),
      );
      expect(ready.body["database"], show(ready)).toMatchObject({
        ok: false,
        error: expect.any(String) as unknown,
      });

      // Liveness is not readiness: an orchestrator must not restart a process that will recover on its own.
      const health = await call("GET", "/health");
      expect(health.status, show(health)).toBe(200);
      expect(await metricsText()).toMatch(/^streamflow_database_up 0$/m);
    } finally {
      hammering = false;
      await hammer;
    }

    // Before the stop the background client got 200s; after it, 503s; nothing else, and no 500 ever.
    const unexpected = background.filter(
      (a) =>
        a.status !== 200 &&
        !(a.status === 503 && a.body["error"] === "database_unavailable"),
    );
    expect(
      unexpected.map(show),
      `${background.length} background requests`,
    ).toEqual([]);
    console.log(
      `database outage: background client got ${background.filter((a) => a.status === 200).length} × 200 then ${background.filter((a) => a.status === 503).length} × 503`,
    );
    expect(background.some((a) => a.status === 503)).toBe(true);
    expect(
      serviceLog.filter((l) => l.includes('"unexpected failure"')),
    ).toEqual([]);
  });

  it(`recovers by itself within ${RECOVERY_BUDGET_MS / 1000} s of the database coming back, with the same predictions`, async () => {
    const restartStarted = performance.now();
    await pg!.start();
    const back = performance.now();

    const seen: number[] = [];
    let recovered: Answer | undefined;
    while (performance.now() - back < RECOVERY_BUDGET_MS) {
      const answer = await predict(userIds[0]!);
      seen.push(answer.status);
      if (answer.status === 200) {
        recovered = answer;
        break;
      }
      expect(answer.status, `while recovering: ${show(answer)}`).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const recoveryMs = performance.now() - back;
    console.log(
      `database outage: PostgreSQL restart took ${(back - restartStarted).toFixed(0)} ms; first 200 from /predict ` +
        `${recoveryMs.toFixed(0)} ms after it accepted connections (${seen.length} attempts: ${seen.join(" ")})`,
    );
    expect(
      recovered,
      `no 200 within ${RECOVERY_BUDGET_MS} ms; statuses ${seen.join(" ")}`,
    ).toBeDefined();

    const ready = await call("GET", "/ready");
    expect(ready.status, show(ready)).toBe(200);
    for (const id of userIds) {
      const answer = await predict(id);
      expect(answer.status, show(answer)).toBe(200);
      expect(answer.body["churn_probability"], id).toBe(
        before.get(id)!.body["churn_probability"],
      );
      expect(answer.body["model"], id).toEqual(before.get(id)!.body["model"]);
    }
    const batch = await call("POST", "/predict/batch", { user_ids: userIds });
    expect(batch.status, show(batch)).toBe(200);
  });

  it("reports the outage in /metrics: streamflow_database_up went 0 and is 1 again", async () => {
    const text = await metricsText();
    expect(text).toMatch(/^streamflow_database_up 1$/m);
    // The 503s were counted as such: an alert on them would have fired.
    expect(text).toMatch(
      /^api_requests_total\{[^}]*endpoint="\/predict"[^}]*status="503"[^}]*\} [1-9]/m,
    );
    expect(text).not.toMatch(/status="500"/);
  });
});
