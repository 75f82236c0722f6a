import { describe, expect, it } from "vitest";
import { monthFixture, TEST_ENGINES, writeMonth } from "@streamflow/test-utils";
import {
  countPredictions,
  FeaturesError,
  ingestMonth,
  preparePredictionsTable,
  readScoringRows,
  writePredictions,
  type SqlExecutor,
  type WritePredictionsOptions,
} from "@streamflow/features";
import { day, withStore } from "./with-store.ts";

const MODEL = { name: "streamflow_churn", version: "3", runId: "9f2c" };
const SCORED_AT = new Date("2024-04-02T10:11:12.345Z");

/** Doubles whose shortest decimal spelling is long, subnormal, or one ulp from a neighbour. */
const AWKWARD = [
  0,
  1,
  0.1 + 0.2,
  1 / 3,
  2 / 3,
  5e-324,
  2.2250738585072014e-308,
  1 - 2 ** -53,
  0.5 + 2 ** -53,
  0.49999999999999994,
  1e-300,
  Math.PI / 4,
];

function predictions(
  n: number,
  offset = 0,
): Pick<WritePredictionsOptions, "userIds" | "pChurn" | "labels"> {
  const userIds = Array.from(
    { length: n },
    (_, i) => `user-${String(i + offset).padStart(6, "0")}`,
  );
  // Deterministic, full-precision values: (i * golden ratio) mod 1 uses all 53 bits.
  const pChurn = Float64Array.from(
    userIds,
    (_, i) => ((i + offset) * 0.6180339887498949) % 1,
  );
  pChurn.set(AWKWARD.slice(0, Math.min(n, AWKWARD.length)));
  return {
    userIds,
    pChurn,
    labels: Uint8Array.from(pChurn, (p) => (p > 0.5 ? 1 : 0)),
  };
}

/** The options every write here shares: one model version, scored at one instant. */
const scoring = (db: SqlExecutor, asOf = "2024-03-31") => ({
  db,
  asOf: day(asOf),
  model: MODEL,
  threshold: 0.5,
  scoredAt: SCORED_AT,
});

const bits = (values: ArrayLike<number>) =>
  Array.from(new BigUint64Array(Float64Array.from(values).buffer), String);

