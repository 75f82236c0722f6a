import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@streamflow/test-utils";
import { assertBuilt, runCliProcess, spawnCli } from "./spawn-cli.ts";

// The secret scan of secret-scan.int.test.ts, on the built binary: what a user's shell and logs
// would see, stack traces and Node's own output included.

const SECRET = "Sf5BuiltBinaryPw3";
const CLEAN = {
  STREAMFLOW_HOME: undefined,
  STREAMFLOW_CONFIG: undefined,
  MLFLOW_TRACKING_URI: undefined,
  STREAMFLOW_API_TOKEN: undefined,
};

let cwd: string;
let testDb: TestDatabase;
/** The test database's URL with the password planted as a query parameter and in the user info. */
let planted: string;
let location: string;

beforeAll(async () => {
  assertBuilt();
  cwd = await mkdtemp(join(tmpdir(), "sf-secrets-e2e-"));
  testDb = await createTestDatabase("postgres");
  const u = new URL(testDb.url!);
  u.password = SECRET;
  u.searchParams.set("password", SECRET);
  planted = u.toString();
  location = `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
});

afterAll(async () => {
  await testDb?.[Symbol.asyncDispose]();
});

const run = (args: string[], url: string) =>
  runCliProcess(args, {
    cwd,
    env: {
      ...CLEAN,
      STREAMFLOW_HOME: join(cwd, "home"),
      STREAMFLOW_DATABASE_URL: url,
    },
  });

describe("the built binary never shows a database password", () => {
  it("in a working command's --json and --verbose output", async () => {
    const r = await run(["db", "migrate", "--json", "--verbose"], planted);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ database: location });
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it("when the server refuses (exit 3)", async () => {
    const refused = planted.replace(/@[^/]+\//, "@127.0.0.1:1/");
    const r = await run(
      ["materialize", "--as-of", "2024-01-31", "--json", "--verbose"],
      refused,
    );
    expect(r.code, r.stderr).toBe(3);
    expect(
      (JSON.parse(r.stdout) as { error: { code: string; message: string } })
        .error,
    ).toMatchObject({
      code: "DATABASE_UNAVAILABLE",
      message: expect.stringContaining("PostgreSQL at 127.0.0.1:1/") as unknown,
    });
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it.each([
    [
      "'#' in the password",
      (url: string) => url.replace(`:${SECRET}@`, `:${SECRET}#x@`),
    ],
    [
      "a port that is not a number",
      (url: string) => url.replace(/:(\d+)\//, ":5x/"),
    ],
  ])(
    "when the URL is malformed: %s (exit 2, no stack trace)",
    async (_what, malform) => {
      const r = await run(
        ["ingest", "--month-dir", cwd, "--as-of", "2024-01-31", "--json"],
        malform(planted),
      );
      expect(r.code, r.stderr).toBe(2);
      expect(
        (JSON.parse(r.stdout) as { error: { code: string } }).error.code,
      ).toBe("DATABASE_URL_INVALID");
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    },
  );

  it("in serve --json, its log, and GET /ready (open even with an API token)", async () => {
    const server = spawnCli(["serve", "--port", "0", "--json", "--verbose"], {
      cwd,
      env: {
        ...CLEAN,
        STREAMFLOW_HOME: join(cwd, "home"),
        STREAMFLOW_DATABASE_URL: planted,
        STREAMFLOW_API_TOKEN: "sf5-token",
      },
    });
    const deadline = Date.now() + 60_000;
    while (!server.stdout().trim().endsWith("}")) {
      if (server.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`serve did not start: ${(await server.done).stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = JSON.parse(server.stdout()) as {
      url: string;
      database: string;
    };
    expect(started.database).toBe(location);
    // No model is registered: /ready answers 503 with every reason, the database's location among them.
    const ready = await fetch(`${started.url}/ready`);
    const body = await ready.text();
    expect(body).toContain(location);
    server.child.kill("SIGTERM");
    const done = await server.done;
    expect(done.code, done.stderr).toBe(0);
    expect(body + done.stdout + done.stderr).not.toContain(SECRET);
  });
});
