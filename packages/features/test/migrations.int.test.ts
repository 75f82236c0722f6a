import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { createTestDatabase, TEST_ENGINES } from "@streamflow/test-utils";
import { MIGRATIONS } from "../src/internal/migrations.ts";
import {
  FEATURE_VIEWS,
  LABEL_SNAPSHOT,
  LATEST_SCHEMA_VERSION,
  migrate,
  openDatabase,
  SOURCE_FILES,
  type ColumnType,
  type Database,
} from "@streamflow/features";

const LEGACY_LAB_TABLES = new URL(
  "./fixtures/lab-tables-before-repositories.sql",
  import.meta.url,
);

/** Every column, primary key and index of the current schema, as text that compares whole. */
async function catalog(db: Database): Promise<string[]> {
  const columns = await db.query<{ line: string }>(
    `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' #' || ordinal_position AS line
     FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  const indexes = await db.query<{ line: string }>(
    "SELECT indexname || ' ' || indexdef AS line FROM pg_indexes WHERE schemaname = current_schema()",
  );
  return [...columns, ...indexes].map((r) => r.line).sort();
}

async function legacyLabStore(url: string | undefined): Promise<Database> {
  const db = await openDatabase({ url });
  // The store as StreamFlow <= F8 left it: migrations 1-5 applied, migration 1 with the lab's tables.
  await db.exec(
    "CREATE TABLE streamflow_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
  );
  for (const m of MIGRATIONS.filter((x) => x.version <= 5)) {
    await db.exec(m.sql);
    if (m.version === 1)
      await db.exec(await readFile(LEGACY_LAB_TABLES, "utf8"));
    await db.execute(
      "INSERT INTO streamflow_schema_migrations (version, name) VALUES ($1, $2)",
      [m.version, m.name],
    );
  }
  return db;
}

const SQL_TYPE: Record<ColumnType, string> = {
  text: "text",
  date: "date",
  boolean: "boolean",
  integer: "integer",
  double: "double precision",
};

describe.each(TEST_ENGINES)("migrations on %s", (engine) => {
  it("create tables that match the declared schema, and are idempotent", async () => {
    await using target = await createTestDatabase(engine);
    const db = await openDatabase({ url: target.url });
    try {
      expect(await migrate(db)).toMatchObject({
        applied: [1, 2, 3, 4, 5, 6],
        version: LATEST_SCHEMA_VERSION,
        repository: { change: "created", hash: db.layout.hash },
      });
      expect(await migrate(db)).toMatchObject({
        applied: [],
        version: LATEST_SCHEMA_VERSION,
        repository: { change: "unchanged", added: [], dropped: [] },
      });
      const columns = await db.query<{
        table_name: string;
        column_name: string;
        data_type: string;
        is_nullable: string;
      }>(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = current_schema()",
      );
      const typeOf = (table: string, column: string) =>
        columns.find((c) => c.table_name === table && c.column_name === column);
      for (const file of SOURCE_FILES) {
        expect(typeOf(file.name, "user_id")?.data_type).toBe("text");
        for (const col of file.columns) {
          expect(
            typeOf(file.name, col.name),
            `${file.name}.${col.name}`,
          ).toMatchObject({
            data_type: SQL_TYPE[col.type],
            is_nullable: col.nullable ? "YES" : "NO",
          });
        }
        expect(columns.filter((c) => c.table_name === file.name)).toHaveLength(
          file.columns.length + 1,
        );
      }
      for (const snap of [
        ...FEATURE_VIEWS.map((v) => ({
          table: v.snapshotTable,
          features: v.features,
        })),
        {
          table: LABEL_SNAPSHOT.snapshotTable,
          features: [LABEL_SNAPSHOT.column],
        },
      ]) {
        for (const col of snap.features) {
          expect(
            typeOf(snap.table, col.name)?.data_type,
            `${snap.table}.${col.name}`,
          ).toBe(SQL_TYPE[col.type]);
        }
        expect(typeOf(snap.table, "as_of")?.data_type).toBe("date");
      }
      for (const view of FEATURE_VIEWS) {
        for (const col of view.features)
          expect(typeOf("online_user_features", col.name)?.data_type).toBe(
            SQL_TYPE[col.type],
          );
        expect(
          typeOf("online_user_features", `${view.name}_as_of`)?.data_type,
        ).toBe("date");
      }
    } finally {
      await db.close();
    }
  });

  it("brings a version-1 database to the latest version without touching its data, adding the predictions, drift-report and pipeline-run tables", async () => {
    await using target = await createTestDatabase(engine);
    const db = await openDatabase({ url: target.url });
    try {
      // A database as the first release left it: migration 1 applied and recorded, some data in it.
      await db.exec(MIGRATIONS.find((m) => m.version === 1)!.sql);
      await db.exec(await readFile(LEGACY_LAB_TABLES, "utf8"));
      await db.exec(
        "CREATE TABLE streamflow_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
      );
      await db.execute(
        "INSERT INTO streamflow_schema_migrations (version, name) VALUES (1, 'v1')",
      );
      await db.execute(
        "INSERT INTO labels_snapshots (user_id, as_of, churn_label) VALUES ('u1', '2024-01-31', true)",
      );

      expect(await migrate(db)).toMatchObject({
        applied: [2, 3, 4, 5, 6],
        version: 6,
        // Recorded as the lab's, its tables left as they were.
        repository: { change: "unchanged", hash: db.layout.hash },
      });
      expect(
        await db.query("SELECT hash, declaration FROM feature_repository"),
      ).toEqual([
        { hash: db.layout.hash, declaration: expect.any(Object) as unknown },
      ]);
      expect(
        await db.query(
          "SELECT user_id, as_of::text AS as_of, churn_label FROM labels_snapshots",
        ),
      ).toEqual([{ user_id: "u1", as_of: "2024-01-31", churn_label: true }]);
      const columns = await db.query<{
        column_name: string;
        data_type: string;
        is_nullable: string;
      }>(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'churn_predictions' ORDER BY ordinal_position",
      );
      expect(
        columns.map(
          (c) =>
            `${c.column_name} ${c.data_type}${c.is_nullable === "NO" ? " not null" : ""}`,
        ),
      ).toEqual([
        "user_id text not null",
        "as_of date not null",
        "model_name text not null",
        "model_version text not null",
        "p_churn double precision not null",
        "label smallint not null",
        "threshold double precision not null",
        "run_id text",
        "scored_at timestamp with time zone not null",
      ]);
      const insert =
        "INSERT INTO churn_predictions VALUES ('u1', '2024-01-31', 'm', '1', 0.5, $1, 0.5, NULL, now())";
      await expect(db.execute(insert, [2])).rejects.toThrow(/check/i);
      expect(await db.execute(insert, [1])).toBe(1);
      await expect(db.execute(insert, [0])).rejects.toThrow(
        /duplicate key|unique/i,
      );
      // Migration 4: a step status outside the closed set is refused.
      await expect(
        db.execute(
          "INSERT INTO pipeline_runs (run_id, as_of, step, position, status) VALUES ('r', '2024-01-31', 'ingest', 0, 'half-done')",
        ),
      ).rejects.toThrow(/check/i);
    } finally {
      await db.close();
    }
  });

  it("generates, for the lab's repository, exactly the tables migration 1 created before repositories, and records older stores as the lab's", async () => {
    await using fresh = await createTestDatabase(engine);
    await using old = await createTestDatabase(engine);
    const a = await openDatabase({ url: fresh.url });
    const b = await legacyLabStore(old.url);
    try {
      await migrate(a);
      const result = await migrate(b);
      expect(result.applied).toEqual([6]);
      expect(result.repository.change).toBe("unchanged");
      expect(await catalog(b)).toEqual(await catalog(a));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses a database migrated by a newer StreamFlow", async () => {
    await using target = await createTestDatabase(engine);
    const db = await openDatabase({ url: target.url });
    try {
      await migrate(db);
      await db.execute(
        "INSERT INTO streamflow_schema_migrations (version, name) VALUES (999, 'future')",
      );
      await expect(migrate(db)).rejects.toMatchObject({
        code: "DATABASE_SCHEMA_NEWER",
      });
    } finally {
      await db.close();
    }
  });
});

describe("migrations on postgres, concurrently", () => {
  it("let two processes migrate at once: one applies, the other finds nothing to do", async () => {
    await using target = await createTestDatabase("postgres");
    const a = await openDatabase({ url: target.url });
    const b = await openDatabase({ url: target.url });
    try {
      const results = await Promise.all([migrate(a), migrate(b)]);
      expect(results.map((r) => r.applied).sort()).toEqual([
        [],
        [1, 2, 3, 4, 5, 6],
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
