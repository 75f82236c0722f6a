import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createTestDatabase,
  SHOP_REPOSITORY_FILE,
  TEST_ENGINES,
} from "@streamflow/test-utils";
import {
  buildDataset,
  checkOnline,
  FeaturesError,
  generateRepositoryData,
  getOnlineFeatures,
  ingestMonth,
  loadDataset,
  materialize,
  migrate,
  openFeatureStore,
  parseFeatureRepository,
  readScoringRows,
  type FeatureRepository,
  type ValidationIssue,
} from "@streamflow/features";
import { day } from "./with-store.ts";

async function shop(): Promise<FeatureRepository> {
  return parseFeatureRepository(await readFile(SHOP_REPOSITORY_FILE, "utf8"), {
    file: SHOP_REPOSITORY_FILE,
  });
}

async function shopMonths(users = 400): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), "sf-shop-"));
  await generateRepositoryData({
    repository: await shop(),
    outDir: out,
    users,
    months: 2,
    seed: 7,
    firstAsOf: day("2024-01-31"),
  });
  return out;
}

describe("generateRepositoryData", () => {
  it("writes each source in its declared file and format, deterministically by seed, within every declared rule", async () => {
    const a = await shopMonths(300);
    const b = await shopMonths(300);
    for (const file of [
      "accounts.csv",
      "orders.parquet",
      "engagement.csv",
      "outcomes.csv",
    ])
      for (const month of ["month_000", "month_001"])
        expect(
          (await readFile(join(a, month, file))).equals(
            await readFile(join(b, month, file)),
          ),
          `${month}/${file}`,
        ).toBe(true);
    const accounts = (await readFile(join(a, "month_000/accounts.csv"), "utf8"))
      .trim()
      .split("\n");
    expect(accounts[0]).toBe("account_no,region,opened_on,plan_tier");
    expect(accounts).toHaveLength(301);
    // The entity's own table is a profile: the same in every month.
    expect(await readFile(join(a, "month_001/accounts.csv"), "utf8")).toBe(
      accounts.join("\n") + "\n",
    );
    // Other sources move from month to month.
    expect(
      await readFile(join(a, "month_000/engagement.csv"), "utf8"),
    ).not.toBe(await readFile(join(a, "month_001/engagement.csv"), "utf8"));
  });
});

describe("generateRepositoryData on awkward declarations", () => {
  const TINY = `version: 1
entity: { name: box, join_key: box_id, max_key_length: 2 }
sources:
  - name: boxes
    columns:
      - { name: motto, type: text, allowed: ["a, b", 'say "hi"', plain] }
  - name: fates
    columns:
      - { name: lost, type: boolean }
feature_views:
  - { name: box_fv, source: boxes, features: [motto] }
label: { source: fates, column: lost }
`;
  const repository = parseFeatureRepository(TINY, { file: "tiny.yaml" });

  it("quotes allowed values holding commas and quotes, so its months ingest", async () => {
    const out = await mkdtemp(join(tmpdir(), "sf-tiny-"));
    await generateRepositoryData({
      repository,
      outDir: out,
      users: 60,
      months: 1,
      seed: 3,
      firstAsOf: day("2024-01-31"),
    });
    const db = await openFeatureStore({ repository });
    try {
      const r = await ingestMonth({
        db,
        monthDir: join(out, "month_000"),
        asOf: day("2024-01-31"),
      });
      expect(r.rows).toEqual({ boxes: 60, fates: 60 });
      const mottos = await db.query<{ motto: string }>(
        "SELECT DISTINCT motto FROM boxes ORDER BY motto",
      );
      expect(mottos.map((m) => m.motto)).toEqual(
        expect.arrayContaining(["a, b", 'say "hi"']),
      );
    } finally {
      await db.close();
    }
  });

  it("refuses more entities than max_key_length can key", async () => {
    const out = await mkdtemp(join(tmpdir(), "sf-tiny-"));
    await expect(
      generateRepositoryData({
        repository,
        outDir: out,
        users: 101,
        months: 1,
        seed: 3,
        firstAsOf: day("2024-01-31"),
      }),
    ).rejects.toThrow(
      /101 entities need keys of 3 characters, more than max_key_length 2/,
    );
  });
});

