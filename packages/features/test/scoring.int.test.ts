import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  monthFixture,
  TEST_ENGINES,
  writeMonth,
  type FixtureUser,
  type MonthFixture,
} from "@streamflow/test-utils";
import {
  FEATURE_COLUMNS,
  ingestMonth,
  loadDataset,
  readScoringRows,
  shardBucket,
  type Database,
  type ReadScoringRowsOptions,
  type ScoringChunk,
  type Shard,
} from "@streamflow/features";
import { day, withStore } from "./with-store.ts";

type Engine = (typeof TEST_ENGINES)[number];
const column = (name: string) =>
  FEATURE_COLUMNS.findIndex((c) => c.name === name);

async function ingest(
  db: Database,
  dir: string,
  months: readonly (readonly [string, MonthFixture])[],
): Promise<void> {
  for (const [asOf, month] of months)
    await ingestMonth({
      db,
      monthDir: await writeMonth(join(dir, asOf), month),
      asOf: day(asOf),
    });
}

/** A month in which `ids` appear only in labels.csv (and users.csv): known to the store, without features. */
function withLabelOnly(
  users: FixtureUser[],
  ids: readonly string[],
): MonthFixture {
  const month = monthFixture(users);
  for (const file of [
    "subscriptions",
    "usage_agg_30d",
    "payments_agg_90d",
    "support_agg_90d",
  ]) {
    month[file] = month[file]!.filter((row) => !ids.includes(row[0]!));
  }
  return month;
}

/**
 * u1 every month; u2 skips March (falls back to February); u3 only from April (after the cutoff);
 * u4 has only a label in March: known at the cutoff, nothing to score it on.
 */
async function ingestHistory(db: Database, dir: string): Promise<void> {
  await ingest(db, dir, [
    [
      "2024-01-31",
      monthFixture([
        { id: "u1", watch: 1.5 },
        { id: "u2", watch: 10.25, net: "No", churn: true },
      ]),
    ],
    [
      "2024-02-29",
      monthFixture([
        { id: "u1", watch: 2.5 },
        { id: "u2", watch: 20.25, net: "No" },
      ]),
    ],
    [
      "2024-03-31",
      withLabelOnly(
        [{ id: "u1", watch: 3.5, rebuffer: 7 }, { id: "u4" }],
        ["u4"],
      ),
    ],
    [
      "2024-04-30",
      monthFixture([
        { id: "u1", watch: 4.5 },
        { id: "u3", watch: 99 },
      ]),
    ],
  ]);
}

/** Reads everything into one chunk-shaped object, keeping the chunk sizes seen. */
async function readAll(options: Omit<ReadScoringRowsOptions, "onChunk">) {
  const all: ScoringChunk = {
    userIds: [],
    features: FEATURE_COLUMNS.map(() => []),
  };
  const sizes: number[] = [];
  const result = await readScoringRows({
    ...options,
    onChunk(chunk) {
      sizes.push(chunk.userIds.length);
      expect(chunk.features).toHaveLength(FEATURE_COLUMNS.length);
      for (const f of chunk.features)
        expect(f).toHaveLength(chunk.userIds.length);
      all.userIds.push(...chunk.userIds);
      chunk.features.forEach((f, i) => all.features[i]!.push(...f));
    },
  });
  return { result, all, sizes };
}

