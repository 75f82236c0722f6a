import type {
  TreeArrays,
  TreeParams,
  TreeTrainingData,
} from "./tree-builder.ts";

/** `workerData` of a tree worker: typed arrays backed by SharedArrayBuffers, so not copied. */
export interface TreeWorkerInit {
  readonly data: TreeTrainingData;
  readonly params: TreeParams;
}

export interface TreeWorkerTask {
  readonly treeIndex: number;
  readonly seed: number;
}

export type TreeWorkerReply =
  | { readonly type: "ready" }
  | {
      readonly type: "tree";
      readonly treeIndex: number;
      readonly tree: TreeArrays;
    };
