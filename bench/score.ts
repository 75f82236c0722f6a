/**
 * Batch-scoring benchmark (issue F6): `streamflow score` end to end (read, predict, write) on
 * real PostgreSQL against scikit-learn's predict_proba alone on the same rows, in the same run.
 * Both forests follow the lab recipe (300 trees, sqrt, balanced, seed 42) and are fitted on the
 * same training matrix (a 50k-user generated month, our preprocessing); scikit-learn then scores
 * the preprocessed matrix of the 1M users ours reads from the store.
 * Goals: ours / scikit-learn <= 0.5; peak RSS of the CLI <= 1 GB.
 *
 * Flags: --users=N (default 1,000,000), --train-users=N (default 50,000), --trees=N (default 300).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as CoreModule from "../packages/core/src/index.ts";
import type * as FeaturesModule from "../packages/features/src/index.ts";
import {
  CLI,
  ROOT,
  cli,
  dropDatabase,
  fmt,
  freshDatabase,
  numberFlag as flag,
} from "./cli-process.ts";
import { ensureVenv, PYTHON, runJson, SKLEARN_VERSION } from "./python-side.ts";

const AS_OF = "2024-01-31";

/** Our preprocessing of a store's point-in-time rows, as the float64 matrix scikit-learn reads. */
async function matrixOf(
  url: string,
  modelText: string,
): Promise<{ x: Float64Array; y: Float64Array; nCols: number }> {
  // The built packages, as the CLI runs them.
  const core = (await import(
    pathToFileURL(join(ROOT, "packages/core/dist/index.mjs")).href
  )) as typeof CoreModule;
  const features = (await import(
    pathToFileURL(join(ROOT, "packages/features/dist/index.mjs")).href
  )) as typeof FeaturesModule;
  const model = core.parseModel(modelText);
  const db = await features.openDatabase({ url });
  try {
    const ds = await features.loadDataset({
      db,
      asOf: core.parseCalendarDay(AS_OF),
    });
    const rows = core.rowsFromColumns({
      names: ds.featureColumns.map((c) => c.name),
      columns: ds.features,
    });
    const m = model.preprocessor.transform(rows);
    return { x: m.data, y: Float64Array.from(ds.labels), nCols: m.nCols };
  } finally {
    await db.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const users = flag(args, "users", 1_000_000);
  const trainUsers = flag(args, "train-users", 50_000);
  const trees = flag(args, "trees", 300);
  ensureVenv();
  const work = await mkdtemp(join(tmpdir(), "sf-bench-score-"));
  const home = join(work, "home");
  console.log(
    `cores ${availableParallelism()}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        " ",
      )}; ${fmt(users, 0)} users scored, forest of ${trees} trees on ${fmt(trainUsers, 0)} users; CLI ${CLI}`,
  );
  try {
    const trainUrl = freshDatabase("sf_bench_score_train");
    const scoreUrl = freshDatabase("sf_bench_score");
    await cli(
      [
        "generate-data",
        "--users",
        String(trainUsers),
        "--months",
        "1",
        "--seed",
        "7",
        "--out",
        join(work, "train-data"),
      ],
      {},
    );
    await cli(
      [
        "ingest",
        "--month-dir",
        join(work, "train-data", "month_000"),
        "--as-of",
        AS_OF,
      ],
      { STREAMFLOW_DATABASE_URL: trainUrl },
    );
    const trained = await cli(
      [
        "train",
        "--as-of",
        AS_OF,
        "--n-estimators",
        String(trees),
        "--out-dir",
        join(work, "run"),
      ],
      {
        STREAMFLOW_DATABASE_URL: trainUrl,
        STREAMFLOW_HOME: home,
        MLFLOW_TRACKING_URI: undefined,
      },
    );
    await cli(["promote", "--version", "1", "--stage", "Production"], {
      STREAMFLOW_DATABASE_URL: trainUrl,
      STREAMFLOW_HOME: home,
      MLFLOW_TRACKING_URI: undefined,
    });
    console.log(
      `trained ${trees} trees on ${fmt(trainUsers, 0)} users in ${fmt(trained.seconds)} s`,
    );

    const gen = await cli(
      [
        "generate-data",
        "--users",
        String(users),
        "--months",
        "1",
        "--seed",
        "42",
        "--out",
        join(work, "data"),
      ],
      {},
    );
    const ingest = await cli(
      [
        "ingest",
        "--month-dir",
        join(work, "data", "month_000"),
        "--as-of",
        AS_OF,
      ],
      { STREAMFLOW_DATABASE_URL: scoreUrl },
    );
    console.log(
      `generated ${fmt(users, 0)} users in ${fmt(gen.seconds)} s, ingested in ${fmt(ingest.seconds)} s`,
    );

    const env = {
      STREAMFLOW_DATABASE_URL: scoreUrl,
      STREAMFLOW_HOME: home,
      MLFLOW_TRACKING_URI: undefined,
    };
    const ours = await cli(["score", "--as-of", AS_OF], env);
    const r = JSON.parse(ours.stdout) as {
      rows: number;
      written: number;
      positive_rate: number;
      timings_ms: Record<string, number>;
      duration_ms: number;
    };
    const rerun = await cli(["score", "--as-of", AS_OF], env);
    const again = JSON.parse(rerun.stdout) as {
      noop: boolean;
      written: number;
    };

    console.log("exporting both matrices for scikit-learn…");
    const modelText = await readFile(join(work, "run", "model.json"), "utf8");
    const train = await matrixOf(trainUrl, modelText);
    const score = await matrixOf(scoreUrl, modelText);
    const dir = join(work, "sk");
    await mkdir(dir);
    await writeFile(join(dir, "x_train.f64"), train.x);
    await writeFile(join(dir, "y_train.f64"), train.y);
    await writeFile(join(dir, "x_score.f64"), score.x);
    await writeFile(
      join(dir, "meta.json"),
      JSON.stringify({ nCols: train.nCols, nEstimators: trees, repeats: 2 }),
    );
    console.log(
      `scikit-learn ${SKLEARN_VERSION}: fit, then predict_proba on ${fmt(users, 0)} rows (best of 2)…`,
    );
    const sk = (await runJson(PYTHON, [
      join(ROOT, "bench/score_sklearn.py"),
      dir,
    ])) as {
      predictSeconds: number;
      runs: number[];
      positiveRate: number;
      nodes: number;
      rssMiB: number;
    };

    // The ONNX copy every registered version carries: size and export time of this forest.
    const core = (await import(
      pathToFileURL(join(ROOT, "packages/core/dist/index.mjs")).href
    )) as typeof CoreModule;
    const parsed = core.parseModel(modelText);
    const exportStarted = performance.now();
    const onnx = core.exportOnnxModel(parsed, {});
    const exportSeconds = (performance.now() - exportStarted) / 1000;
    const ratio = ours.seconds / sk.predictSeconds;
    const t = r.timings_ms;
    const lines = [
      "| side | rows | seconds | rows/s | peak RSS MiB | split |",
      "|---|---|---|---|---|---|",
      `| streamflow score (end to end, process start to exit) | ${fmt(r.rows, 0)} | ${fmt(ours.seconds, 2)} | ${fmt(r.rows / ours.seconds, 0)} | ${fmt(ours.rssMiB, 0)} | model ${t["load_model"]} ms · read ${t["read"]} ms · predict ${t["predict"]} ms · write ${t["write"]} ms |`,
      `| streamflow score rerun (no-op: ${again.noop}, written ${again.written}) | ${fmt(r.rows, 0)} | ${fmt(rerun.seconds, 2)} | | ${fmt(rerun.rssMiB, 0)} | |`,
      `| scikit-learn predict_proba alone (n_jobs=-1) | ${fmt(users, 0)} | ${fmt(sk.predictSeconds, 2)} | ${fmt(users / sk.predictSeconds, 0)} | ${fmt(sk.rssMiB, 0)} | runs ${sk.runs.map((s) => fmt(s, 2)).join(", ")} s |`,
      "",
      `ratio ours / scikit-learn: ${fmt(ratio, 2)} (goal ≤ 0.5${ratio <= 0.5 ? ", met" : ", NOT met"}); peak RSS ${fmt(ours.rssMiB, 0)} MiB (goal ≤ 1024${ours.rssMiB <= 1024 ? ", met" : ", NOT met"})`,
      `ONNX export of this ${trees}-tree forest: ${fmt(onnx.bytes.byteLength / 1e6, 2)} MB in ${fmt(exportSeconds, 2)} s (${fmt(onnx.forest.splitNodes + onnx.forest.leaves, 0)} nodes; skl2onnx wrote 30.2 MB for the lab recipe's 758,798 nodes)`,
      `positive rate: ours ${fmt(r.positive_rate * 100, 2)}%, scikit-learn's forest ${fmt(sk.positiveRate * 100, 2)}% (different forests, same recipe); scikit-learn nodes ${fmt(sk.nodes, 0)}`,
    ];
    console.log("\n" + lines.join("\n"));
    await mkdir(join(ROOT, "bench/out"), { recursive: true });
    await writeFile(
      join(ROOT, "bench/out/score.json"),
      JSON.stringify(
        {
          users,
          trainUsers,
          trees,
          ours: { seconds: ours.seconds, rssMiB: ours.rssMiB, result: r },
          rerun: rerun.seconds,
          sklearn: sk,
          ratio,
          onnx: {
            bytes: onnx.bytes.byteLength,
            seconds: exportSeconds,
            nodes: onnx.forest.splitNodes + onnx.forest.leaves,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    dropDatabase("sf_bench_score");
    dropDatabase("sf_bench_score_train");
    await rm(work, { recursive: true, force: true });
  }
}