describe.each(TEST_ENGINES)("readScoringRows on %s", (engine) => {
  it("scores every user with a feature row <= as_of, with the features buildDataset gives them", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const lines: string[] = [];
      const logger = {
        debug: () => undefined,
        info: (m: string) => lines.push(m),
        warn: () => undefined,
      };
      const { result, all } = await readAll({
        db,
        asOf: day("2024-03-31"),
        logger,
      });
      expect(lines.at(-1)).toBe(
        "scoring rows as of 2024-03-31, all users: 2 read, 1 known users without features",
      );
      expect(result).toMatchObject({
        asOf: "2024-03-31",
        shard: undefined,
        rows: 2,
        missingUsers: 1,
      });
      expect(result.featureColumns.map((c) => c.name)).toEqual(
        FEATURE_COLUMNS.map((c) => c.name),
      );
      expect(all.userIds).toEqual(["u1", "u2"]); // u3 appears in April: after the cutoff, not even missing
      expect(all.features[column("watch_hours_30d")]).toEqual([3.5, 20.25]); // u2: February's row, March's has none
      expect(all.features[column("rebuffer_events_7d")]).toEqual([7, 1]);
      expect(all.features[column("plan_stream_tv")]).toEqual([true, null]);

      const ds = await loadDataset({ db, asOf: day("2024-03-31") });
      expect(ds.userIds).toEqual(["u1", "u2", "u4"]); // u4 has a label, so training joins it (all NULL)
      expect(all.features).toEqual(ds.features.map((f) => f.slice(0, 2)));
    });
  });

  it("respects ttl: a view past its ttl gives NULLs, a user past every view's ttl is missing", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const ttlDays = { usage_agg_30d_fv: 30 };
      const { all } = await readAll({ db, asOf: day("2024-03-31"), ttlDays });
      const ds = await loadDataset({ db, asOf: day("2024-03-31"), ttlDays });
      expect(all.features[column("watch_hours_30d")]).toEqual([3.5, null]); // u2's usage is 31 days old
      expect(all.features).toEqual(ds.features.map((f) => f.slice(0, 2)));

      const everyView = {
        subs_profile_fv: 30,
        usage_agg_30d_fv: 30,
        payments_agg_90d_fv: 30,
        support_agg_90d_fv: 30,
      };
      const strict = await readAll({
        db,
        asOf: day("2024-03-31"),
        ttlDays: everyView,
      });
      expect(strict.all.userIds).toEqual(["u1"]);
      expect(strict.result.missingUsers).toBe(2); // u2 (stale) and u4 (label only)
      await expect(
        readAll({ db, asOf: day("2024-03-31"), ttlDays: { nope_fv: 1 } }),
      ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });
  });

  it("never uses a snapshot after as_of", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const jan = await readAll({ db, asOf: day("2024-02-28") }); // the day before February's snapshot
      expect(jan.all.userIds).toEqual(["u1", "u2"]);
      expect(jan.all.features[column("watch_hours_30d")]).toEqual([1.5, 10.25]);
      expect(jan.result.missingUsers).toBe(0);
      const apr = await readAll({ db, asOf: day("2024-04-30") });
      expect(apr.all.userIds).toEqual(["u1", "u2", "u3"]); // u4's only row is a label; u2 still on February
      expect(apr.all.features[column("watch_hours_30d")]).toEqual([
        4.5, 20.25, 99,
      ]);
      expect(apr.result.missingUsers).toBe(1); // u4: a March label and nothing else
    });
  });

  it("streams chunks of chunkRows in C-collation user order", async () => {
    await withStore(engine, async (db, dir) => {
      const ids = ["b2", "B1", "a3", "_z", "A9", "0x", "ä1"];
      await ingest(db, dir, [
        ["2024-01-31", monthFixture(ids.map((id) => ({ id })))],
      ]);
      const byCodePoint = [...ids].sort((a, b) =>
        Buffer.compare(Buffer.from(a), Buffer.from(b)),
      );
      const { all, sizes, result } = await readAll({
        db,
        asOf: day("2024-01-31"),
        chunkRows: 3,
      });
      expect(all.userIds).toEqual(byCodePoint);
      expect(sizes).toEqual([3, 3, 1]);
      expect(result.rows).toBe(7);
      const progress: number[] = [];
      await readAll({
        db,
        asOf: day("2024-01-31"),
        chunkRows: 5,
        onProgress: (e) => progress.push(e.done, e.total ?? -1),
      });
      expect(progress).toEqual([5, 7, 7, 7]);
      await expect(
        readAll({ db, asOf: day("2024-01-31"), chunkRows: 0 }),
      ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });
  });

  it("refuses a date before any snapshot (NO_DATA_AS_OF) and a bad shard (SHARD_INVALID)", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const early = readAll({ db, asOf: day("2023-12-31") });
      await expect(early).rejects.toMatchObject({
        code: "NO_DATA_AS_OF",
        hint: expect.stringContaining("2024-01-31") as unknown,
      });
      for (const shard of [
        { index: 3, count: 3 },
        { index: 0, count: 0 },
        { index: -1, count: 2 },
        { index: 0, count: 1025 },
      ]) {
        await expect(
          readAll({ db, asOf: day("2024-03-31"), shard }),
        ).rejects.toMatchObject({ code: "SHARD_INVALID" });
      }
    });
  });
});

