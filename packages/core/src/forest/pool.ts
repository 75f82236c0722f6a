import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { CoreError } from "../errors.ts";
import { deriveTreeSeed } from "./rng.ts";
import { buildTree, type TreeArrays, type TreeParams, type TreeTrainingData } from "./tree-builder.ts";
import type { TreeWorkerInit, TreeWorkerReply, TreeWorkerTask } from "./worker-protocol.ts";

export interface BuildTreesOptions {
  readonly data: TreeTrainingData;
  readonly params: TreeParams;
  readonly seed: number;
  readonly nTrees: number;
  /** 1 builds in this thread; more spawns that many worker threads. */
  readonly jobs: number;
  /** Called after each finished tree with the number finished so far. */
  readonly onTree?: ((done: number) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Builds `nTrees` trees and returns them in tree order. Tree i always gets the seed
 * deriveTreeSeed(seed, i), so the result does not depend on `jobs` or on which worker finished first.
 */
export async function buildTrees(options: BuildTreesOptions): Promise<TreeArrays[]> {
  const jobs = Math.max(1, Math.min(options.jobs, options.nTrees));
  return jobs === 1 ? buildInThread(options) : buildOnWorkers(options, jobs);
}

// Like fetch and timers/promises, an aborted build rejects with the signal's reason.
function abortError(signal: AbortSignal): unknown {
  return signal.reason;
}

async function buildInThread(options: BuildTreesOptions): Promise<TreeArrays[]> {
  const trees: TreeArrays[] = [];
  for (let i = 0; i < options.nTrees; i++) {
    if (options.signal?.aborted) throw abortError(options.signal);
    trees.push(buildTree(options.data, options.params, deriveTreeSeed(options.seed, i)));
    options.onTree?.(i + 1);
    // Yield between trees so an abort signal, timers and progress rendering get a turn.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return trees;
}

function buildOnWorkers(options: BuildTreesOptions, jobs: number): Promise<TreeArrays[]> {
  const init: TreeWorkerInit = { data: options.data, params: options.params };
  const trees = new Array<TreeArrays | undefined>(options.nTrees);
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  let settled = false;

  return new Promise<TreeArrays[]>((resolve, reject) => {
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      for (const w of workers) void w.terminate();
      if (error === undefined) resolve(trees as TreeArrays[]);
      else reject(error instanceof Error ? error : new Error("forest training failed", { cause: error }));
    };
    const onAbort = (): void => finish(abortError(options.signal as AbortSignal));
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener("abort", onAbort);

    const dispatch = (worker: Worker): void => {
      if (next >= options.nTrees) return;
      const task: TreeWorkerTask = { treeIndex: next, seed: deriveTreeSeed(options.seed, next) };
      next++;
      worker.postMessage(task);
    };

    for (let j = 0; j < jobs; j++) {
      let worker: Worker;
      try {
        worker = spawnTreeWorker(init);
      } catch (error) {
        finish(error);
        return;
      }
      workers.push(worker);
      worker.on("message", (reply: TreeWorkerReply) => {
        if (settled) return;
        if (reply.type === "tree") {
          trees[reply.treeIndex] = reply.tree;
          done++;
          options.onTree?.(done);
          if (done === options.nTrees) {
            finish();
            return;
          }
        }
        dispatch(worker);
      });
      // A worker failure is a bug, not a user error: it surfaces as a plain Error.
      worker.on("error", (error) => finish(new Error(`a forest worker thread failed: ${error.message}`, { cause: error })));
      worker.on("exit", (code) => {
        if (!settled) finish(new Error(`a forest worker thread exited early with code ${code}`));
      });
    }
  });
}

/**
 * Starts one tree worker. The built library ships the worker as `forest-worker.mjs` beside the
 * bundle. Running from TypeScript source (vitest, `node --import tsx`), Node 20 cannot load a .ts
 * worker, and a worker's `--import` hooks are not active for its own entry module; tsx's
 * `tsImport` is, so a two-line eval bootstrap loads the source worker through it.
 */
function spawnTreeWorker(init: TreeWorkerInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) {
    return new Worker(new URL("./forest-worker.mjs", here), { workerData: init });
  }
  let api: string;
  try {
    const tsxDir = path.dirname(createRequire(here).resolve("tsx/package.json"));
    api = pathToFileURL(path.join(tsxDir, "dist/esm/api/index.mjs")).href;
  } catch (cause) {
    throw new CoreError("INVALID_ARGUMENT", "cannot start forest workers from TypeScript source: tsx is not installed", {
      hint: "Run `pnpm install` at the repository root (tsx is a root devDependency), use the built package, or pass jobs: 1.",
      cause,
    });
  }
  const target = new URL("./tree-worker.ts", here).href;
  const bootstrap = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(target)}, ${JSON.stringify(target)}));`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}
