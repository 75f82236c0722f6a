import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FeaturesError } from "../errors.ts";
import { checkDatabaseUrl } from "./connection-string.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { storeLayout, type StoreLayout } from "../layout.ts";
import type { FeatureRepository } from "../repository/feature-repository.ts";
import { LAB_REPOSITORY } from "../repository/lab-repository.ts";

export { redactDatabaseUrl } from "./connection-string.ts";

export type Row = Record<string, unknown>;

/** COPY text in pieces; async when it is produced while being loaded. */
export type ChunkSource = Iterable<string> | AsyncIterable<string>;

export interface QueryOptions {
  /**
   * Prepared-statement name: PostgreSQL parses and plans the statement once per connection instead
   * of on every call. For hot queries only (the serving read); one name, one SQL text.
   */
  name?: string;
}

/** What every query site needs, inside or outside a transaction. */
export interface SqlExecutor {
  query<TRow extends Row = Row>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<TRow[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Multi-statement SQL without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Bulk-loads rows given in COPY text format (tab-separated, `\N` for NULL, LF-terminated). */
  copyIn(
    table: string,
    columns: readonly string[],
    chunks: ChunkSource,
  ): Promise<void>;
}

/** A connection to the StreamFlow database: a pooled PostgreSQL server or an embedded PGlite. */
export interface Database extends SqlExecutor {
  readonly kind: "postgres" | "pglite";
  /** Where the data lives, safe to print: `PostgreSQL at host:port/database` or the PGlite directory. */
  readonly location: string;
  /** The tables and columns of the feature repository this connection reads and writes. */
  readonly layout: StoreLayout;
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://` or `postgresql://` URL of a server; when absent, the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory; undefined keeps the embedded database in memory. */
  dataDir?: string | undefined;
  /** PostgreSQL pool tuning; a long-running server wants more connections and shorter waits than a command. */
  pool?: PoolOptions | undefined;
  /** The feature repository the store holds; the lab's when absent. */
  repository?: FeatureRepository | undefined;
}

export interface PoolOptions {
  /** Connections at most. @default 4 */
  max?: number | undefined;
  /** How long to wait for a connection before the query fails as DATABASE_UNAVAILABLE. @default 5000 */
  connectionTimeoutMs?: number | undefined;
  /** Server-side statement_timeout of every connection; unset = none. */
  statementTimeoutMs?: number | undefined;
  /**
   * Client-side limit on a query, for a server that stops answering without refusing (a network
   * partition), where statement_timeout cannot fire. Unset = none.
   */
  queryTimeoutMs?: number | undefined;
}

export async function openDatabase(
  options: OpenDatabaseOptions,
): Promise<Database> {
  const layout = storeLayout(options.repository ?? LAB_REPOSITORY);
  if (options.url !== undefined) {
    return openPostgres(options.url, options.pool ?? {}, layout);
  }
  return openPglite(options.dataDir, layout);
}

// Dates travel as 'YYYY-MM-DD' text: pg's default parser turns them into local-time Date objects,
// which shifts the day in any timezone west of UTC.
const DATE_OID = 1082;
const pgTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary"): unknown =>
    oid === DATE_OID
      ? (v: string) => v
      : (pg.types.getTypeParser(
          oid,
          format,
        ) as unknown)) as typeof pg.types.getTypeParser,
};

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "ETIMEDOUT",
  "ECONNRESET",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "57P01", // admin shutdown
  "57P03", // cannot connect now (starting up)
  "3D000", // database does not exist
  "28P01", // password authentication failed
  "28000", // no pg_hba.conf entry
  "53300", // too many connections
  "57P02", // crash shutdown: the server is restarting
]);

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // Class 08 is "connection exception" as a whole.
  if (
    typeof code === "string" &&
    (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))
  )
    return true;
  const message = error instanceof Error ? error.message : "";
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|not queryable/i.test(
    message,
  );
}

function unavailable(location: string, error: unknown): FeaturesError {
  const reason = error instanceof Error ? error.message : String(error);
  return new FeaturesError(
    "DATABASE_UNAVAILABLE",
    `cannot use ${location}: ${reason}`,
    {
      cause: error,
      hint: "Check that the server is running and the URL (STREAMFLOW_DATABASE_URL or --database-url) is right; unset it to use the embedded database.",
    },
  );
}

function wrapPgError(location: string, error: unknown): unknown {
  return isUnavailable(error) ? unavailable(location, error) : error;
}