const SHARD_USERS = Array.from(
  { length: 300 },
  (_, i) => `${String(i * 7919).padStart(4, "0")}-${"QWERTY"[i % 6]}`,
);

/** 300 users; every tenth has only a label, so missing users are sharded too. */
async function ingestShardUsers(db: Database, dir: string): Promise<void> {
  const labelOnly = SHARD_USERS.filter((_, i) => i % 10 === 0);
  await ingest(db, dir, [
    [
      "2024-01-31",
      withLabelOnly(
        SHARD_USERS.map((id) => ({ id })),
        labelOnly,
      ),
    ],
  ]);
}

async function shardedReads(db: Database, count: number) {
  const reads = [];
  for (let index = 0; index < count; index++)
    reads.push(
      await readAll({ db, asOf: day("2024-01-31"), shard: { index, count } }),
    );
  return reads;
}

describe.each(TEST_ENGINES)("shards on %s", (engine) => {
  it.each([1, 3, 7])(
    "split the users into %i disjoint shards whose union is the unsharded read, as shardBucket says",
    async (count) => {
      await withStore(engine, async (db, dir) => {
        await ingestShardUsers(db, dir);
        const whole = await readAll({ db, asOf: day("2024-01-31") });
        expect(whole.result).toMatchObject({ rows: 270, missingUsers: 30 });
        // Missing users are counted out of the fetched rows: chunks shrink, never empty, same users.
        const small = await readAll({
          db,
          asOf: day("2024-01-31"),
          chunkRows: 10,
        });
        expect(small.all).toEqual(whole.all);
        expect(small.result.missingUsers).toBe(30);
        expect(small.sizes.every((n) => n > 0 && n <= 10)).toBe(true);
        expect(small.sizes.some((n) => n < 10)).toBe(true);
        const reads = await shardedReads(db, count);
        const seen = new Map<string, number>();
        reads.forEach((r, index) => {
          expect(r.result.shard).toEqual({ index, count } satisfies Shard);
          for (const id of r.all.userIds) {
            expect(seen.has(id), `${id} in two shards`).toBe(false);
            seen.set(id, index);
            expect(shardBucket(id, count), id).toBe(index);
          }
        });
        expect([...seen.keys()].sort()).toEqual([...whole.all.userIds].sort());
        expect(reads.reduce((n, r) => n + r.result.missingUsers, 0)).toBe(30);
        // Each shard's rows carry the same features as in the unsharded read.
        for (const r of reads) {
          r.all.userIds.forEach((id, k) => {
            const at = whole.all.userIds.indexOf(id);
            expect(r.all.features.map((f) => f[k])).toEqual(
              whole.all.features.map((f) => f[at]),
            );
          });
        }
        if (count > 1) expect(reads.every((r) => r.result.rows > 0)).toBe(true);
      });
    },
  );
});

describe("shards across engines", () => {
  it("assign every user to the same shard on PGlite and PostgreSQL", async () => {
    const assignment = async (engine: Engine) =>
      withStore(engine, async (db, dir) => {
        await ingestShardUsers(db, dir);
        return (await shardedReads(db, 7)).map((r) => r.all.userIds);
      });
    const [pglite, postgres] = [
      await assignment("pglite"),
      await assignment("postgres"),
    ];
    expect(pglite.flat()).toHaveLength(270);
    expect(postgres).toEqual(pglite);
  });
});
