/**
 * Drift benchmark (issue F7): `streamflow drift` without a model, end to end on real PostgreSQL
 * (two point-in-time months read from the store), against Evidently 0.7.15's DataDriftPreset with
 * the lab's data definition on the same two datasets read from CSV (build-dataset's output),
 * measured in the same run. Prints both per-feature scores side by side; they must agree to 1e-4.
 * Goals: ours / Evidently <= 0.2; peak RSS of the CLI <= 1 GB.
 *
 * Flags: --users=N (default 1,000,000).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLI,
  ROOT,
  cli,
  dropDatabase,
  fmt,
  freshDatabase,
  generateMonths,
} from "./cli-process.ts";

const REFERENCE = "2024-01-31";
const CURRENT = "2024-02-29";
const DB = "sf_bench_drift";

interface OurFeature {
  feature: string;
  type: "numerical" | "categorical";
  method: string;
  score: number | null;
}

export async function run(args: string[]): Promise<void> {
  const users = Number(
    args.find((a) => a.startsWith("--users="))?.split("=")[1] ?? 1_000_000,
  );
  execFileSync("bash", [join(ROOT, "scripts/evidently-venv.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const python = join(ROOT, ".cache/evidently-venv/bin/python");
  const work = await mkdtemp(join(tmpdir(), "sf-bench-drift-"));
  console.log(
    `cores ${availableParallelism()}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; ${fmt(users, 0)} users × 2 months; CLI ${CLI}`,
  );
  try {
    const url = freshDatabase(DB);
    const env = {
      STREAMFLOW_DATABASE_URL: url,
      STREAMFLOW_HOME: join(work, "home"),
      MLFLOW_TRACKING_URI: undefined,
    };
    await generateMonths({ users, months: 2, out: join(work, "data") });
    for (const [dir, asOf] of [
      ["month_000", REFERENCE],
      ["month_001", CURRENT],
    ] as const) {
      await cli(
        ["ingest", "--month-dir", join(work, "data", dir), "--as-of", asOf],
        env,
      );
      await cli(
        ["build-dataset", "--as-of", asOf, "--out", join(work, `${asOf}.csv`)],
        env,
      );
    }
    const ours = await cli(
      ["drift", "--reference", REFERENCE, "--current", CURRENT],
      env,
    );
    const result = JSON.parse(ours.stdout) as {
      features: OurFeature[];
      target: { method: string; score: number };
    };
    const numerical = result.features
      .filter((f) => f.type === "numerical")
      .map((f) => f.feature);
    const categorical = [
      ...result.features
        .filter((f) => f.type === "categorical")
        .map((f) => f.feature),
      "churn_label",
    ];
    const evidently = JSON.parse(
      execFileSync(
        python,
        [
          join(ROOT, "bench/drift_evidently.py"),
          join(work, `${REFERENCE}.csv`),
          join(work, `${CURRENT}.csv`),
          numerical.join(","),
          categorical.join(","),
        ],
        { encoding: "utf8", maxBuffer: 64 << 20 },
      ),
    ) as {
      seconds: number;
      import_seconds: number;
      rss_mib: number;
      scores: Record<string, number>;
    };

    console.log(
      `\n${"feature".padEnd(32)} ${"method".padEnd(14)} ${"streamflow".padStart(12)} ${"evidently".padStart(12)}  |diff|`,
    );
    let worst = 0;
    const rows = [
      ...result.features,
      {
        feature: "churn_label",
        method: result.target.method,
        score: result.target.score,
      },
    ];
    for (const f of rows) {
      const theirs = evidently.scores[f.feature];
      const diff =
        theirs === undefined || f.score === null
          ? NaN
          : Math.abs(theirs - f.score);
      worst = Math.max(worst, Number.isNaN(diff) ? Infinity : diff);
      console.log(
        `${f.feature.padEnd(32)} ${f.method.padEnd(14)} ${(f.score ?? NaN).toFixed(6).padStart(12)} ${(theirs ?? NaN).toFixed(6).padStart(12)}  ${diff.toExponential(1)}`,
      );
    }
    const ratio = ours.seconds / evidently.seconds;
    console.log(
      `\nstreamflow drift (process, PostgreSQL reads included): ${fmt(ours.seconds)} s, peak RSS ${fmt(ours.rssMiB, 0)} MiB (goal <= 1024)`,
    );
    console.log(
      `Evidently 0.7.15 DataDriftPreset (read_csv + report, imports excluded: ${fmt(evidently.import_seconds)} s): ${fmt(evidently.seconds)} s, peak RSS ${fmt(evidently.rss_mib, 0)} MiB`,
    );
    console.log(
      `ratio streamflow / Evidently: ${ratio.toFixed(3)} (goal <= 0.2) ${ratio <= 0.2 ? "MET" : "NOT MET"}; worst score difference ${worst.toExponential(2)} (goal <= 1e-4) ${worst <= 1e-4 ? "MET" : "NOT MET"}`,
    );
  } finally {
    dropDatabase(DB);
    await rm(work, { recursive: true, force: true });
  }
}
