import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseShard, type Database } from "@streamflow/features";
import {
  createLocalRegistry,
  createPendingRunStore,
  type Registry,
} from "@streamflow/registry-client";
import {
  createTestDatabase,
  TEST_ENGINES,
  type TestDatabase,
} from "@streamflow/test-utils";
import {
  parseModelTarget,
  promote,
  scoreUsers,
  trainAndRegister,
} from "@streamflow/lifecycle";
import { generatedStore, testRecipe } from "./generated-store.ts";
import { parseCalendarDay } from "@streamflow/core";

const JAN = parseCalendarDay("2024-01-31");
const FEB = parseCalendarDay("2024-02-29");
const USERS = 900;
const target = parseModelTarget("models:/churn_score/Production");

type Stored = {
  user_id: string;
  p_churn: number;
  label: number;
  model_version: string;
  threshold: number;
  run_id: string | null;
};
const stored = (db: Database, table = "churn_predictions") =>
  db.query<Stored>(
    `SELECT user_id, p_churn, label, model_version, threshold, run_id FROM ${table} ORDER BY user_id COLLATE "C"`,
  );

describe.each(TEST_ENGINES)("scoreUsers on %s", (engine) => {
  let work: string;
  let testDb: TestDatabase;
  let db: Database;
  let registry: Registry;

  beforeAll(async () => {
    testDb = await createTestDatabase(engine);
    ({ work, db } = await generatedStore({
      prefix: "sf-score-",
      users: USERS,
      months: 2,
      seed: 11,
      url: testDb.url,
    }));
    registry = createLocalRegistry({ root: join(work, "registry") });
    const pendingRuns = {
      store: createPendingRunStore(join(work, "pending")),
      server: "local",
    };
    const recipe = testRecipe({ nEstimators: 12 });
    await trainAndRegister({
      db,
      registry,
      pendingRuns,
      asOf: JAN,
      recipe,
      outDir: join(work, "run"),
      experiment: "score",
      modelName: "churn_score",
    });
    await promote({
      registry,
      modelName: "churn_score",
      candidate: { version: "1" },
      stage: "Production",
    });
  });
  afterAll(async () => {
    await registry?.close();
    await db?.close();
    await testDb?.[Symbol.asyncDispose]();
  });

  it("scores every user with features at the date into the insert-only table; a rerun is a no-op", async () => {
    const first = await scoreUsers({
      db,
      registry,
      target,
      asOf: FEB,
      chunkRows: 250,
    });
    expect(first).toMatchObject({
      asOf: "2024-02-29",
      table: "churn_predictions",
      rows: USERS,
      written: USERS,
      noop: false,
      missingUsers: 0,
      threshold: 0.5,
    });
    expect(first.model).toMatchObject({ name: "churn_score", version: "1" });
    const rows = await stored(db);
    expect(rows).toHaveLength(USERS);
    expect(
      rows.every(
        (r) =>
          r.model_version === "1" &&
          r.run_id === first.model.runId &&
          r.label === (r.p_churn > 0.5 ? 1 : 0),
      ),
    ).toBe(true);
    expect(first.positiveRate).toBeCloseTo(
      rows.filter((r) => r.label === 1).length / USERS,
      12,
    );
    const sorted = rows.map((r) => r.p_churn).sort((a, b) => a - b);
    expect(first.pChurnQuantiles).toMatchObject({
      min: sorted[0],
      max: sorted[USERS - 1],
    });

    const again = await scoreUsers({ db, registry, target, asOf: FEB });
    expect(again).toMatchObject({ rows: USERS, written: 0, noop: true });
    expect(await stored(db)).toEqual(rows);
  });

  it("splits into shards whose union is the unsharded run and which never overlap", async () => {
    const whole = await stored(db);
    const seen = new Map<string, number>();
    for (let i = 0; i < 3; i++) {
      const r = await scoreUsers({
        db,
        registry,
        target,
        asOf: FEB,
        shard: parseShard(`${i}/3`),
        table: "sharded_scores",
      });
      expect(r.rows).toBeGreaterThan(0);
      expect(r.written).toBe(r.rows);
    }
    for (const row of await stored(db, "sharded_scores"))
      seen.set(row.user_id, (seen.get(row.user_id) ?? 0) + 1);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(await stored(db, "sharded_scores")).toEqual(whole);
  });

  it("writes the same predictions to a CSV file instead of the table, bit for bit", async () => {
    const out = join(work, `scores-${engine}.csv`);
    const r = await scoreUsers({ db, registry, target, asOf: FEB, out });
    expect(r).toMatchObject({
      out,
      table: undefined,
      rows: USERS,
      written: USERS,
      noop: false,
    });
    const [header, ...lines] = (await readFile(out, "utf8"))
      .trimEnd()
      .split("\n");
    expect(header).toBe(
      "user_id,as_of,model_name,model_version,p_churn,label,threshold,run_id,scored_at",
    );
    const fromFile = lines
      .map((l) => l.split(","))
      .map((c) => ({
        user_id: c[0],
        p_churn: Number(c[4]),
        label: Number(c[5]),
      }));
    expect(fromFile).toEqual(
      (await stored(db)).map((s) => ({
        user_id: s.user_id,
        p_churn: s.p_churn,
        label: s.label,
      })),
    );
  });

  it("fails with the database's own error when a write is refused mid-run, and commits nothing of the run", async () => {
    await scoreUsers({
      db,
      registry,
      target,
      asOf: JAN,
      table: "guarded_scores",
      chunkRows: 200,
    });
    await db.exec("DELETE FROM guarded_scores");
    // A trigger that refuses one user, as a constraint added by a DBA would: the third chunk fails.
    const victim = (await stored(db))[450]!.user_id;
    await db.exec(`CREATE FUNCTION refuse_victim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.user_id = '${victim}' THEN RAISE EXCEPTION 'refused %', NEW.user_id; END IF; RETURN NEW; END $$`);
    await db.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON guarded_scores FOR EACH ROW EXECUTE FUNCTION refuse_victim()",
    );
    await expect(
      scoreUsers({
        db,
        registry,
        target,
        asOf: FEB,
        table: "guarded_scores",
        chunkRows: 200,
      }),
    ).rejects.toThrow(`refused ${victim}`);
    expect(await stored(db, "guarded_scores")).toEqual([]);
  });

  it("refuses a model whose file does not match its run's checksum, writing nothing", async () => {
    const version = await registry.getModelVersion("churn_score", "1");
    const file = join(
      work,
      "registry",
      "runs",
      version.runId!,
      "artifacts",
      "model",
      "model.json",
    );
    const original = await readFile(file, "utf8");
    await writeFile(file, original.replace('"seed":', '"seed": '));
    try {
      await expect(
        scoreUsers({ db, registry, target, asOf: FEB, table: "never_written" }),
      ).rejects.toMatchObject({ code: "MODEL_INTEGRITY" });
      expect(
        await db.query(
          "SELECT 1 FROM information_schema.tables WHERE table_name = 'never_written'",
        ),
      ).toEqual([]);
    } finally {
      await writeFile(file, original);
    }
  });
});
