/**
 * Prediction of large batches on several threads: the forest is copied once into `jobs - 1`
 * worker threads, and each call splits its rows into contiguous parts, this thread scoring the
 * first while the workers score the others. Every row is summed by the same code in the same tree
 * order whichever thread takes it, so the results are bit-for-bit those of predictProba.
 */
import type { Worker } from "node:worker_threads";
import { CoreError } from "../errors.ts";
import type { DenseMatrix } from "../matrix.ts";
import {
  predictBatch,
  type BatchForest,
  type ForestTree,
} from "./batch-predict.ts";
import { spawnForestWorker } from "./pool.ts";
import type {
  PredictWorkerInit,
  PredictWorkerReply,
  PredictWorkerTask,
} from "./worker-protocol.ts";

/** A forest held by worker threads for repeated batch prediction; close it when done. */
export interface ForestPredictor {
  /** Threads scoring each batch, this one included. */
  readonly jobs: number;
  /** Probabilities of the predictor's class for every row of `m`, in order. */
  predictProba(m: DenseMatrix): Promise<Float64Array>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

/** Below this many rows per thread a batch is scored here alone: the message round trip would cost more. */
const MIN_ROWS_PER_THREAD = 1_024;

export function openForestPredictor(
  forest: BatchForest & { readonly trees: readonly ForestTree[] },
  { jobs, ci }: { jobs: number; ci: number },
): ForestPredictor {
  const init: PredictWorkerInit = {
    kind: "predict",
    forest: {
      trees: forest.trees.map((t) => ({
        nodes: t.nodes,
        leafValue: t.leafValue,
        nClasses: t.nClasses,
      })),
      edges: forest.edges,
      nFeatures: forest.nFeatures,
    },
    ci,
  };
  const workers: Worker[] = [];
  const pending = new Map<
    number,
    { resolve: (out: Float64Array) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  for (let j = 1; j < Math.max(1, jobs); j++) {
    const worker = spawnForestWorker(init);
    worker.on("message", (reply: PredictWorkerReply) => {
      pending.get(reply.id)?.resolve(reply.out);
      pending.delete(reply.id);
    });
    // A worker failure is a bug, not a user error: it surfaces as a plain Error.
    worker.on("error", (error) =>
      fail(
        new Error(`a forest prediction thread failed: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    worker.on("exit", (code) => {
      if (pending.size > 0)
        fail(
          new Error(
            `a forest prediction thread exited early with code ${code}`,
          ),
        );
    });
    workers.push(worker);
  }
  const score = (
    worker: Worker,
    m: DenseMatrix,
    [from, to]: readonly [number, number],
  ) =>
    new Promise<Float64Array>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const task: PredictWorkerTask = {
        id,
        data: m.data.slice(from * m.nCols, to * m.nCols),
        nRows: to - from,
        nCols: m.nCols,
      };
      worker.postMessage(task, [task.data.buffer as ArrayBuffer]);
    });
  return {
    jobs: workers.length + 1,
    async predictProba(m) {
      if (failure !== undefined) throw failure;
      if (m.nCols !== forest.nFeatures)
        throw new CoreError(
          "INVALID_ARGUMENT",
          `rows have ${m.nCols} features, the forest was trained on ${forest.nFeatures}`,
        );
      const out = new Float64Array(m.nRows);
      const parts = Math.max(
        1,
        Math.min(workers.length + 1, Math.floor(m.nRows / MIN_ROWS_PER_THREAD)),
      );
      const bounds = Array.from({ length: parts + 1 }, (_, i) =>
        Math.round((i * m.nRows) / parts),
      );
      const remote = workers
        .slice(0, parts - 1)
        .map((w, i) => score(w, m, [bounds[i + 1]!, bounds[i + 2]!]));
      const head = {
        data: m.data.subarray(0, bounds[1]! * m.nCols),
        nRows: bounds[1]!,
        nCols: m.nCols,
      };
      predictBatch(forest, head, { ci, out });
      (await Promise.all(remote)).forEach((p, i) => out.set(p, bounds[i + 1]));
      return out;
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