describe.each(TEST_ENGINES)("writePredictions on %s", (engine) => {
  it("stores p_churn bit for bit and every column as given", async () => {
    await withStore(engine, async (db) => {
      const given = predictions(AWKWARD.length);
      const result = await writePredictions({
        ...scoring(db),
        ...given,
      });
      expect(result).toEqual({ rows: AWKWARD.length, written: AWKWARD.length });
      const stored = await db.query<Record<string, unknown>>(
        `SELECT user_id, as_of::text AS as_of, model_name, model_version, p_churn, label, threshold, run_id,
                to_char(scored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS scored_at
         FROM churn_predictions ORDER BY user_id`,
      );
      expect(bits(stored.map((r) => r["p_churn"] as number))).toEqual(
        bits(AWKWARD),
      );
      expect(stored.map((r) => r["label"])).toEqual(Array.from(given.labels));
      expect(stored[0]).toMatchObject({
        user_id: "user-000000",
        as_of: "2024-03-31",
        model_name: "streamflow_churn",
        model_version: "3",
        threshold: 0.5,
        run_id: "9f2c",
        scored_at: SCORED_AT.toISOString(),
      });
      await writePredictions({
        ...scoring(db),
        model: { ...MODEL, version: "4", runId: null },
        threshold: 0.25,
        ...given,
      });
      expect(
        await db.query(
          "SELECT run_id, threshold FROM churn_predictions WHERE model_version = '4' LIMIT 1",
        ),
      ).toEqual([{ run_id: null, threshold: 0.25 }]);
    });
  });

  it("makes a rerun a no-op across statements, and writes only what a partial run left out", async () => {
    await withStore(engine, async (db) => {
      const base = {
        ...scoring(db),
      };
      expect(
        await writePredictions({ ...base, ...predictions(25_000) }),
      ).toEqual({ rows: 25_000, written: 25_000 });
      expect(
        await writePredictions({
          ...base,
          ...predictions(25_000),
          scoredAt: new Date(),
        }),
      ).toEqual({ rows: 25_000, written: 0 });
      expect(
        await writePredictions({ ...base, ...predictions(30_000) }),
      ).toEqual({ rows: 30_000, written: 5_000 });
      expect(
        await countPredictions({ db, asOf: base.asOf, model: MODEL }),
      ).toBe(30_000);
      expect(
        await countPredictions({ db, asOf: day("2024-04-30"), model: MODEL }),
      ).toBe(0);
      const [{ n }] = (await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM churn_predictions WHERE scored_at = $1::timestamptz`,
        [SCORED_AT.toISOString()],
      )) as [{ n: number }];
      expect(n).toBe(30_000); // the rerun changed no row
    });
  });

  it("refuses inputs that do not fit: lengths, probabilities, labels", async () => {
    await withStore(engine, async (db) => {
      const base = {
        ...scoring(db),
        ...predictions(3),
      };
      for (const bad of [
        { pChurn: Float64Array.of(0.1, 0.2) },
        { pChurn: Float64Array.of(0.1, Number.NaN, 0.3) },
        { pChurn: Float64Array.of(0.1, 1.5, 0.3) },
        { labels: [0, 2, 1] },
        { threshold: Number.POSITIVE_INFINITY },
        { scoredAt: new Date(Number.NaN) },
        { model: { ...MODEL, version: "" } },
      ]) {
        await expect(
          writePredictions({ ...base, ...bad }),
        ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      }
      expect(
        await countPredictions({ db, asOf: base.asOf, model: MODEL }),
      ).toBe(0);
    });
  });

  it("writes through the reading transaction, so a whole shard commits at once (PGlite has one connection)", async () => {
    await withStore(engine, async (db, dir) => {
      const users = Array.from({ length: 50 }, (_, i) => ({
        id: `u${String(i).padStart(2, "0")}`,
        watch: i / 7,
      }));
      await ingestMonth({
        db,
        monthDir: await writeMonth(dir, monthFixture(users)),
        asOf: day("2024-01-31"),
      });
      const score = () =>
        readScoringRows({
          db,
          asOf: day("2024-01-31"),
          chunkRows: 20,
          async onChunk(chunk, tx) {
            const pChurn = Float64Array.from(
              chunk.features[6]!,
              (w) => (w as number) / 10,
            );
            await writePredictions({
              ...scoring(tx, "2024-01-31"),
              userIds: chunk.userIds,
              pChurn,
              labels: pChurn.map((p) => (p > 0.5 ? 1 : 0)),
            });
          },
        });
      expect((await score()).rows).toBe(50);
      expect(
        await countPredictions({ db, asOf: day("2024-01-31"), model: MODEL }),
      ).toBe(50);
      const stored = await db.query<{ p_churn: number }>(
        "SELECT p_churn FROM churn_predictions ORDER BY user_id",
      );
      expect(bits(stored.map((r) => r.p_churn))).toEqual(
        bits(users.map((u) => u.watch / 10)),
      );

      // A failure half way rolls the shard back: nothing is left to look like a finished run.
      await db.execute("DELETE FROM churn_predictions");
      let chunks = 0;
      const failing = readScoringRows({
        db,
        asOf: day("2024-01-31"),
        chunkRows: 20,
        async onChunk(chunk, tx) {
          if (++chunks === 2) throw new Error("model crashed");
          await writePredictions({
            ...scoring(tx, "2024-01-31"),
            userIds: chunk.userIds,
            pChurn: new Float64Array(chunk.userIds.length),
            labels: new Uint8Array(chunk.userIds.length),
          });
        },
      });
      await expect(failing).rejects.toThrow("model crashed");
      expect(
        await countPredictions({ db, asOf: day("2024-01-31"), model: MODEL }),
      ).toBe(0);
    });
  });
});

describe.each(TEST_ENGINES)("predictions tables on %s", (engine) => {
  it("creates another table on demand with the same shape, once", async () => {
    await withStore(engine, async (db) => {
      expect(await preparePredictionsTable({ db })).toEqual({
        table: "churn_predictions",
        created: false,
      });
      expect(
        await preparePredictionsTable({ db, table: "churn_scores_test" }),
      ).toEqual({ table: "churn_scores_test", created: true });
      expect(
        await preparePredictionsTable({ db, table: "churn_scores_test" }),
      ).toEqual({ table: "churn_scores_test", created: false });
      const base = {
        ...scoring(db),
        table: "churn_scores_test",
        ...predictions(5),
      };
      expect(await writePredictions(base)).toEqual({ rows: 5, written: 5 });
      expect(await writePredictions(base)).toEqual({ rows: 5, written: 0 }); // the key came along
      await expect(
        db.execute(
          `INSERT INTO churn_scores_test SELECT 'x', as_of, model_name, model_version, p_churn, 7, threshold, run_id, scored_at FROM churn_scores_test LIMIT 1`,
        ),
      ).rejects.toThrow(/check/i);
      expect(
        await countPredictions({ db, asOf: base.asOf, model: MODEL }),
      ).toBe(0); // the default table is untouched
      expect(
        await countPredictions({
          db,
          table: "churn_scores_test",
          asOf: base.asOf,
          model: MODEL,
        }),
      ).toBe(5);
      // A reserved word is fine: the name is quoted.
      expect(await preparePredictionsTable({ db, table: "user" })).toEqual({
        table: "user",
        created: true,
      });
    });
  });

  it("refuses a name that is not a plain identifier, and a table of another shape, with OUTPUT_INVALID", async () => {
    await withStore(engine, async (db) => {
      for (const table of [
        "",
        "Scores",
        "1scores",
        "scores;drop table users",
        'a"b',
        "public.scores",
        "s".repeat(64),
        "scöres",
      ]) {
        const error = await preparePredictionsTable({ db, table }).catch(
          (e: unknown) => e,
        );
        expect(error, table).toBeInstanceOf(FeaturesError);
        expect(error).toMatchObject({
          code: "OUTPUT_INVALID",
          details: { table },
        });
        const write = writePredictions({
          ...scoring(db),
          table,
          ...predictions(1),
        });
        await expect(write).rejects.toMatchObject({ code: "OUTPUT_INVALID" });
      }
      const unprepared = writePredictions({
        ...scoring(db),
        table: "never_prepared",
        ...predictions(1),
      });
      await expect(unprepared).rejects.toMatchObject({
        code: "OUTPUT_INVALID",
        message: expect.stringContaining("does not exist") as unknown,
      });
      expect(
        await preparePredictionsTable({ db, table: "s".repeat(63) }),
      ).toMatchObject({ created: true });
      await expect(
        preparePredictionsTable({ db, table: "users" }),
      ).rejects.toMatchObject({
        code: "OUTPUT_INVALID",
        message: expect.stringContaining("not a predictions table") as unknown,
      });
    });
  });
});

describe("predictions on postgres, concurrently", () => {
  it("let shards score in parallel transactions, and their reruns write nothing", async () => {
    await withStore("postgres", async (db, dir) => {
      const users = Array.from({ length: 300 }, (_, i) => ({ id: `p${i}` }));
      await ingestMonth({
        db,
        monthDir: await writeMonth(dir, monthFixture(users)),
        asOf: day("2024-01-31"),
      });
      const runShards = () =>
        Promise.all(
          [0, 1, 2].map(async (index) => {
            let written = 0;
            await readScoringRows({
              db,
              asOf: day("2024-01-31"),
              shard: { index, count: 3 },
              chunkRows: 40,
              async onChunk(chunk, tx) {
                const pChurn = new Float64Array(chunk.userIds.length).fill(
                  index / 4,
                );
                const labels = new Uint8Array(chunk.userIds.length);
                written += (
                  await writePredictions({
                    ...scoring(tx, "2024-01-31"),
                    userIds: chunk.userIds,
                    pChurn,
                    labels,
                  })
                ).written;
              },
            });
            return written;
          }),
        );
      const first = await runShards();
      expect(first.reduce((a, b) => a + b, 0)).toBe(300);
      expect(first.every((n) => n > 0)).toBe(true);
      expect(await runShards()).toEqual([0, 0, 0]);
      expect(
        await countPredictions({ db, asOf: day("2024-01-31"), model: MODEL }),
      ).toBe(300);
    });
  });

  it("let two workers prepare the same new table at once: one creates it", async () => {
    await withStore("postgres", async (db) => {
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          preparePredictionsTable({ db, table: "churn_scores_race" }),
        ),
      );
      expect(results.map((r) => r.created).sort()).toEqual([
        false,
        false,
        true,
      ]);
    });
  });
});
