/**
 * Worker-thread entry, one of two kinds chosen by `workerData.kind`: a tree worker builds the
 * trees the main thread asks for, on training data it shares through SharedArrayBuffers; a
 * prediction worker holds a trained forest and scores the rows it is sent. Built by tsdown as
 * `dist/forest-worker.mjs`; loaded through tsx when the library runs from source.
 */
import { parentPort, workerData } from "node:worker_threads";
import { predictBatch, type ForestTree } from "./batch-predict.ts";
import { buildTree } from "./tree-builder.ts";
import type {
  ForestWorkerInit,
  PredictWorkerReply,
  PredictWorkerTask,
  TreeWorkerReply,
  TreeWorkerTask,
} from "./worker-protocol.ts";

const port = parentPort;
if (port === null) throw new Error("forest-worker must run in a worker thread");
const init = workerData as ForestWorkerInit;

if (init.kind === "train") {
  const { data, params } = init;
  port.on("message", (task: TreeWorkerTask) => {
    const tree = buildTree(data, params, task.seed);
    const reply: TreeWorkerReply = {
      type: "tree",
      treeIndex: task.treeIndex,
      tree,
    };
    port.postMessage(reply, [
      tree.nodes.buffer,
      tree.leafValue.buffer,
      tree.importance.buffer,
    ]);
  });
  const ready: TreeWorkerReply = { type: "ready" };
  port.postMessage(ready);
} else {
  const trees: ForestTree[] = init.forest.trees.map((t) => ({
    nodes: t.nodes,
    nodesF32: new Float32Array(
      t.nodes.buffer,
      t.nodes.byteOffset,
      t.nodes.length,
    ),
    leafValue: t.leafValue,
    nClasses: t.nClasses,
  }));
  const forest = {
    trees,
    edges: init.forest.edges,
    nFeatures: init.forest.nFeatures,
  };
  port.on("message", (task: PredictWorkerTask) => {
    const out = new Float64Array(task.nRows);
    predictBatch(
      forest,
      { data: task.data, nRows: task.nRows, nCols: task.nCols },
      { ci: init.ci, out },
    );
    const reply: PredictWorkerReply = { id: task.id, out };
    port.postMessage(reply, [out.buffer]);
  });
}
