import { fromBinary } from "@bufbuild/protobuf";
import {
  ModelProtoSchema,
  TensorProto_DataType as DataType,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type ValueInfoProto,
} from "onnx-buf";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ONNX_TEST_COLUMNS,
  ONNX_TEST_SCHEMA,
  onnxTestRows,
} from "../../../test/onnx-rows.ts";
import type { CoreError } from "../../errors.ts";
import { RandomForestClassifier } from "../../forest/random-forest.ts";
import { Preprocessor } from "../../preprocessing/preprocessor.ts";
import type { FeatureRow } from "../../preprocessing/preprocessor.ts";
import { trainModel } from "../../training/train-model.ts";
import { parseModel, serializeModel, StreamflowModel } from "../model-file.ts";
import { exportOnnx, exportOnnxModel } from "./export-onnx.ts";
import { parseCalendarDay } from "../../calendar-day.ts";

function attr(node: NodeProto, name: string): AttributeProto {
  const a = node.attribute.find((x) => x.name === name);
  if (a === undefined) throw new Error(`attribute ${name} missing`);
  return a;
}

function doubles(a: AttributeProto): Float64Array {
  const raw = a.t?.rawData ?? new Uint8Array();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float64Array.from({ length: raw.byteLength / 8 }, (_, i) =>
    view.getFloat64(i * 8, true),
  );
}

function ints(a: AttributeProto): number[] {
  return a.ints.map(Number);
}

function typeOf(v: ValueInfoProto): { elem: number; dims: string[] } {
  const t = v.type?.value;
  if (t?.case !== "tensorType") throw new Error(`${v.name} is not a tensor`);
  return {
    elem: t.value.elemType,
    dims: (t.value.shape?.dim ?? []).map((d) => String(d.value.value)),
  };
}

interface TinyModelSpec {
  rows: FeatureRow[];
  labels: number[];
  numeric: string[];
  nEstimators: number;
  seed?: number;
}

/** A model on a handful of numeric rows, built without trainModel's split. */
async function tinyModel(spec: TinyModelSpec): Promise<StreamflowModel> {
  const preprocessor = Preprocessor.fit({
    schema: {
      categorical_cols: [],
      numeric_cols: spec.numeric,
      boolean_cols: [],
    },
    rows: spec.rows,
  });
  const forest = await new RandomForestClassifier({
    nEstimators: spec.nEstimators,
    seed: spec.seed ?? 42,
  }).train(preprocessor.transform(spec.rows), spec.labels, { jobs: 1 });
  const training = (await train(40, 1)).training;
  return new StreamflowModel({ preprocessor, forest, training });
}

async function train(n: number, nEstimators: number): Promise<StreamflowModel> {
  const data = onnxTestRows({ n, seed: 3 });
  const { model } = await trainModel({
    rows: data.rows,
    labels: data.labels,
    schema: ONNX_TEST_SCHEMA,
    asOf: parseCalendarDay("2024-01-31"),
    datasetFingerprint: "onnx unit",
    forest: { nEstimators },
    jobs: 1,
  });
  return model;
}