describe.each(TEST_ENGINES)("a second repository's store on %s", (engine) => {
  it("ingests two generated months (CSV and Parquet), builds a point-in-time dataset, materializes and checks the online store", async () => {
    const repository = await shop();
    const months = await shopMonths();
    await using target = await createTestDatabase(engine);
    const db = await openFeatureStore({ url: target.url, repository });
    try {
      const tables = await db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
      );
      const names = tables.map((t) => t.table_name);
      expect(names).toEqual(
        expect.arrayContaining([
          "accounts",
          "orders",
          "engagement",
          "outcomes",
          "accounts_snapshots",
          "orders_snapshots",
          "engagement_history",
          "outcomes_snapshots",
          "online_account_features",
        ]),
      );
      // None of the lab's tables: the store holds this repository's, only.
      expect(names).not.toContain("users");
      expect(names).not.toContain("online_user_features");

      const first = await ingestMonth({
        db,
        monthDir: join(months, "month_000"),
        asOf: day("2024-01-31"),
      });
      expect(first.rows).toEqual({
        accounts: 400,
        orders: 400,
        engagement: 400,
        outcomes: 400,
      });
      expect(first.snapshotRows).toEqual({
        accounts_snapshots: 400,
        orders_snapshots: 400,
        engagement_history: 400,
        outcomes_snapshots: 400,
      });
      await ingestMonth({
        db,
        monthDir: join(months, "month_001"),
        asOf: day("2024-02-29"),
      });
      // Re-ingesting the same content is a no-op, Parquet included.
      expect(
        (
          await ingestMonth({
            db,
            monthDir: join(months, "month_001"),
            asOf: day("2024-02-29"),
          })
        ).noop,
      ).toBe(true);

      const ds = await loadDataset({ db, asOf: day("2024-02-29") });
      expect(ds.featureColumns.map((c) => `${c.name}:${c.type}`)).toEqual([
        "region:text",
        "plan_tier:text",
        "orders_90d:integer",
        "avg_basket_eur:double",
        "last_discount:double",
        "app_sessions_30d:integer",
        "newsletter:boolean",
        "survey_score:integer",
      ]);
      expect(ds.userIds).toHaveLength(400);
      expect([...ds.userIds].sort()).toEqual(ds.userIds);
      const positives = ds.labels.reduce((a, b) => a + b, 0);
      expect(positives).toBeGreaterThan(40);
      expect(positives).toBeLessThan(360);
      const discount = ds.features[4]!;
      expect(discount.some((v) => v === null)).toBe(true);
      expect(
        discount.every(
          (v) => v === null || (typeof v === "number" && v >= 0 && v <= 1),
        ),
      ).toBe(true);

      // The ttl: April 30 is 61 days after the last orders snapshot, beyond its 45 days.
      const late = await loadDataset({ db, asOf: day("2024-04-30") });
      expect(late.features[2]!.every((v) => v === null)).toBe(true);
      expect(late.features[5]!.every((v) => v !== null)).toBe(true);

      const out = join(months, "train.csv");
      const built = await buildDataset({ db, asOf: day("2024-02-29"), out });
      expect(built.columns[0]).toBe("account_no");
      expect(built.columns.at(-1)).toBe("cancelled");
      expect(built.fingerprint).toBe(ds.fingerprint);
      expect((await readFile(out, "utf8")).split("\n")[0]).toBe(
        built.columns.join(","),
      );

      const online = await materialize({ db, asOf: day("2024-02-29") });
      expect(online.views.map((v) => [v.featureView, v.written])).toEqual([
        ["account_profile", 400],
        ["order_stats", 400],
        ["engagement_stats", 400],
      ]);
      const check = await checkOnline({ db, sample: 50 });
      expect(check).toMatchObject({ ok: true, users: 50 });
      const key = ds.userIds[0]!;
      const [row] = await getOnlineFeatures(db, [key]);
      expect(row!.found).toBe(true);
      expect(Object.keys(row!.values)).toEqual(
        ds.featureColumns.map((c) => c.name),
      );
      expect(row!.values["region"]).toBe(ds.features[0]![0]);
      expect(row!.asOf["order_stats"]).toBe("2024-02-29");

      let scored = 0;
      const read = await readScoringRows({
        db,
        asOf: day("2024-02-29"),
        onChunk: (chunk) => {
          scored += chunk.userIds.length;
        },
      });
      expect(read).toMatchObject({ rows: 400, missingUsers: 0 });
      expect(scored).toBe(400);
    } finally {
      await db.close();
    }
  });

  it("refuses a Parquet or CSV value that breaks a declared rule, naming file, line, column, value and rule, and writes nothing", async () => {
    const repository = await shop();
    const months = await shopMonths(20);
    const dir = join(months, "month_000");
    const { default: pl } = await import("nodejs-polars");
    const orders = pl.readParquet(join(dir, "orders.parquet"));
    // Row 3 (line 5, as if the file were a CSV with a header): a basket above its max of 250.
    const baskets = orders.getColumn("avg_basket_eur").toArray() as number[];
    baskets[3] = 999.5;
    orders
      .withColumn(pl.Series("avg_basket_eur", baskets, pl.Float64))
      .writeParquet(join(dir, "orders.parquet"));
    const accounts = (await readFile(join(dir, "accounts.csv"), "utf8")).split(
      "\n",
    );
    accounts[2] = accounts[2]!.replace(/,(north|south|east|west),/, ",mars,");
    accounts[4] = accounts[4]!.replace(/,[^,]*$/, ",platinum_plus");
    await writeFile(join(dir, "accounts.csv"), accounts.join("\n"));
    const engagement = (
      await readFile(join(dir, "engagement.csv"), "utf8")
    ).split("\n");
    const cells = engagement[6]!.split(",");
    cells[2] = "";
    engagement[6] = cells.join(",");
    await writeFile(join(dir, "engagement.csv"), engagement.join("\n"));

    await using target = await createTestDatabase(engine);
    const db = await openFeatureStore({ url: target.url, repository });
    try {
      const error = (await ingestMonth({
        db,
        monthDir: dir,
        asOf: day("2024-01-31"),
      }).catch((e: unknown) => e)) as FeaturesError;
      expect(error).toBeInstanceOf(FeaturesError);
      expect(error.code).toBe("INPUT_INVALID");
      const issues = (error.details as { errors: ValidationIssue[] }).errors;
      const brief = issues.map((i) => [i.file, i.line, i.column, i.rule]);
      expect(brief).toEqual(
        expect.arrayContaining([
          ["accounts.csv", 3, "region", "allowed"],
          ["accounts.csv", 5, "plan_tier", "max_length"],
          ["orders.parquet", 5, "avg_basket_eur", "max"],
          ["engagement.csv", 7, "newsletter", "not_null"],
        ]),
      );
      expect(issues.find((i) => i.rule === "max")!.value).toBe("999.5");
      expect(issues.find((i) => i.rule === "allowed")!.message).toBe(
        "must be one of 'north', 'south', 'east', 'west'",
      );
      expect(
        await db.query("SELECT count(*)::int AS n FROM accounts_snapshots"),
      ).toEqual([{ n: 0 }]);
      expect(
        await db.query("SELECT count(*)::int AS n FROM ingestions"),
      ).toEqual([{ n: 0 }]);
    } finally {
      await db.close();
    }
  });

  it("migrates a changed repository additively, keeping old snapshots readable, and refuses a destructive change unless allowed", async () => {
    const repository = await shop();
    const months = await shopMonths(50);
    // PGlite in a directory: the store must outlive each connection.
    await using target = await createTestDatabase(
      engine,
      join(months, "pgdata"),
    );
    const open = (repo: FeatureRepository, allowDestructive = false) =>
      openFeatureStore({
        url: target.url,
        dataDir: target.dataDir,
        repository: repo,
        allowDestructive,
      });
    const text = await readFile(SHOP_REPOSITORY_FILE, "utf8");
    let db = await open(repository);
    await ingestMonth({
      db,
      monthDir: join(months, "month_000"),
      asOf: day("2024-01-31"),
    });
    const before = await loadDataset({ db, asOf: day("2024-01-31") });
    await db.close();

    // Additive: a nullable column on an existing source, served by its view.
    const grown = parseFeatureRepository(
      text
        .replace(
          "      - { name: survey_score, type: integer, min: 0, max: 10, nullable: true }",
          "      - { name: survey_score, type: integer, min: 0, max: 10, nullable: true }\n      - { name: referrals, type: integer, min: 0, nullable: true }",
        )
        .replace(
          "features: [app_sessions_30d, newsletter, survey_score]",
          "features: [app_sessions_30d, newsletter, survey_score, referrals]",
        ),
      { file: "grown.yaml" },
    );
    db = await open(grown);
    try {
      const again = await migrate(db);
      expect(again.repository.change).toBe("unchanged");
      const old = await loadDataset({ db, asOf: day("2024-01-31") });
      expect(old.featureColumns.map((c) => c.name)).toContain("referrals");
      expect(old.features.at(-1)!.every((v) => v === null)).toBe(true);
      expect(old.features.slice(0, -1)).toEqual(before.features);
      expect(old.labels).toEqual(before.labels);
    } finally {
      await db.close();
    }

    // Destructive: dropping the orders source (and its view) would lose its rows.
    const shrunk = parseFeatureRepository(
      text
        .replace(/ {2}- name: orders\n(.*\n){5}/, "")
        .replace(/ {2}- name: order_stats\n(.*\n){3}/, ""),
      { file: "shrunk.yaml" },
    );
    const refused = (await open(shrunk).catch(
      (e: unknown) => e,
    )) as FeaturesError;
    expect(refused).toBeInstanceOf(FeaturesError);
    expect(refused.code).toBe("REPOSITORY_CHANGE_DESTRUCTIVE");
    expect(refused.message).toContain("table orders (source) and its rows");
    expect(refused.message).toContain("table orders_snapshots (view snapshot)");
    expect(refused.message).toContain(
      "column online_account_features.orders_90d",
    );
    // Nothing changed: the original repository still opens as it was.
    db = await open(grown);
    expect(
      await db.query("SELECT count(*)::int AS n FROM orders_snapshots"),
    ).toEqual([{ n: 50 }]);
    await db.close();

    db = await open(shrunk, true);
    try {
      expect(
        await db.query(
          "SELECT to_regclass('orders')::text AS t, to_regclass('orders_snapshots')::text AS s",
        ),
      ).toEqual([{ t: null, s: null }]);
      const ds = await loadDataset({ db, asOf: day("2024-01-31") });
      expect(ds.featureColumns.map((c) => c.name)).not.toContain("orders_90d");
      expect(ds.userIds).toEqual(before.userIds);
    } finally {
      await db.close();
    }
  });

  it("does not take a month ingested under another repository for a no-op: the same files reload with replace", async () => {
    const text = await readFile(SHOP_REPOSITORY_FILE, "utf8");
    const months = await shopMonths(30);
    await using target = await createTestDatabase(
      engine,
      join(months, "pgdata"),
    );
    const open = (repo: FeatureRepository) =>
      openFeatureStore({
        url: target.url,
        dataDir: target.dataDir,
        repository: repo,
      });
    const month = {
      monthDir: join(months, "month_000"),
      asOf: day("2024-01-31"),
    };
    // First without last_discount among the view's features (the files hold the column all along).
    const narrow = parseFeatureRepository(
      text.replace(
        "features: [orders_90d, avg_basket_eur, last_discount]",
        "features: [orders_90d, avg_basket_eur]",
      ),
      { file: "narrow.yaml" },
    );
    let db = await open(narrow);
    await ingestMonth({ db, ...month });
    expect((await ingestMonth({ db, ...month })).noop).toBe(true);
    await db.close();

    db = await open(await shop());
    try {
      const conflict = (await ingestMonth({ db, ...month }).catch(
        (e: unknown) => e,
      )) as FeaturesError;
      expect(conflict.code).toBe("SNAPSHOT_CONFLICT");
      expect(conflict.message).toContain("under another feature repository");
      expect(conflict.hint).toContain("--replace");
      const nulls = () =>
        db.query(
          "SELECT count(*)::int AS n FROM orders_snapshots WHERE last_discount IS NULL",
        );
      expect(await nulls()).toEqual([{ n: 30 }]);
      const reloaded = await ingestMonth({ db, ...month, replace: true });
      expect(reloaded).toMatchObject({ noop: false, replaced: true });
      // The generator leaves about 8% of a nullable column empty; the rest now arrive.
      expect((await nulls())[0]!["n"]).toBeLessThan(15);
      expect((await ingestMonth({ db, ...month })).noop).toBe(true);
    } finally {
      await db.close();
    }
  });
});
