/**
 * Forest benchmark (issue F2): our RandomForestClassifier against scikit-learn's
 * (n_estimators=300, max_features="sqrt", class_weight="balanced", random_state=42, n_jobs=-1)
 * on the same data and the same split, in the same run, each side in its own process.
 * Goals: wall time <= 0.5x scikit-learn's on the lab data, 100k and 1M rows; peak RSS <= 1.5 GB;
 * single-row predictProba (300 trees) <= 50 µs. Also: ml-random-forest on a small sample.
 *
 * Flags: --skip-1m (the 1M case costs scikit-learn several minutes), --trees=N (default 300).
 * scikit-learn comes from PyPI into bench/.venv, pinned to the lab's 1.7.2: from 1.8 on,
 * class_weight with bootstrap changes semantics (F1 moves, AUC does not).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateSynth } from "./forest-synth.ts";
import { ensureVenv, PYTHON, runJson, SKLEARN_VERSION } from "./python-side.ts";

import type * as CoreModule from "../packages/core/src/index.ts";

type Core = typeof CoreModule;

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const LAB =
  process.env["STREAMFLOW_LAB_DATA"] ?? join(ROOT, "../shared/data/streamflow");

interface SideResult {
  seconds: number;
  auc: number;
  rssMiB: number;
  nodes: number;
  cpuSeconds?: number;
  predictRowMicros?: number;
  predictBatch1000Ms?: number;
  version?: string;
}

interface Case {
  name: string;
  rows: number;
  ours: SideResult;
  sklearn: SideResult;
}

const ourSide = (
  dir: string,
  extra: string[] = [],
): Promise<Record<string, unknown>> =>
  runJson(process.execPath, [
    "--import",
    "tsx",
    join(ROOT, "bench/forest-child.ts"),
    "train",
    dir,
    String(availableParallelism()),
    ...extra,
  ]);

interface SplitFiles {
  dir: string;
  nTrain: number;
}

interface WriteSplitOptions {
  core: Core;
  x: Float64Array;
  y: ArrayLike<number>;
  nCols: number;
  nEstimators: number;
}

/** Our stratified split (seed 42), written as float64 files both sides read. */
async function writeSplit({
  core,
  x,
  y,
  nCols,
  nEstimators,
}: WriteSplitOptions): Promise<SplitFiles> {
  const { trainIndex, testIndex } = core.stratifiedSplit({
    y,
    testSize: 0.25,
    seed: 42,
  });
  const take = (index: Uint32Array): { x: Float64Array; y: Float64Array } => {
    const out = new Float64Array(index.length * nCols);
    index.forEach((r, i) =>
      out.set(x.subarray(r * nCols, (r + 1) * nCols), i * nCols),
    );
    return { x: out, y: Float64Array.from(index, (r) => y[r] as number) };
  };
  const dir = await mkdtemp(join(tmpdir(), "sf-forest-bench-"));
  const train = take(trainIndex);
  const val = take(testIndex);
  await writeFile(join(dir, "x_train.f64"), train.x);
  await writeFile(join(dir, "y_train.f64"), train.y);
  await writeFile(join(dir, "x_val.f64"), val.x);
  await writeFile(join(dir, "y_val.f64"), val.y);
  await writeFile(
    join(dir, "meta.json"),
    JSON.stringify({ nCols, nEstimators }),
  );
  return { dir, nTrain: trainIndex.length };
}

async function measure(
  name: string,
  split: SplitFiles,
  predict = false,
): Promise<Case> {
  console.log(`  ${name}: scikit-learn…`);
  const sklearn = (await runJson(PYTHON, [
    join(ROOT, "bench/forest_sklearn.py"),
    split.dir,
  ])) as unknown as SideResult;
  console.log(`  ${name}: streamflow…`);
  const ours = (await ourSide(
    split.dir,
    predict ? ["predict"] : [],
  )) as unknown as SideResult;
  return { name, rows: split.nTrain, ours, sklearn };
}

async function labCase(
  core: Core,
  nEstimators: number,
): Promise<{ result: Case; split: SplitFiles } | undefined> {
  const { hasLabMonth, readLabMonth, LAB_FEATURE_SCHEMA } =
    await import("../packages/core/test/lab-data.ts");
  if (!hasLabMonth(LAB, "month_000")) {
    console.log(
      `  lab data: skipped, no month_000 CSVs in ${LAB} (set STREAMFLOW_LAB_DATA)`,
    );
    return undefined;
  }
  const lab = readLabMonth(LAB, "month_000");
  // The preprocessor is fitted on all rows here only to produce a matrix both sides share; the
  // encoding does not depend on the split for these columns (no NULL numerics).
  const pre = core.Preprocessor.fit({
    schema: LAB_FEATURE_SCHEMA,
    rows: lab.rows,
  });
  const m = pre.transform(lab.rows);
  const split = await writeSplit({
    core,
    x: m.data,
    y: lab.labels,
    nCols: m.nCols,
    nEstimators,
  });
  return { result: await measure("lab month_000", split, true), split };
}

