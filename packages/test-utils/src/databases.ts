import { randomBytes } from "node:crypto";
import pg from "pg";

/** The engines every database test runs on. PostgreSQL is never silently left out. */
export const TEST_ENGINES = ["pglite", "postgres"] as const;
export type TestEngine = (typeof TEST_ENGINES)[number];

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Admin URL of the PostgreSQL server tests create their databases on. */
export function testServerUrl(): string {
  return process.env["STREAMFLOW_TEST_DATABASE_URL"] ?? DEFAULT_ADMIN_URL;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase extends AsyncDisposable {
  engine: TestEngine;
  /** postgres:// URL of the fresh database; undefined for PGlite. */
  url: string | undefined;
  /** PGlite data directory; undefined for PostgreSQL and for in-memory PGlite. */
  dataDir: string | undefined;
}

/**
 * A fresh, empty database for one test: its own database on the PostgreSQL server, or a PGlite
 * directory. Dropped on dispose. Fails loudly (never skips) when the server cannot be reached.
 */
export async function createTestDatabase(
  engine: TestEngine,
  dataDir?: string,
): Promise<TestDatabase> {
  if (engine === "pglite") {
    return {
      engine,
      url: undefined,
      dataDir,
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
  const admin = testServerUrl();
  const name = `sf_test_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({
    connectionString: admin,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    throw new Error(
      `PostgreSQL test server unavailable at ${admin} (${(error as Error).message}). ` +
        "Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set STREAMFLOW_TEST_DATABASE_URL.",
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    engine,
    url: withDatabase(admin, name),
    dataDir: undefined,
    async [Symbol.asyncDispose]() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
