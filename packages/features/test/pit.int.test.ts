import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { monthFixture, TEST_ENGINES, writeMonth } from "@streamflow/test-utils";
import {
  buildDataset,
  checkOnline,
  FeaturesError,
  getOnlineFeatures,
  ingestMonth,
  loadDataset,
  materialize,
  type Database,
} from "@streamflow/features";
import { day, withStore } from "./with-store.ts";

/**
 * Three months: u1 in every month; u2 skips March (a gap: falls back to February); u3 only from
 * April (after the cutoff: must not leak). Values encode the month so leaks are visible.
 */
async function ingestHistory(db: Database, dir: string): Promise<void> {
  const jan = monthFixture([
    { id: "u1", watch: 1.5, churn: false },
    { id: "u2", watch: 10.25, net: "No", churn: true },
  ]);
  const feb = monthFixture([
    { id: "u1", watch: 2.5, churn: true },
    { id: "u2", watch: 20.25, net: "No", churn: false },
  ]);
  const mar = monthFixture([
    { id: "u1", watch: 3.5, rebuffer: 7, churn: false },
  ]);
  const apr = monthFixture([
    { id: "u1", watch: 4.5, churn: true },
    { id: "u3", watch: 99, churn: true },
  ]);
  for (const [name, month, asOf] of [
    ["jan", jan, "2024-01-31"],
    ["feb", feb, "2024-02-29"],
    ["mar", mar, "2024-03-31"],
    ["apr", apr, "2024-04-30"],
  ] as const) {
    await ingestMonth({
      db,
      monthDir: await writeMonth(join(dir, name), month),
      asOf: day(asOf),
    });
  }
}

describe.each(TEST_ENGINES)("point-in-time dataset on %s", (engine) => {
  it("takes each user's latest snapshot <= as_of, falls back over gaps and never leaks later snapshots", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const ds = await loadDataset({ db, asOf: day("2024-03-31") });
      expect(ds.userIds).toEqual(["u1", "u2"]); // u3 first appears in April: after the cutoff
      const watch =
        ds.features[
          ds.featureColumns.findIndex((c) => c.name === "watch_hours_30d")
        ]!;
      const rebuffer =
        ds.features[
          ds.featureColumns.findIndex((c) => c.name === "rebuffer_events_7d")
        ]!;
      expect(watch).toEqual([3.5, 20.25]); // u2 has no March row: February's value
      expect(rebuffer).toEqual([7, 1]);
      expect(Array.from(ds.labels)).toEqual([0, 0]); // u1 March label, u2 February label
      const tv =
        ds.features[
          ds.featureColumns.findIndex((c) => c.name === "plan_stream_tv")
        ]!;
      expect(tv).toEqual([true, null]); // net_service No: a NULL that stays NULL
    });
  });

  it("uses label snapshots of --label-as-of, independently of the feature date", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const early = await loadDataset({ db, asOf: day("2024-01-31") });
      const later = await loadDataset({
        db,
        asOf: day("2024-01-31"),
        labelAsOf: day("2024-02-29"),
      });
      expect(Array.from(early.labels)).toEqual([0, 1]);
      expect(Array.from(later.labels)).toEqual([1, 0]);
      expect(later.features).toEqual(early.features);
      expect(later.fingerprint).not.toBe(early.fingerprint);
    });
  });

  it("honours a view's ttl: a snapshot older than the cutoff minus the ttl is not used", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const ds = await loadDataset({
        db,
        asOf: day("2024-03-31"),
        ttlDays: { usage_agg_30d_fv: 30 },
      });
      const watch =
        ds.features[
          ds.featureColumns.findIndex((c) => c.name === "watch_hours_30d")
        ]!;
      const fee =
        ds.features[
          ds.featureColumns.findIndex((c) => c.name === "monthly_fee")
        ]!;
      expect(watch).toEqual([3.5, null]); // u2's latest usage is February 29: 31 days before the cutoff
      expect(fee).toEqual([29.85, 29.85]); // other views keep no lower bound
      const inclusive = await loadDataset({
        db,
        asOf: day("2024-03-31"),
        ttlDays: { usage_agg_30d_fv: 31 },
      });
      expect(
        inclusive.features[
          ds.featureColumns.findIndex((c) => c.name === "watch_hours_30d")
        ],
      ).toEqual([3.5, 20.25]);
      await expect(
        loadDataset({ db, asOf: day("2024-03-31"), ttlDays: { nope_fv: 1 } }),
      ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });
  });

  it("refuses a date before any data with NO_DATA_AS_OF", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const error = await loadDataset({ db, asOf: day("2023-12-31") }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FeaturesError);
      expect((error as FeaturesError).code).toBe("NO_DATA_AS_OF");
      expect((error as FeaturesError).hint).toContain("2024-01-31");
    });
  });

  it("writes CSV and Parquet whose fingerprint is the in-memory one", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      const csv = await buildDataset({
        db,
        asOf: day("2024-02-29"),
        out: join(dir, "train.csv"),
      });
      const parquet = await buildDataset({
        db,
        asOf: day("2024-02-29"),
        out: join(dir, "train.parquet"),
      });
      const memory = await loadDataset({ db, asOf: day("2024-02-29") });
      expect(csv.rows).toBe(2);
      expect(parquet.fingerprint).toBe(csv.fingerprint);
      expect(memory.fingerprint).toBe(csv.fingerprint);
      const text = await readFile(csv.out, "utf8");
      expect(text.split("\n")[0]).toBe(csv.columns.join(","));
      expect(text.split("\n")[2]).toBe(
        "u2,12,29.85,true,,,No,20.25,29.14104464084511,2,3,1,0,0,16,false",
      );
    });
  });
});