class PgExecutor implements SqlExecutor {
  readonly #client: pg.ClientBase | pg.Pool;
  readonly #location: string;
  // One connection runs one statement at a time: callers that overlap (a load running behind a
  // reader) queue here instead of inside pg, which deprecates concurrent client.query calls.
  #tail: Promise<unknown> = Promise.resolve();
  constructor(client: pg.ClientBase | pg.Pool, location: string) {
    this.#client = client;
    this.#location = location;
  }
  #serial<T>(work: () => Promise<T>): Promise<T> {
    // A pool hands each statement its own connection: queueing there would serialise every caller.
    if (this.#client instanceof pg.Pool) {
      return work().catch((error: unknown) => {
        throw wrapPgError(this.#location, error);
      });
    }
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      throw wrapPgError(this.#location, error);
    });
  }
  query<TRow extends Row = Row>(
    sql: string,
    params: readonly unknown[] = [],
    options: QueryOptions = {},
  ): Promise<TRow[]> {
    const config = {
      text: sql,
      values: params as unknown[],
      ...(options.name === undefined ? {} : { name: options.name }),
    };
    return this.#serial(
      async () => (await this.#client.query<TRow>(config)).rows,
    );
  }
  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.#serial(
      async () =>
        (await this.#client.query(sql, params as unknown[])).rowCount ?? 0,
    );
  }
  exec(sql: string): Promise<void> {
    return this.#serial(async () => {
      await this.#client.query(sql);
    });
  }
  copyIn(
    table: string,
    columns: readonly string[],
    chunks: ChunkSource,
  ): Promise<void> {
    if (this.#client instanceof pg.Pool)
      throw new Error("copyIn needs a transaction client");
    const client = this.#client;
    return this.#serial(async () => {
      const stream = client.query(
        copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`),
      );
      await pipeline(Readable.from(chunks), stream);
    });
  }
}

async function openPostgres(
  url: string,
  tuning: PoolOptions,
  layout: StoreLayout,
): Promise<Database> {
  // Checked before pg sees it: pg crashes on some malformed URLs and quotes none of them safely.
  const { location } = checkDatabaseUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: tuning.max ?? 4,
    connectionTimeoutMillis: tuning.connectionTimeoutMs ?? 5_000,
    ...(tuning.statementTimeoutMs === undefined
      ? {}
      : { statement_timeout: tuning.statementTimeoutMs }),
    ...(tuning.queryTimeoutMs === undefined
      ? {}
      : { query_timeout: tuning.queryTimeoutMs }),
    application_name: "streamflow",
    types: pgTypes,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", () => undefined);
  const root = new PgExecutor(pool, location);
  // Fail fast with a clear message instead of on the first real statement.
  await root.query("SELECT 1");
  return {
    kind: "postgres",
    location,
    layout,
    query: (sql, params, options) => root.query(sql, params, options),
    execute: (sql, params) => root.execute(sql, params),
    exec: (sql) => root.exec(sql),
    copyIn: async (table, columns, chunks) => {
      await withClient(pool, location, (tx) =>
        tx.copyIn(table, columns, chunks),
      );
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return withClient(pool, location, async (tx, client) => {
        await tx.exec("BEGIN");
        try {
          const result = await fn(tx);
          await tx.exec("COMMIT");
          return result;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        }
      });
    },
    close: () => pool.end(),
  };
}

async function withClient<T>(
  pool: pg.Pool,
  location: string,
  fn: (tx: SqlExecutor, client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw wrapPgError(location, error);
  }
  let broken: Error | undefined;
  try {
    return await fn(new PgExecutor(client, location), client);
  } catch (error) {
    if (
      isUnavailable(error) ||
      (error instanceof FeaturesError && error.code === "DATABASE_UNAVAILABLE")
    ) {
      broken = error instanceof Error ? error : new Error(String(error));
    }
    throw error;
  } finally {
    // A client whose connection died must not go back to the pool.
    client.release(broken);
  }
}

type PgliteLike = Pick<PGlite, "query" | "exec">;

class PgliteExecutor implements SqlExecutor {
  readonly #db: PgliteLike;
  constructor(db: PgliteLike) {
    this.#db = db;
  }
  async query<TRow extends Row = Row>(
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<TRow[]> {
    const result = await this.#db.query<TRow>(sql, params as unknown[]);
    return result.rows;
  }
  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    const result = await this.#db.query(sql, params as unknown[]);
    return result.affectedRows ?? 0;
  }
  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }
  async copyIn(
    table: string,
    columns: readonly string[],
    chunks: ChunkSource,
  ): Promise<void> {
    // PGlite reads COPY input from a virtual file; batching keeps the blob (and WASM heap) small.
    const BATCH_BYTES = 32 * 1024 * 1024;
    let batch: string[] = [];
    let size = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await this.#db.query(
        `COPY ${table} (${columns.join(", ")}) FROM '/dev/blob'`,
        [],
        {
          blob: new Blob(batch),
        },
      );
      batch = [];
      size = 0;
    };
    for await (const chunk of chunks) {
      batch.push(chunk);
      size += chunk.length;
      if (size >= BATCH_BYTES) await flush();
    }
    await flush();
  }
}

async function openPglite(
  dataDir: string | undefined,
  layout: StoreLayout,
): Promise<Database> {
  const unlock =
    dataDir === undefined
      ? () => Promise.resolve()
      : await lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    await unlock();
    throw error;
  }
  const root = new PgliteExecutor(db);
  return {
    kind: "pglite",
    layout,
    location:
      dataDir === undefined
        ? "embedded PGlite (in memory)"
        : `embedded PGlite at ${dataDir}`,
    query: (sql, params) => root.query(sql, params),
    execute: (sql, params) => root.execute(sql, params),
    exec: (sql) => root.exec(sql),
    copyIn: (table, columns, chunks) => root.copyIn(table, columns, chunks),
    transaction: (fn) => db.transaction((tx) => fn(new PgliteExecutor(tx))),
    close: async () => {
      try {
        await db.close();
      } finally {
        await unlock();
      }
    },
  };
}