async function synthCase(
  core: Core,
  rows: number,
  nEstimators: number,
): Promise<Case> {
  const d = generateSynth(rows, 2024);
  const split = await writeSplit({
    core,
    x: d.x,
    y: d.y,
    nCols: d.nCols,
    nEstimators,
  });
  try {
    return await measure(`synthetic ${rows.toLocaleString("en")}`, split);
  } finally {
    await rm(split.dir, { recursive: true, force: true });
  }
}

function fmt(v: number, digits = 2): string {
  return v.toFixed(digits);
}

/** CPU time over all threads: less sensitive than wall time to other work on a shared machine. */
function cpu(c: Case): string {
  const o = c.ours.cpuSeconds;
  const s = c.sklearn.cpuSeconds;
  return o === undefined || s === undefined
    ? "–"
    : `${fmt(o)} / ${fmt(s)} (${fmt(o / s)})`;
}

function report(cases: Case[]): void {
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (other work on the machine slows both sides unevenly)`,
  );
  console.log(
    "\n| data | train rows | ours s | sklearn s | ratio (goal <= 0.5) | CPU s ours / sklearn (ratio) | AUC ours | AUC sklearn | ours peak RSS MiB | sklearn peak RSS MiB |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const c of cases) {
    const ratio = c.ours.seconds / c.sklearn.seconds;
    console.log(
      `| ${c.name} | ${c.rows} | ${fmt(c.ours.seconds)} | ${fmt(c.sklearn.seconds)} | ${fmt(ratio)}${ratio <= 0.5 ? "" : " (over)"} | ${cpu(c)} | ${fmt(c.ours.auc, 4)} | ${fmt(c.sklearn.auc, 4)} | ${fmt(c.ours.rssMiB, 0)} | ${fmt(c.sklearn.rssMiB, 0)} |`,
    );
  }
  const big = cases.filter((c) => c.name.startsWith("synthetic"));
  if (big.length === 2) {
    const [a, b] = big as [Case, Case];
    console.log(
      `\ngrowth 100k → 1M rows: ours ×${fmt(b.ours.seconds / a.ours.seconds, 1)}, scikit-learn ×${fmt(b.sklearn.seconds / a.sklearn.seconds, 1)}`,
    );
  }
}

/** Entry point used by bench/run.ts. */
export async function run(args: string[]): Promise<void> {
  const skip1m = args.includes("--skip-1m");
  const treesArg = args.find((a) => a.startsWith("--trees="));
  const nEstimators =
    treesArg === undefined ? 300 : Number(treesArg.slice("--trees=".length));
  ensureVenv();
  const core = (await import(
    pathToFileURL(join(ROOT, "packages/core/dist/index.mjs")).href
  )) as Core;
  console.log(
    `cores: ${availableParallelism()}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        " ",
      )}; trees: ${nEstimators}; scikit-learn ${SKLEARN_VERSION} (n_jobs=-1) vs streamflow (jobs=${availableParallelism()})`,
  );
  const cases: Case[] = [];
  const lab = await labCase(core, nEstimators);
  if (lab !== undefined) cases.push(lab.result);
  cases.push(await synthCase(core, 100_000, nEstimators));
  if (!skip1m) cases.push(await synthCase(core, 1_000_000, nEstimators));
  report(cases);
  if (lab !== undefined) {
    const o = lab.result.ours;
    console.log(
      `\npredictProba, ${nEstimators} trees (lab model): one row ${fmt(o.predictRowMicros ?? Number.NaN, 1)} µs (goal <= 50), batch of 1000 rows ${fmt(o.predictBatch1000Ms ?? Number.NaN, 1)} ms`,
    );
    const ml = await runJson(process.execPath, [
      "--import",
      "tsx",
      join(ROOT, "bench/forest-child.ts"),
      "mlrf",
      lab.split.dir,
      "2000",
      "20",
    ]);
    const theirs = ml["mlRandomForestSeconds"];
    const ours = ml["oursSeconds"] as number;
    console.log(
      typeof theirs === "number"
        ? `ml-random-forest 2.1.0, ${String(ml["rows"])} lab rows × ${String(ml["trees"])} trees, one thread: ${fmt(theirs)} s vs ours ${fmt(ours, 3)} s → ×${fmt(theirs / ours, 0)}`
        : `ml-random-forest 2.1.0 ${String(theirs)} (ours: ${fmt(ours, 3)} s)`,
    );
    await rm(lab.split.dir, { recursive: true, force: true });
  }
}