describe.each(TEST_ENGINES)("online store on %s", (engine) => {
  it("serves the latest snapshot <= as_of and never moves a user back to older values", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      await materialize({ db, asOf: day("2024-03-31") });
      const older = await materialize({ db, asOf: day("2024-01-31") });
      expect(
        older.views.find((v) => v.featureView === "usage_agg_30d_fv"),
      ).toMatchObject({
        written: 0,
        keptNewer: 2,
        materializedAsOf: "2024-03-31",
      });
      const [u1, u2, u3] = await getOnlineFeatures(db, ["u1", "u2", "u3"]);
      expect(u1!.values["watch_hours_30d"]).toBe(3.5);
      expect(u2!.values["watch_hours_30d"]).toBe(20.25);
      expect(u2!.asOf["usage_agg_30d_fv"]).toBe("2024-02-29");
      expect(u2!.statuses["plan_stream_tv"]).toBe("NULL_VALUE");
      expect(u2!.statuses["net_service"]).toBe("PRESENT");
      expect(u3!.found).toBe(false);
      expect(u3!.statuses["watch_hours_30d"]).toBe("NOT_FOUND");

      await materialize({ db, asOf: day("2024-04-30") });
      const [u1Later] = await getOnlineFeatures(db, ["u1"]);
      expect(u1Later!.values["watch_hours_30d"]).toBe(4.5);
    });
  });

  it("reports coverage per view, counting stored NULLs as covered", async () => {
    await withStore(engine, async (db, dir) => {
      await ingestHistory(db, dir);
      await materialize({ db, asOf: day("2024-03-31") });
      const all = await checkOnline({ db });
      expect(all.users).toBe(3); // u3 is in the users table (April) but not online as of March
      expect(all.ok).toBe(false);
      const profile = all.views.find(
        (v) => v.featureView === "subs_profile_fv",
      )!;
      expect(profile.coverage).toBeCloseTo(2 / 3);
      expect(profile.statuses).toEqual({
        PRESENT: 10,
        NULL_VALUE: 2,
        NOT_FOUND: 6,
      });
      const chosen = await checkOnline({
        db,
        userIds: ["u1", "u2"],
        minCoverage: 1,
      });
      expect(chosen.ok).toBe(true);
      const sample = await checkOnline({ db, sample: 2, minCoverage: 0 });
      expect(sample.users).toBe(2);
    });
  });
});
