import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_ENGINES } from "@streamflow/test-utils";
import { openDatabase } from "@streamflow/features";
import { assertBuilt, runCliProcess, spawnCli } from "./spawn-cli.ts";

const tmp = (prefix: string) => mkdtemp(join(tmpdir(), prefix));
const NO_DB = {
  STREAMFLOW_DATABASE_URL: undefined,
  STREAMFLOW_HOME: undefined,
  STREAMFLOW_CONFIG: undefined,
};

beforeAll(() => assertBuilt());

describe("the built streamflow binary", () => {
  it("runs the quickstart on the embedded database, idempotently", async () => {
    const cwd = await tmp("sf-qs-");
    const first = await runCliProcess(
      ["quickstart", "--users", "1500", "--json"],
      { cwd, env: NO_DB },
    );
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout) as {
      database: string;
      months: { noop: boolean }[];
      dataset: { rows: number; fingerprint: string };
      online: { ok: boolean };
      serve: {
        url: string;
        running: boolean;
        sample: {
          user_id: string;
          churn_probability: number;
          prediction: number;
        };
      };
      model: { model_version: string; out_dir: string };
    };
    expect(result.database).toContain(join(cwd, ".streamflow", "pgdata"));
    // It ends with the service answering a real prediction, then stops it.
    expect(result.serve.running).toBe(false);
    expect(result.serve.sample.churn_probability).toBeGreaterThanOrEqual(0);
    expect(result.serve.sample.churn_probability).toBeLessThanOrEqual(1);
    expect(result.serve.sample.prediction).toBe(
      result.serve.sample.churn_probability > 0.5 ? 1 : 0,
    );
    expect(result.dataset.rows).toBe(1500);
    expect(result.online.ok).toBe(true);
    expect(result.months.map((m) => m.noop)).toEqual([false, false]);
    const again = await runCliProcess(
      ["quickstart", "--users", "1500", "--n-estimators", "7", "--json"],
      { cwd, env: NO_DB },
    );
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as typeof result;
    expect(second.months.map((m) => m.noop)).toEqual([true, true]);
    expect(second.dataset.fingerprint).toBe(result.dataset.fingerprint);
    // The smaller forest is a new version, now the one in Production and serving.
    expect([result.model.model_version, second.model.model_version]).toEqual([
      "1",
      "2",
    ]);
    const file = JSON.parse(
      await readFile(join(second.model.out_dir, "model.json"), "utf8"),
    ) as { forest: { params: { nEstimators: number } } };
    expect(file.forest.params.nEstimators).toBe(7);
    expect(await readdir(join(cwd, ".streamflow"))).toContain("quickstart");
  });

  it("teaches on --help and exits 0; a usage error exits 2 with the reason", async () => {
    const cwd = await tmp("sf-help-");
    const help = await runCliProcess(["ingest", "--help"], { cwd, env: NO_DB });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--month-dir");
    expect(help.stdout).toContain("Example:");
    const top = await runCliProcess(["--help"], { cwd, env: NO_DB });
    expect(top.stdout).toMatch(/Exit codes:[\s\S]*5 {2}check failed/);
    const bad = await runCliProcess(
      ["build-dataset", "--as-of", "2024-01-31T00:00", "--out", "x.csv"],
      { cwd, env: NO_DB },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "expected a calendar date YYYY-MM-DD, got '2024-01-31T00:00'",
    );
    const unknown = await runCliProcess(["ingets"], { cwd, env: NO_DB });
    expect(unknown.code).toBe(2);
  });

  it("ends quietly when its reader stops reading (`streamflow --help | head -1`)", async () => {
    const cwd = await tmp("sf-epipe-");
    const child = spawnCli(["--help"], { cwd, env: NO_DB });
    child.child.stdout!.destroy();
    const end = await child.done;
    expect(end.code, end.stderr).toBe(0);
    expect(end.stderr).not.toContain("EPIPE");
  });

  it("exits 3 naming the server (password redacted) when PostgreSQL is unreachable", async () => {
    const cwd = await tmp("sf-down-");
    const run = await runCliProcess(
      ["materialize", "--as-of", "2024-01-31", "--json"],
      {
        cwd,
        env: {
          ...NO_DB,
          STREAMFLOW_DATABASE_URL:
            "postgres://alice:s3cret@127.0.0.1:1/streamflow",
        },
      },
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("127.0.0.1:1");
    expect(run.stderr + run.stdout).not.toContain("s3cret");
    expect(
      (JSON.parse(run.stdout) as { error: { code: string } }).error.code,
    ).toBe("DATABASE_UNAVAILABLE");
  });
});

describe.each(TEST_ENGINES)("a process killed mid-ingest on %s", (engine) => {
  it("leaves the database as it was, and the next ingest works", async () => {
    const cwd = await tmp("sf-kill-");
    await using target = await createTestDatabase(engine);
    const env = {
      ...NO_DB,
      STREAMFLOW_DATABASE_URL: target.url,
      STREAMFLOW_HOME: join(cwd, "home"),
    };
    const gen = await runCliProcess(
      [
        "generate-data",
        "--users",
        "1000",
        "--months",
        "2",
        "--out",
        join(cwd, "small"),
      ],
      { cwd, env },
    );
    expect(gen.code, gen.stderr).toBe(0);
    const big = await runCliProcess(
      [
        "generate-data",
        "--users",
        "150000",
        "--months",
        "1",
        "--seed",
        "7",
        "--first-as-of",
        "2024-02-29",
        "--out",
        join(cwd, "big"),
      ],
      { cwd, env },
    );
    expect(big.code, big.stderr).toBe(0);
    const first = await runCliProcess(
      [
        "ingest",
        "--month-dir",
        join(cwd, "small", "month_000"),
        "--as-of",
        "2024-01-31",
      ],
      { cwd, env },
    );
    expect(first.code, first.stderr).toBe(0);

    const state = async () => {
      const db = await openDatabase({
        url: target.url,
        dataDir: target.url ? undefined : join(cwd, "home", "pgdata"),
      });
      try {
        const rows = await db.query(
          `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM labels_snapshots) AS label_snapshots,
                  (SELECT count(*)::int FROM usage_agg_30d_snapshots) AS usage_snapshots, (SELECT string_agg(as_of::text, ',') FROM ingestions) AS ingestions`,
        );
        return rows[0];
      } finally {
        await db.close();
      }
    };
    const before = await state();
    expect(before).toEqual({
      users: 1000,
      label_snapshots: 1000,
      usage_snapshots: 1000,
      ingestions: "2024-01-31",
    });

    const victim = spawnCli(
      [
        "ingest",
        "--month-dir",
        join(cwd, "big", "month_000"),
        "--as-of",
        "2024-02-29",
        "--verbose",
      ],
      { cwd, env },
    );
    // Reading subscriptions.csv means users.csv is already being written inside the transaction.
    await victim.waitForStderr("… ingest subscriptions.csv 2/6");
    await new Promise((r) => setTimeout(r, 150));
    victim.child.kill("SIGKILL");
    const killed = await victim.done;
    expect(killed.signal).toBe("SIGKILL");
    expect(await state()).toEqual(before);

    const retry = await runCliProcess(
      [
        "ingest",
        "--month-dir",
        join(cwd, "small", "month_001"),
        "--as-of",
        "2024-02-29",
        "--json",
      ],
      { cwd, env },
    );
    expect(retry.code, retry.stderr).toBe(0);
    expect(await state()).toMatchObject({
      users: 1000,
      label_snapshots: 2000,
      ingestions: "2024-01-31,2024-02-29",
    });
  });
});
