import type {
  TreeArrays,
  TreeParams,
  TreeTrainingData,
} from "./tree-builder.ts";

/** `workerData` of a tree worker: typed arrays backed by SharedArrayBuffers, so not copied. */
export interface TreeWorkerInit {
  readonly kind: "train";
  readonly data: TreeTrainingData;
  readonly params: TreeParams;
}

/** `workerData` of a prediction worker: the trained forest, copied once when the worker starts. */
export interface PredictWorkerInit {
  readonly kind: "predict";
  readonly forest: {
    readonly trees: readonly {
      readonly nodes: Int32Array;
      readonly leafValue: Float64Array;
      readonly nClasses: number;
    }[];
    readonly edges: readonly Float64Array[];
    readonly nFeatures: number;
  };
  /** Class whose probability is wanted. */
  readonly ci: number;
}

export type ForestWorkerInit = TreeWorkerInit | PredictWorkerInit;

/** Rows for a prediction worker, row-major; the reply carries their probabilities in order. */
export interface PredictWorkerTask {
  readonly id: number;
  readonly data: Float64Array;
  readonly nRows: number;
  readonly nCols: number;
}

export interface PredictWorkerReply {
  readonly id: number;
  readonly out: Float64Array;
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
