/**
 * Worker-thread entry: builds the trees the main thread asks for, on training data it shares
 * through SharedArrayBuffers. Built by tsdown as `dist/forest-worker.mjs`; loaded through tsx
 * when the library runs from source.
 */
import { parentPort, workerData } from "node:worker_threads";
import { buildTree } from "./tree-builder.ts";
import type {
  TreeWorkerInit,
  TreeWorkerReply,
  TreeWorkerTask,
} from "./worker-protocol.ts";

const port = parentPort;
if (port === null) throw new Error("forest-worker must run in a worker thread");
const { data, params } = workerData as TreeWorkerInit;

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
