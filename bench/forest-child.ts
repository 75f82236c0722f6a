/**
 * Our side of `pnpm bench forest`, run in its own process so its peak RSS is its own. Loads the
 * built @streamflow/core (dist, with its plain-JS worker), trains on the split the parent wrote,
 * and prints one JSON line. Modes: `train DIR JOBS [predict]`, `mlrf DIR ROWS TREES`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import type * as CoreModule from "../packages/core/src/index.ts";

type Core = typeof CoreModule;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function readF64(file: string): Float64Array {
  const b = readFileSync(file);
  const out = new Float64Array(b.byteLength / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}

interface Split {
  nCols: number;
  nEstimators: number;
  xTrain: Float64Array;
  yTrain: Float64Array;
  xVal: Float64Array;
  yVal: Float64Array;
}

function readSplit(dir: string): Split {
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as {
    nCols: number;
    nEstimators: number;
  };
  return {
    ...meta,
    xTrain: readF64(join(dir, "x_train.f64")),
    yTrain: readF64(join(dir, "y_train.f64")),
    xVal: readF64(join(dir, "x_val.f64")),
    yVal: readF64(join(dir, "y_val.f64")),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function train(
  core: Core,
  dir: string,
  jobs: number,
  predict: boolean,
): Promise<Record<string, unknown>> {
  const s = readSplit(dir);
  const x = { data: s.xTrain, nRows: s.yTrain.length, nCols: s.nCols };
  const forest = new core.RandomForestClassifier({
    ...core.LAB_FOREST_OPTIONS,
    nEstimators: s.nEstimators,
  });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await forest.train(x, s.yTrain, { jobs });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const val = { data: s.xVal, nRows: s.yVal.length, nCols: s.nCols };
  const auc = core.rocAuc(s.yVal, forest.predictProba(val));
  const result: Record<string, unknown> = {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    auc,
    nodes: forest.nNodes,
    rssMiB: process.resourceUsage().maxRSS / 1024,
  };
  if (predict) {
    // Single rows: many validation rows in turn, after a warm-up, median over rounds.
    const rows = Array.from({ length: Math.min(1000, val.nRows) }, (_, i) =>
      s.xVal.subarray(i * s.nCols, (i + 1) * s.nCols),
    );
    let sink = 0;
    for (let i = 0; i < 3000; i++)
      sink += forest.predictProbaOne(rows[i % rows.length] as Float64Array);
    const perRow: number[] = [];
    for (let round = 0; round < 15; round++) {
      const t0 = performance.now();
      for (const row of rows) sink += forest.predictProbaOne(row);
      perRow.push(((performance.now() - t0) * 1000) / rows.length);
    }
    const batch = {
      data: s.xVal.subarray(0, 1000 * s.nCols),
      nRows: Math.min(1000, val.nRows),
      nCols: s.nCols,
    };
    const out = new Float64Array(batch.nRows);
    const perBatch: number[] = [];
    for (let round = 0; round < 15; round++) {
      const t0 = performance.now();
      forest.predictProba(batch, { out });
      perBatch.push(performance.now() - t0);
    }
    result["predictRowMicros"] = median(perRow);
    result["predictBatch1000Ms"] = median(perBatch);
    result["sink"] = sink > 0;
  }
  return result;
}

/** ml-random-forest 2.1.0 against our forest on the same small sample, both on one thread. */
async function mlrf(
  core: Core,
  dir: string,
  rows: number,
  trees: number,
): Promise<Record<string, unknown>> {
  const s = readSplit(dir);
  const n = Math.min(rows, s.yTrain.length);
  const xRows = Array.from({ length: n }, (_, i) =>
    Array.from(s.xTrain.subarray(i * s.nCols, (i + 1) * s.nCols)),
  );
  const y = Array.from(s.yTrain.subarray(0, n));
  const { RandomForestClassifier: MlRf } =
    (await import("ml-random-forest")) as unknown as {
      RandomForestClassifier: new (o: Record<string, unknown>) => {
        train(x: number[][], y: number[]): void;
      };
    };
  const t0 = performance.now();
  let theirs: number | string;
  try {
    // noOOB: with out-of-bag scoring on, 2.1.0 throws "input must not be empty" on small forests.
    new MlRf({
      nEstimators: trees,
      maxFeatures: Math.floor(Math.sqrt(s.nCols)) / s.nCols,
      replacement: true,
      useSampleBagging: true,
      noOOB: true,
      seed: 42,
    }).train(xRows, y);
    theirs = (performance.now() - t0) / 1000;
  } catch (error) {
    theirs = `failed: ${(error as Error).message}`;
  }
  const t1 = performance.now();
  await new core.RandomForestClassifier({
    ...core.LAB_FOREST_OPTIONS,
    nEstimators: trees,
  }).train(xRows, y, { jobs: 1 });
  const ours = (performance.now() - t1) / 1000;
  return { rows: n, trees, mlRandomForestSeconds: theirs, oursSeconds: ours };
}

const [mode, dir, a, b] = process.argv.slice(2);
const core = (await import(
  pathToFileURL(join(ROOT, "packages/core/dist/index.mjs")).href
)) as Core;
const result =
  mode === "train"
    ? await train(core, dir as string, Number(a), b === "predict")
    : await mlrf(core, dir as string, Number(a), Number(b));
console.log(JSON.stringify(result));
