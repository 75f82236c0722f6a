import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { CoreError } from "../errors.ts";
import { deriveTreeSeed } from "./rng.ts";
import {
  buildTree,
  type TreeArrays,
  type TreeParams,
  type TreeTrainingData,
} from "./tree-builder.ts";
import type {
  ForestWorkerInit,
  TreeWorkerInit,
  TreeWorkerReply,
  TreeWorkerTask,
} from "./worker-protocol.ts";

export interface BuildTreesOptions {
  readonly data: TreeTrainingData;
  readonly params: TreeParams;
  readonly seed: number;
  readonly nTrees: number;
  /** Threads building trees: this one plus jobs - 1 workers. */
  readonly jobs: number;
  /** Called after each finished tree with the number finished so far. */
  readonly onTree?: ((done: number) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

// Tasks in flight per worker: the second keeps a worker busy while this thread is inside a
// tree of its own and cannot hand out the next one.
const PREFETCH = 2;

/**
 * Builds `nTrees` trees and returns them in tree order. Tree i always gets the seed
 * deriveTreeSeed(seed, i), so the result does not depend on `jobs` or on which thread built it.
 * The calling thread builds trees too (it would otherwise wait idle), so `jobs: 2` starts one
 * worker; trees are handed out one at a time, whoever is free takes the next.
 */
export async function buildTrees(
  options: BuildTreesOptions,
): Promise<TreeArrays[]> {
  const { nTrees, signal } = options;
  const jobs = Math.max(1, Math.min(options.jobs, nTrees));
  const trees = new Array<TreeArrays | undefined>(nTrees);
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const record = (treeIndex: number, tree: TreeArrays): void => {
    trees[treeIndex] = tree;
    done++;
    options.onTree?.(done);
  };
  const dispatch = (worker: Worker): void => {
    if (next >= nTrees || failure !== undefined) return;
    const task: TreeWorkerTask = {
      treeIndex: next,
      seed: deriveTreeSeed(options.seed, next),
    };
    next++;
    worker.postMessage(task);
  };
  const fail = (error: Error): void => {
    failure ??= error;
    wake?.();
  };
  const onAbort = (): void => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    const init: TreeWorkerInit = {
      kind: "train",
      data: options.data,
      params: options.params,
    };
    for (let j = 1; j < jobs; j++) {
      const worker = spawnForestWorker(init);
      workers.push(worker);
      worker.on("message", (reply: TreeWorkerReply) => {
        if (reply.type === "tree") record(reply.treeIndex, reply.tree);
        for (let t = reply.type === "ready" ? PREFETCH : 1; t > 0; t--)
          dispatch(worker);
        wake?.();
      });
      // A worker failure is a bug, not a user error: it surfaces as a plain Error.
      worker.on("error", (error) =>
        fail(
          new Error(`a forest worker thread failed: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      worker.on("exit", (code) => {
        if (done < nTrees)
          fail(
            new Error(`a forest worker thread exited early with code ${code}`),
          );
      });
    }
    for (;;) {
      if (failure !== undefined) throw failure;
      // Like fetch and timers/promises, an aborted build rejects with the signal's reason.
      if (signal?.aborted) throw signal.reason;
      if (next < nTrees) {
        const i = next++;
        record(
          i,
          buildTree(
            options.data,
            options.params,
            deriveTreeSeed(options.seed, i),
          ),
        );
        // Yield between trees: worker replies, the abort signal and progress rendering get a turn.
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else if (done === nTrees) {
        return trees as TreeArrays[];
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    for (const w of workers) void w.terminate();
  }
}

/**
 * Starts one forest worker (tree building or prediction, by `init.kind`). The built library ships the worker as `forest-worker.mjs` beside the
 * bundle. Running from TypeScript source (vitest, `node --import tsx`), Node 20 cannot load a .ts
 * worker, and a worker's `--import` hooks are not active for its own entry module; tsx's
 * `tsImport` is, so a two-line eval bootstrap loads the source worker through it.
 */
export function spawnForestWorker(init: ForestWorkerInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) {
    return new Worker(new URL("./forest-worker.mjs", here), {
      workerData: init,
    });
  }
  let api: string;
  try {
    const tsxDir = path.dirname(
      createRequire(here).resolve("tsx/package.json"),
    );
    api = pathToFileURL(path.join(tsxDir, "dist/esm/api/index.mjs")).href;
  } catch (cause) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      "cannot start forest workers from TypeScript source: tsx is not installed",
      {
        hint: "Run `pnpm install` at the repository root (tsx is a root devDependency), use the built package, or pass jobs: 1.",
        cause,
      },
    );
  }
  const target = new URL("./tree-worker.ts", here).href;
  const bootstrap = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(target)}, ${JSON.stringify(target)}));`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}