describe("exportOnnxModel", () => {
  let model: StreamflowModel;
  let proto: ModelProto;
  let bytes: Uint8Array;

  beforeAll(async () => {
    model = await train(400, 12);
    bytes = exportOnnxModel(model, { columns: ONNX_TEST_COLUMNS }).bytes;
    proto = fromBinary(ModelProtoSchema, bytes);
  });

  it("declares IR 10, ai.onnx 21 and ai.onnx.ml 5, one [N, 7] string input and two [N] outputs", () => {
    expect(Number(proto.irVersion)).toBe(10);
    expect(proto.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual(
      [
        ["", 21],
        ["ai.onnx.ml", 5],
      ],
    );
    const graph = proto.graph;
    expect(graph?.input.map((i) => [i.name, typeOf(i)])).toEqual([
      ["features", { elem: DataType.STRING, dims: ["N", "7"] }],
    ]);
    expect(graph?.output.map((o) => [o.name, typeOf(o)])).toEqual([
      ["label", { elem: DataType.INT64, dims: ["N"] }],
      ["p_churn", { elem: DataType.DOUBLE, dims: ["N"] }],
    ]);
  });

  it("lists the input's columns in schema order with their MLflow types: integers `long` when typed so, booleans that had NULL `string`", () => {
    const typed = exportOnnxModel(model, { columns: ONNX_TEST_COLUMNS });
    expect(typed.columns.map((c) => c.name)).toEqual(
      ONNX_TEST_COLUMNS.map((c) => c.name),
    );
    expect(typed.columns.map((c) => c.mlflowType)).toEqual([
      "string",
      "string",
      "long",
      "double",
      "double",
      "boolean",
      "string",
    ]);
    const untyped = exportOnnxModel(model);
    expect(
      untyped.columns.find((c) => c.name === "months_active")?.mlflowType,
    ).toBe("double");
    // The type only reaches the signature: the graph is the same.
    expect(untyped.bytes).toEqual(typed.bytes);
  });

  it("takes doubles, and declares every column double, when every column is numeric", async () => {
    const numeric = await tinyModel({
      rows: [0, 1, 2, 3, 4, 5].map((x) => ({ x, y: x * 2 })),
      labels: [0, 1, 0, 1, 0, 1],
      numeric: ["x", "y"],
      nEstimators: 2,
    });
    const input = fromBinary(ModelProtoSchema, exportOnnx(numeric)).graph
      ?.input[0] as ValueInfoProto;
    expect(typeOf(input)).toEqual({ elem: DataType.DOUBLE, dims: ["N", "2"] });
    const integers = exportOnnxModel(numeric, {
      columns: [{ name: "x", type: "integer" }],
    });
    expect(integers.columns.map((c) => c.mlflowType)).toEqual([
      "double",
      "double",
    ]);
  });

  it("holds every tree in one double TreeEnsemble whose thresholds are the forest's bin edges", () => {
    const ensembles = proto.graph?.node.filter(
      (n) => n.opType === "TreeEnsemble",
    );
    expect(ensembles?.length).toBe(1);
    const te = ensembles?.[0] as NodeProto;
    expect(te.domain).toBe("ai.onnx.ml");
    expect(ints(attr(te, "tree_roots")).length).toBe(12);
    expect(Number(attr(te, "aggregate_function").i)).toBe(0); // AVERAGE
    expect(attr(te, "nodes_splits").t?.dataType).toBe(DataType.DOUBLE);
    expect(attr(te, "leaf_weights").t?.dataType).toBe(DataType.DOUBLE);

    const json = model.forest.toJSON();
    const nNodes = model.forest.nNodes;
    const splits = doubles(attr(te, "nodes_splits"));
    const leaves = doubles(attr(te, "leaf_weights"));
    expect(splits.length + leaves.length).toBe(nNodes);
    expect(leaves.every((w) => w >= 0 && w <= 1)).toBe(true);
    // Each threshold must be one of its feature's edges, compared bit for bit.
    const edges = json.edges.map((e) => {
      const b = Buffer.from(e, "base64");
      return new Set(new Float64Array(b.buffer, b.byteOffset, b.length / 8));
    });
    const features = ints(attr(te, "nodes_featureids"));
    splits.forEach((t, i) => {
      const f = features[i] as number;
      expect(t === Infinity || edges[f]?.has(t)).toBe(true);
    });
    const width = model.preprocessor.columnNames.length;
    expect(features.every((f) => f >= 0 && f < width)).toBe(true);
  });

  it("gives the same bytes for the same model, also after a save and reload", () => {
    expect(
      exportOnnxModel(model, { columns: ONNX_TEST_COLUMNS }).bytes,
    ).toEqual(bytes);
    const reloaded = parseModel(serializeModel(model));
    expect(
      exportOnnxModel(reloaded, { columns: ONNX_TEST_COLUMNS }).bytes,
    ).toEqual(bytes);
  });

  it("encodes a single-leaf tree as a stand-in split whose two branches reach its leaf", async () => {
    // Four rows, one positive: most bootstrap samples miss it, so those trees are one pure leaf.
    const small = await tinyModel({
      rows: [0, 1, 2, 3].map((x) => ({ x })),
      labels: [0, 0, 0, 1],
      numeric: ["x"],
      nEstimators: 8,
      seed: 1,
    });
    const forest = small.forest;
    const out = exportOnnxModel(small);
    const te = fromBinary(ModelProtoSchema, out.bytes).graph?.node.find(
      (n) => n.opType === "TreeEnsemble",
    ) as NodeProto;
    const roots = ints(attr(te, "tree_roots"));
    const trueIds = ints(attr(te, "nodes_truenodeids"));
    const falseIds = ints(attr(te, "nodes_falsenodeids"));
    const trueLeafs = ints(attr(te, "nodes_trueleafs"));
    const falseLeafs = ints(attr(te, "nodes_falseleafs"));
    const standIns = roots.filter(
      (r) =>
        trueLeafs[r] === 1 && falseLeafs[r] === 1 && trueIds[r] === falseIds[r],
    );
    expect(standIns.length).toBeGreaterThan(0);
    expect(out.forest.splitNodes - standIns.length + out.forest.leaves).toBe(
      forest.nNodes,
    );
  });

  it("refuses a forest of three classes and a column type that contradicts the schema", async () => {
    const three = await tinyModel({
      rows: [0, 1, 2, 3, 4, 5].map((x) => ({ x })),
      labels: [0, 1, 2, 0, 1, 2],
      numeric: ["x"],
      nEstimators: 2,
    });
    expect(() => exportOnnxModel(three)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as CoreError,
    );
    expect(() =>
      exportOnnxModel(model, {
        columns: [{ name: "monthly_fee", type: "text" }],
      }),
    ).toThrow(/column 'monthly_fee' is numeric in the model but typed 'text'/);
  });
});
