import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, parseFeatureRepository } from "@streamflow/features";
import { main } from "../src/main.ts";
import {
  createTestDatabase,
  freePort,
  SHOP_REPOSITORY_FILE,
  TEST_ENGINES,
  type TestDatabase,
} from "@streamflow/test-utils";
import { runCli, type CliRun } from "./run-cli.ts";

// The whole lifecycle on a repository shaped unlike the lab's (the shop: entity account, key
// account_no, a Parquet source, a date column, a nullable double, an integer declared
// categorical, label `cancelled`, a view with a ttl), through the CLI as a user runs it.

const FEATURES = [
  "region",
  "plan_tier",
  "orders_90d",
  "avg_basket_eur",
  "last_discount",
  "app_sessions_30d",
  "newsletter",
  "survey_score",
];
const VIEWS = ["account_profile", "order_stats", "engagement_stats"];
const USERS = 800;

/** Rows of a CSV written by generate-data (no quoted commas in it). */
async function readCsv(path: string): Promise<Record<string, string>[]> {
  const [header, ...lines] = (await readFile(path, "utf8")).trim().split("\n");
  const names = header!.split(",");
  return lines.map((line) =>
    Object.fromEntries(line.split(",").map((v, i) => [names[i]!, v])),
  );
}

describe.each(TEST_ENGINES)(
  "the shop's repository through the lifecycle on %s",
  (engine) => {
    let work: string;
    let testDb: TestDatabase;
    let repository: string;
    const env = () => ({
      STREAMFLOW_HOME: join(work, "home"),
      STREAMFLOW_DATABASE_URL: testDb.url,
      STREAMFLOW_FEATURES: repository,
      STREAMFLOW_CONFIG: undefined,
      MLFLOW_TRACKING_URI: undefined,
      STREAMFLOW_API_TOKEN: undefined,
    });
    const run = (...argv: string[]) => runCli(argv, env(), work);
    const ok = async (...argv: string[]): Promise<CliRun> => {
      const r = await run(...argv, "--json");
      expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
      return r;
    };

    /** Runs `streamflow serve` on a free port around `use`, then stops it as SIGTERM would. */
    const withServer = async (use: (url: string) => Promise<void>) => {
      const port = await freePort();
      let stop: (signal: string) => void = () => undefined;
      const stopped = new Promise<string>((resolve) => (stop = resolve));
      let stdout = "";
      let stderr = "";
      const serving = main(["serve", "--port", String(port), "--json"], {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s), isTTY: false },
        env: env(),
        cwd: work,
        stopRequested: () => stopped,
      });
      const url = `http://127.0.0.1:${port}`;
      try {
        for (let i = 0; i < 200 && !stdout.includes("}"); i++)
          await new Promise((r) => setTimeout(r, 50));
        expect(stdout, stderr).toContain(url);
        await use(url);
      } finally {
        stop("SIGTERM");
        expect(await serving, stderr).toBe(0);
      }
    };

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), `sf-shop-${engine}-`));
      testDb = await createTestDatabase(engine);
      repository = join(work, "shop.features.yaml");
      await writeFile(repository, await readFile(SHOP_REPOSITORY_FILE));
    });
    afterAll(async () => {
      await testDb?.[Symbol.asyncDispose]();
    });

    it("generates, ingests two months, builds a dataset, materializes and checks the online store", async () => {
      const generated = (
        await ok(
          "generate-data",
          "--users",
          String(USERS),
          "--out",
          "data",
          "--seed",
          "11",
          "--months",
          "3",
        )
      ).json();
      expect(generated).toMatchObject({
        users: USERS,
        months: [
          { dir: "month_000", as_of: "2024-01-31" },
          { dir: "month_001", as_of: "2024-02-29" },
          { dir: "month_002", as_of: "2024-03-31" },
        ],
      });
      for (const [dir, asOf] of [
        ["month_000", "2024-01-31"],
        ["month_001", "2024-02-29"],
      ] as const) {
        const ingested = (
          await ok("ingest", "--month-dir", join("data", dir), "--as-of", asOf)
        ).json();
        expect(ingested["rows"]).toEqual({
          accounts: USERS,
          orders: USERS,
          engagement: USERS,
          outcomes: USERS,
        });
      }
      const dataset = (
        await ok("build-dataset", "--as-of", "2024-01-31", "--out", "train.csv")
      ).json();
      expect(dataset["rows"]).toBe(USERS);
      const rows = await readCsv(join(work, "train.csv"));
      expect(Object.keys(rows[0]!)).toEqual([
        "account_no",
        ...FEATURES,
        "cancelled",
      ]);
      await ok("materialize", "--as-of", "2024-02-29");
      const check = (await ok("check-online")).json();
      expect(JSON.stringify(check)).toContain("engagement_stats");
      expect(JSON.stringify(check)).not.toMatch(/user_id|churn_label/);
    });

    it("refuses every declared rule broken in CSV and Parquet with exit 4, naming file, line, column, value and rule; nothing written", async () => {
      const bad = join(work, "bad-month");
      await ok("generate-data", "--users", "20", "--out", bad, "--months", "1");
      const dir = join(bad, "month_000");
      /** Sets one CSV cell: line as the error names it (the header is line 1). */
      const setCells = async (
        file: string,
        cells: [line: number, column: string, value: string][],
      ) => {
        const lines = (await readFile(join(dir, file), "utf8")).split("\n");
        const header = lines[0]!.split(",");
        for (const [line, column, value] of cells) {
          const row = lines[line - 1]!.split(",");
          row[header.indexOf(column)] = value;
          lines[line - 1] = row.join(",");
        }
        await writeFile(join(dir, file), lines.join("\n"));
      };
      const broken = [
        ["accounts.csv", 3, "region", "mars", "allowed"],
        ["accounts.csv", 4, "plan_tier", "familyplus", "max_length"],
        ["accounts.csv", 5, "opened_on", "2024-02-30", "date"],
        ["engagement.csv", 4, "survey_score", "11", "max"],
        // min: 0 keeps the lab's rule name for it.
        ["engagement.csv", 5, "app_sessions_30d", "-3", "non_negative"],
        ["engagement.csv", 6, "app_sessions_30d", "2.5", "integer"],
        ["engagement.csv", 7, "newsletter", "maybe", "boolean"],
        ["outcomes.csv", 8, "cancelled", "", "not_null"],
        ["orders.parquet", 3, "avg_basket_eur", "4.5", "min"],
        ["orders.parquet", 6, "last_discount", "1.5", "max"],
      ] as const;
      for (const file of ["accounts.csv", "engagement.csv", "outcomes.csv"])
        await setCells(
          file,
          broken
            .filter((b) => b[0] === file)
            .map(([, line, column, value]) => [line, column, value]),
        );
      const { default: pl } = await import("nodejs-polars");
      let orders = pl.readParquet(join(dir, "orders.parquet"));
      for (const [, line, column, value] of broken.filter(
        (b) => b[0] === "orders.parquet",
      )) {
        const values = orders.getColumn(column).toArray() as number[];
        values[line - 2] = Number(value);
        orders = orders.withColumn(pl.Series(column, values, pl.Float64));
      }
      orders.writeParquet(join(dir, "orders.parquet"));

      const refused = await run(
        "ingest",
        "--month-dir",
        dir,
        "--as-of",
        "2024-03-31",
        "--json",
      );
      expect(refused.exitCode, refused.stderr).toBe(4);
      const issues = (
        refused.json()["error"] as { details: { errors: object[] } }
      ).details.errors;
      for (const [file, line, column, value, rule] of broken) {
        expect(issues).toContainEqual(
          expect.objectContaining({ file, line, column, value, rule }),
        );
      }
      expect(issues).toHaveLength(broken.length);
      // The message names the first problem and counts the rest; --json lists every one.
      expect(refused.stderr).toContain(
        "accounts.csv line 3, column region: value 'mars' must be one of",
      );
      expect(refused.stderr).toContain(`${broken.length} problems in all`);
      // Nothing of the refused month was written: no ingestion, no snapshot of its date.
      const db = await openDatabase({
        url: testDb.url,
        dataDir:
          testDb.url === undefined ? join(work, "home", "pgdata") : undefined,
        repository: parseFeatureRepository(await readFile(repository, "utf8"), {
          file: repository,
        }),
      });
      try {
        for (const table of ["ingestions", "engagement_history"])
          expect(
            await db.query(
              `SELECT count(*)::int AS n FROM ${table} WHERE as_of = '2024-03-31'`,
            ),
          ).toEqual([{ n: 0 }]);
        // The bad month's 20 accounts are keyed ACC-00..ACC-19, unlike the store's ACC-000..
        expect(
          await db.query(
            "SELECT count(*)::int AS n FROM accounts WHERE length(account_no) = 6",
          ),
        ).toEqual([{ n: 0 }]);
      } finally {
        await db.close();
      }
    });

    it("trains on the repository's features (survey_score one-hot), registers, promotes and serves them", async () => {
      const trained = (
        await ok("train", "--as-of", "2024-01-31", "--n-estimators", "20")
      ).json();
      const shown = (await ok("features", "show")).json();
      expect(trained).toMatchObject({
        model_version: "1",
        feature_repository: shown["hash"],
      });
      const schema = JSON.parse(
        await readFile(
          join(String(trained["out_dir"]), "feature_schema.json"),
          "utf8",
        ),
      ) as { categorical_cols: string[] };
      expect(schema.categorical_cols).toEqual([
        "region",
        "plan_tier",
        "survey_score",
      ]);
      await ok("promote", "--version", "1", "--stage", "Production");

      await withServer(async (url) => {
        const accounts = await readCsv(
          join(work, "data", "month_001", "accounts.csv"),
        );
        const key = accounts[5]!["account_no"]!;
        const predicted = await fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ account_no: key }),
        });
        expect(predicted.status).toBe(200);
        const body = (await predicted.json()) as Record<string, unknown>;
        expect(body["account_no"]).toBe(key);
        expect(body["churn_probability"]).toBeGreaterThanOrEqual(0);
        expect(Object.keys(body["features_used"] as object).sort()).toEqual(
          [...FEATURES].sort(),
        );
        expect(Object.keys(body["features_as_of"] as object)).toEqual(VIEWS);

        const lab = await fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user_id: key }),
        });
        expect(lab.status).toBe(422);

        const batch = await fetch(`${url}/predict/batch`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ account_nos: [key, "NOPE-1"] }),
        });
        const answers = (await batch.json()) as {
          results: Record<string, unknown>[];
        };
        expect(answers.results[0]!["account_no"]).toBe(key);
        expect(answers.results[1]).toMatchObject({
          account_no: "NOPE-1",
          error: "user_not_found",
        });

        const features = (await (
          await fetch(`${url}/features/${key}`)
        ).json()) as Record<string, unknown>;
        expect(features["account_no"]).toBe(key);
        expect(Object.keys(features["statuses"] as object).sort()).toEqual(
          [...FEATURES].sort(),
        );

        const openapi = JSON.stringify(
          await (await fetch(`${url}/openapi.json`)).json(),
        );
        for (const name of [...FEATURES, ...VIEWS, "account_no", "account_nos"])
          expect(openapi).toContain(`"${name}"`);
        expect(openapi).toContain("/features/{account_no}");
        expect(openapi).not.toMatch(/user_id|churn_label|watch_hours_30d/);
      });
    });

    it("scores every account and watches drift between the months, label and model included", async () => {
      const scored = (await ok("score", "--as-of", "2024-02-29")).json();
      expect(scored).toMatchObject({ rows: USERS, written: USERS });

      const drift = (
        await ok(
          "drift",
          "--reference",
          "2024-01-31",
          "--current",
          "2024-02-29",
          "--model-uri",
          "models:/streamflow_churn/Production",
        )
      ).json() as {
        features: { feature: string; drifted: boolean }[];
        target: { column: string };
        prediction: { column: string } | null;
        performance: { rows: number } | null;
      };
      expect(drift.features.map((f) => f.feature)).toEqual(FEATURES);
      expect(drift.target.column).toBe("cancelled");
      expect(drift.prediction?.column).toBe("p_churn");
      expect(drift.performance?.rows).toBe(USERS);
      // The entity's own table is the same every month; the generator moves the others.
      const drifted = new Set(
        drift.features.filter((f) => f.drifted).map((f) => f.feature),
      );
      expect(drifted.has("region") || drifted.has("plan_tier")).toBe(false);
      expect(drifted.size).toBeGreaterThan(0);
    });

    it("runs the monthly pipeline on the third month: ingest, materialize, check, drift, retrain, score", async () => {
      const piped = (
        await ok(
          "pipeline",
          "run",
          "--month-dir",
          join("data", "month_002"),
          "--as-of",
          "2024-03-31",
          "--retrain",
          "always",
          "--score",
        )
      ).json() as {
        steps: { step: string; status: string }[];
        scored: number | null;
      };
      expect(piped.steps.map((s) => [s.step, s.status])).toEqual([
        ["ingest", "done"],
        ["materialize", "done"],
        ["check_online", "done"],
        ["drift", "done"],
        ["retrain", "done"],
        ["score", "done"],
      ]);
      expect(piped.scored).toBe(USERS);
    });

    it("migrates a grown repository and keeps serving the older model; refuses a model whose features the store lost", async () => {
      // Additive: a new nullable column served as a feature.
      const grown = (await readFile(repository, "utf8"))
        .replace(
          "      - { name: newsletter, type: boolean }",
          "      - { name: newsletter, type: boolean }\n      - { name: referrals, type: integer, nullable: true, min: 0 }",
        )
        .replace(
          "features: [app_sessions_30d, newsletter, survey_score]",
          "features: [app_sessions_30d, newsletter, survey_score, referrals]",
        );
      await writeFile(repository, grown);
      const migrated = (await ok("db", "migrate")).json();
      expect(migrated["repository"]).toMatchObject({
        change: "migrated",
        dropped: [],
      });
      // The old month's snapshot is still readable (its new feature NULL), and the v1 model,
      // trained without the feature, scores on the grown store.
      const dataset = (
        await ok("build-dataset", "--as-of", "2024-01-31", "--out", "g.csv")
      ).json();
      expect(dataset["rows"]).toBe(USERS);
      const rows = await readCsv(join(work, "g.csv"));
      expect(rows[0]!["referrals"]).toBe("");
      const again = (
        await ok("score", "--as-of", "2024-02-29", "--out", "p.csv")
      ).json();
      expect(again["rows"]).toBe(USERS);
      await withServer(async (url) => {
        const ready = await fetch(`${url}/ready`);
        expect(ready.status, await ready.clone().text()).toBe(200);
        const keys = await readCsv(
          join(work, "data", "month_002", "accounts.csv"),
        );
        const answer = await fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ account_no: keys[0]!["account_no"] }),
        });
        expect(answer.status).toBe(200);
        const used = (await answer.json()) as { features_used: object };
        // The model reads what it was trained on; the store's new feature is not among it.
        expect(Object.keys(used.features_used)).not.toContain("referrals");
      });

      // Destructive: dropping survey_score, which model v1 reads, is refused, then allowed.
      const shrunk = grown
        .replace(
          "      - { name: survey_score, type: integer, min: 0, max: 10, nullable: true }\n",
          "",
        )
        .replace(
          "features: [app_sessions_30d, newsletter, survey_score, referrals]",
          "features: [app_sessions_30d, newsletter, referrals]",
        )
        .replace("  categorical: [survey_score]", "  categorical: []");
      expect(shrunk).not.toContain("survey_score");
      await writeFile(repository, shrunk);
      const refused = await run("db", "migrate", "--json");
      expect(refused.exitCode, refused.stderr).toBe(4);
      expect(refused.json()["error"]).toMatchObject({
        code: "REPOSITORY_CHANGE_DESTRUCTIVE",
      });
      expect(refused.stderr).toContain("survey_score");
      await ok("db", "migrate", "--allow-destructive");
      const lost = await run("score", "--as-of", "2024-02-29", "--json");
      expect(lost.exitCode, lost.stderr).toBe(4);
      expect(lost.json()["error"]).toMatchObject({
        code: "MODEL_SCHEMA_MISMATCH",
      });
      expect(lost.stderr).toContain("'survey_score' is not in the store");
    });
  },
);
