/**
 * Data-half benchmark: ingest, generate, build-dataset, through the built CLI (so the figures
 * include start-up and are what a user sees). Anchor: psql's own \copy of the same CSVs into
 * unconstrained tables, the floor any loader on this server can reach.
 * Goals (issue F1, real PostgreSQL): ingest >= 100k rows/s per table; build-dataset of 1M users
 * <= 30 s; peak RSS of the CLI <= 1 GB.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADMIN_URL,
  CLI,
  ROOT,
  cli,
  fmt,
  freshDatabase,
  generateMonths,
  psql,
} from "./cli-process.ts";

const LAB =
  process.env["STREAMFLOW_LAB_DATA"] ?? join(ROOT, "../shared/data/streamflow");
const FILES = [
  "users",
  "subscriptions",
  "usage_agg_30d",
  "payments_agg_90d",
  "support_agg_90d",
  "labels",
];

/** psql \copy of a month's six CSVs into constraint-free tables: the loader floor. */
async function copyAnchor(monthDir: string): Promise<number> {
  const url = freshDatabase("sf_bench_anchor");
  const script: string[] = [];
  for (const f of FILES) {
    const header = (
      await readFile(join(monthDir, `${f}.csv`), "utf8").then((t) =>
        t.slice(0, t.indexOf("\n")),
      )
    ).split(",");
    script.push(
      `CREATE TABLE ${f} (${header.map((h) => `${h} text`).join(", ")});`,
    );
    script.push(`\\copy ${f} FROM '${join(monthDir, `${f}.csv`)}' CSV HEADER`);
  }
  const file = join(tmpdir(), "sf-anchor.sql");
  await writeFile(file, script.join("\n"));
  const started = performance.now();
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-f", file], {
    stdio: "inherit",
  });
  const seconds = (performance.now() - started) / 1000;
  psql(ADMIN_URL, "DROP DATABASE IF EXISTS sf_bench_anchor WITH (FORCE)");
  return seconds;
}

const rows: string[][] = [];
function report(
  what: string,
  m: { seconds: number; rssMiB?: number },
  extra = "",
  goal = "",
) {
  rows.push([
    what,
    fmt(m.seconds, 2),
    m.rssMiB === undefined ? "" : fmt(m.rssMiB, 0),
    extra,
    goal,
  ]);
  console.log(
    `${what}: ${fmt(m.seconds, 2)} s${m.rssMiB === undefined ? "" : `, peak RSS ${fmt(m.rssMiB, 0)} MiB`} ${extra} ${goal}`,
  );
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: pnpm build first`);
  const users = Number(
    args.find((a) => a.startsWith("--users="))?.slice(8) ?? 1_000_000,
  );
  const work = await mkdtemp(join(tmpdir(), "sf-bench-"));
  try {
    if (existsSync(join(LAB, "month_000", "users.csv"))) {
      const labRows = 7043;
      const home = join(work, "pglite-home");
      const pglite = await cli(
        [
          "ingest",
          "--month-dir",
          join(LAB, "month_000"),
          "--as-of",
          "2024-01-31",
        ],
        { STREAMFLOW_HOME: home, STREAMFLOW_DATABASE_URL: undefined },
      );
      report(
        "lab month ingest, PGlite",
        pglite,
        `${fmt(labRows / pglite.seconds, 0)} rows/s per table`,
      );
      const url = freshDatabase("sf_bench_lab");
      const pgLab = await cli(
        [
          "ingest",
          "--month-dir",
          join(LAB, "month_000"),
          "--as-of",
          "2024-01-31",
        ],
        { STREAMFLOW_DATABASE_URL: url },
      );
      const anchor = await copyAnchor(join(LAB, "month_000"));
      report(
        "lab month ingest, PostgreSQL",
        pgLab,
        `${fmt(labRows / pgLab.seconds, 0)} rows/s per table; psql \\copy anchor ${fmt(anchor, 2)} s (×${fmt(pgLab.seconds / anchor, 1)})`,
      );
    } else {
      console.log(`lab data not found at ${LAB}: lab-month figures skipped`);
    }

    const data = join(work, "gen");
    const gen = await generateMonths({ users, months: 2, out: data });
    report(
      `generate ${fmt(users, 0)} users × 2 months`,
      gen,
      `${fmt((users * 2) / gen.seconds, 0)} users·months/s`,
    );

    const url = freshDatabase("sf_bench_big");
    const env = { STREAMFLOW_DATABASE_URL: url };
    for (const [i, asOf] of [
      [0, "2024-01-31"],
      [1, "2024-02-29"],
    ] as const) {
      const m = await cli(
        ["ingest", "--month-dir", join(data, `month_00${i}`), "--as-of", asOf],
        env,
      );
      const tables = (
        JSON.parse(m.stdout) as {
          timings_ms: { tables: Record<string, number> };
        }
      ).timings_ms.tables;
      // A table's own time: its statements (staging includes waiting for the CSV reader).
      const rates = Object.entries(tables)
        .map(([t, ms]) => [t, users / (ms / 1000)] as const)
        .sort((a, b) => a[1] - b[1]);
      const slowest = rates[0]!;
      report(
        `ingest month_00${i} (${fmt(users, 0)} rows × 6 files), PostgreSQL`,
        m,
        `whole ingest ${fmt(users / m.seconds, 0)} rows/s per table (${fmt((users * 11) / m.seconds, 0)} rows/s written over 11 tables); slowest table on its own time: ${slowest[0]} ${fmt(slowest[1], 0)} rows/s`,
        "goal ≥ 100,000 rows/s per table, RSS ≤ 1024 MiB",
      );
      console.log(
        `  per table (rows/s on its own statements): ${rates.map(([t, r]) => `${t} ${fmt(r, 0)}`).join(", ")}`,
      );
    }
    const anchor = await copyAnchor(join(data, "month_001"));
    report(
      "anchor: psql \\copy of month_001 into bare tables",
      { seconds: anchor },
      `${fmt(users / anchor, 0)} rows/s per table`,
    );
    const ds = await cli(
      [
        "build-dataset",
        "--as-of",
        "2024-02-29",
        "--out",
        join(work, "train.csv"),
      ],
      env,
    );
    report(
      `build-dataset ${fmt(users, 0)} users, PostgreSQL`,
      ds,
      "",
      "goal ≤ 30 s, RSS ≤ 1024 MiB",
    );
    const pq = await cli(
      [
        "build-dataset",
        "--as-of",
        "2024-02-29",
        "--out",
        join(work, "train.parquet"),
      ],
      env,
    );
    report(`build-dataset ${fmt(users, 0)} users → Parquet, PostgreSQL`, pq);
    const mat = await cli(["materialize", "--as-of", "2024-02-29"], env);
    report(`materialize ${fmt(users, 0)} users, PostgreSQL`, mat);
    psql(ADMIN_URL, "DROP DATABASE IF EXISTS sf_bench_big WITH (FORCE)");
    psql(ADMIN_URL, "DROP DATABASE IF EXISTS sf_bench_lab WITH (FORCE)");

    await mkdir(join(ROOT, "bench/out"), { recursive: true });
    await writeFile(
      join(ROOT, "bench/out/features.json"),
      JSON.stringify({ users, rows }, null, 2),
    );
    console.log(
      "\n| step | seconds | peak RSS MiB | rate / anchor | goal |\n|---|---|---|---|---|",
    );
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
