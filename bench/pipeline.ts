/**
 * The monthly pipeline at scale (issue F8): `pipeline run` for two generated months on real
 * PostgreSQL, once in one process and once with `--distributed --shards W` over W `streamflow
 * worker` processes, same data and recipe, in the same run. Prints each step's time both ways
 * and their ratio, the wall time of each month, and peak RSS (the single process; the largest
 * worker). The anchor is the single-process run: distribution pays the queue's hand-offs and,
 * on a machine with fewer cores than workers, shares the cores.
 *
 * Flags: --users=N (default 1,000,000), --workers=W (default 3), --trees=N (default 300),
 * --max-depth=D (default 12: an unbounded forest on a million rows is too large for the model
 * file, see the F8 note), --keep (leave the databases).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLI,
  PROBE,
  cli,
  dropDatabase,
  fmt,
  freshDatabase,
  generateMonths,
  numberFlag as flag,
} from "./cli-process.ts";

const MONTHS = ["2024-01-31", "2024-02-29"];

interface PipelineJson {
  decision: string | null;
  scored: number | null;
  steps: {
    step: string;
    status: string;
    duration_ms: number;
    result: { shards?: { shard: string; duration_ms: number }[] };
  }[];
}

interface MonthRun {
  wallS: number;
  rssMiB: number;
  json: PipelineJson;
}

async function months(
  data: string,
  env: Record<string, string | undefined>,
  recipe: string[],
  extra: string[],
): Promise<MonthRun[]> {
  const runs: MonthRun[] = [];
  for (const [i, asOf] of MONTHS.entries()) {
    const m = await cli(
      [
        "pipeline",
        "run",
        "--month-dir",
        join(data, `month_00${i}`),
        "--as-of",
        asOf,
        "--retrain",
        i === 0 ? "always" : "on-drift",
        "--score",
        ...recipe,
        ...extra,
      ],
      env,
    );
    const json = JSON.parse(m.stdout) as PipelineJson;
    runs.push({ wallS: m.seconds, rssMiB: m.rssMiB, json });
    console.log(
      `  ${asOf}: ${fmt(m.seconds)} s, decision ${json.decision}, scored ${json.scored}`,
    );
  }
  return runs;
}

function startWorkers(n: number, env: Record<string, string | undefined>) {
  return Array.from({ length: n }, (_, i) => {
    const rssFile = join(tmpdir(), `sf-rss-worker-${process.pid}-${i}`);
    const child = spawn(process.execPath, ["--import", PROBE, CLI, "worker"], {
      env: { ...process.env, ...env, STREAMFLOW_BENCH_RSS_FILE: rssFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((r) => child.on("close", r));
    return {
      ready: async () => {
        // The banner is printed once the worker is registered and its queue connected.
        while (!stdout.includes("heartbeat every")) {
          if (child.exitCode !== null)
            throw new Error(`worker ${i} exited: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop: async () => {
        child.kill("SIGTERM");
        await done;
        const rss = Number(
          (await readFile(rssFile, "utf8").catch(() => "0"))
            .trim()
            .split("\n")
            .pop(),
        );
        await rm(rssFile, { force: true });
        return rss / 1024;
      },
    };
  });
}

export async function run(args: string[]): Promise<void> {
  const users = flag(args, "users", 1_000_000);
  const workers = flag(args, "workers", 3);
  const trees = flag(args, "trees", 300);
  const maxDepth = flag(args, "max-depth", 12);
  const keep = args.includes("--keep");
  const recipe = [
    "--n-estimators",
    String(trees),
    "--max-depth",
    String(maxDepth),
  ];
  console.log(
    `cores ${availableParallelism()}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        " ",
      )}; ${fmt(users, 0)} users, 2 months, ${trees} trees of depth ≤ ${maxDepth}; ${workers} workers`,
  );
  const work = await mkdtemp(join(tmpdir(), "sf-bench-pipeline-"));
  const data = join(work, "data");
  try {
    const g = await generateMonths(
      { users, months: 2, out: data },
      { STREAMFLOW_HOME: join(work, "gen") },
    );
    console.log(`generated in ${fmt(g.seconds)} s\n\nsingle process:`);
    const singleEnv = {
      STREAMFLOW_DATABASE_URL: freshDatabase("sf_bench_pipeline_single"),
      STREAMFLOW_HOME: join(work, "single"),
      MLFLOW_TRACKING_URI: undefined,
    };
    const single = await months(data, singleEnv, recipe, []);

    console.log(`\n${workers} workers (--distributed --shards ${workers}):`);
    const distEnv = {
      STREAMFLOW_DATABASE_URL: freshDatabase("sf_bench_pipeline_dist"),
      STREAMFLOW_HOME: join(work, "dist"),
      MLFLOW_TRACKING_URI: undefined,
    };
    const pool = startWorkers(workers, distEnv);
    let dist: MonthRun[];
    let workerRss: number[];
    try {
      await Promise.all(pool.map((w) => w.ready()));
      dist = await months(data, distEnv, recipe, [
        "--distributed",
        "--shards",
        String(workers),
      ]);
    } finally {
      workerRss = await Promise.all(pool.map((w) => w.stop()));
    }

    for (const [i, asOf] of MONTHS.entries()) {
      const s = single[i]!;
      const d = dist[i]!;
      console.log(
        `\n${asOf}            single (s)   ${workers} workers (s)   ratio`,
      );
      for (const step of s.json.steps) {
        const other = d.json.steps.find((x) => x.step === step.step)!;
        const ratio =
          step.duration_ms > 0 ? other.duration_ms / step.duration_ms : NaN;
        console.log(
          `  ${step.step.padEnd(14)} ${fmt(step.duration_ms / 1000).padStart(9)}   ${fmt(other.duration_ms / 1000).padStart(12)}   ${step.status === "skipped" ? "—" : `×${fmt(ratio, 2)}`}`,
        );
        for (const shard of other.result.shards ?? [])
          console.log(
            `    shard ${shard.shard.padEnd(19)} ${fmt(shard.duration_ms / 1000).padStart(12)}`,
          );
      }
      console.log(
        `  ${"whole month".padEnd(14)} ${fmt(s.wallS).padStart(9)}   ${fmt(d.wallS).padStart(12)}   ×${fmt(d.wallS / s.wallS, 2)}`,
      );
      const same =
        s.json.decision === d.json.decision && s.json.scored === d.json.scored;
      console.log(
        `  decision ${s.json.decision} / ${d.json.decision}, scored ${s.json.scored} / ${d.json.scored}${same ? "" : "  ← DIFFERENT"}`,
      );
    }
    console.log(
      `\npeak RSS: single process ${fmt(Math.max(...single.map((r) => r.rssMiB)), 0)} MiB; coordinator ${fmt(Math.max(...dist.map((r) => r.rssMiB)), 0)} MiB; largest worker ${fmt(Math.max(...workerRss), 0)} MiB`,
    );
  } finally {
    if (!keep) {
      dropDatabase("sf_bench_pipeline_single");
      dropDatabase("sf_bench_pipeline_dist");
    }
    await rm(work, { recursive: true, force: true });
  }
}
