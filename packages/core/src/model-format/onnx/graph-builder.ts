/**
 * A thin layer over onnx-buf's generated messages: nodes, attributes, constant tensors and typed
 * graph inputs/outputs, so the exporters read as the graph they build rather than as protobuf.
 */
import { create } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType as DataType,
  TensorProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";

export { DataType };

export const ML_DOMAIN = "ai.onnx.ml";

/** An attribute value: JS numbers are ints unless wrapped by `floatAttr`; arrays of numbers are ints. */
export type AttrValue =
  number | string | readonly number[] | readonly string[] | TensorProto;

const utf8 = new TextEncoder();

function attribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === "number") {
    return create(AttributeProtoSchema, {
      name,
      type: AttrType.INT,
      i: BigInt(value),
    });
  }
  if (typeof value === "string") {
    return create(AttributeProtoSchema, {
      name,
      type: AttrType.STRING,
      s: utf8.encode(value),
    });
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "string")) {
      return create(AttributeProtoSchema, {
        name,
        type: AttrType.STRINGS,
        strings: (value as readonly string[]).map((v) => utf8.encode(v)),
      });
    }
    return create(AttributeProtoSchema, {
      name,
      type: AttrType.INTS,
      ints: (value as readonly number[]).map((v) => BigInt(v)),
    });
  }
  return create(AttributeProtoSchema, {
    name,
    type: AttrType.TENSOR,
    t: value as TensorProto,
  });
}

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  domain?: string;
  attributes?: Readonly<Record<string, AttrValue>>;
}

export function node({
  op,
  inputs,
  outputs,
  domain,
  attributes = {},
}: NodeSpec): NodeProto {
  return create(NodeProtoSchema, {
    opType: op,
    input: [...inputs],
    output: [...outputs],
    name: outputs[0] ?? op,
    domain: domain ?? "",
    // Sorted, so the bytes do not depend on how a caller ordered its object literal.
    attribute: Object.keys(attributes)
      .sort()
      .map((k) => attribute(k, attributes[k] as AttrValue)),
  });
}

interface RawTensor {
  dataType: DataType;
  dims: readonly number[];
  bytes: Uint8Array<ArrayBuffer>;
  name: string;
}

function rawTensor({ dataType, dims, bytes, name }: RawTensor): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType,
    dims: dims.map((d) => BigInt(d)),
    rawData: bytes,
  });
}

/** Little-endian bytes of `values`, whatever the host's endianness (ONNX raw_data is little-endian). */
function littleEndian(
  values: ArrayLike<number>,
  kind: "f64" | "i64",
): Uint8Array<ArrayBuffer> {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (kind === "f64") view.setFloat64(i * 8, v, true);
    else view.setBigInt64(i * 8, BigInt(v), true);
  }
  return new Uint8Array(view.buffer);
}

function wideTensor(
  kind: "f64" | "i64",
  values: ArrayLike<number>,
  dims: readonly number[],
): TensorProto {
  return rawTensor({
    dataType: kind === "f64" ? DataType.DOUBLE : DataType.INT64,
    dims,
    bytes: littleEndian(values, kind),
    name: "",
  });
}

/** A double constant; `dims` [] makes a scalar. */
export function doubleTensor(
  values: ArrayLike<number>,
  dims: readonly number[] = [values.length],
): TensorProto {
  return wideTensor("f64", values, dims);
}

export function int64Tensor(
  values: ArrayLike<number>,
  dims: readonly number[] = [values.length],
): TensorProto {
  return wideTensor("i64", values, dims);
}

export function stringTensor(
  values: readonly string[],
  dims: readonly number[] = [values.length],
): TensorProto {
  return create(TensorProtoSchema, {
    dataType: DataType.STRING,
    dims: dims.map((d) => BigInt(d)),
    stringData: values.map((v) => utf8.encode(v)),
  });
}

export function uint8Tensor(values: Uint8Array): TensorProto {
  return rawTensor({
    dataType: DataType.UINT8,
    dims: [values.length],
    bytes: Uint8Array.from(values),
    name: "",
  });
}

/** A graph input or output `[N]` (or `[N, width]`) of one element type, N named "N". */
export function valueInfo(
  name: string,
  elemType: DataType,
  width?: number,
): ValueInfoProto {
  const dim = [
    { value: { case: "dimParam" as const, value: "N" } },
    ...(width === undefined
      ? []
      : [{ value: { case: "dimValue" as const, value: BigInt(width) } }]),
  ];
  return create(ValueInfoProtoSchema, {
    name,
    type: {
      value: {
        case: "tensorType",
        value: { elemType, shape: { dim } },
      },
    },
  });
}

/** Collects nodes and constant initializers under unique names. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly #used = new Set<string>();

  /** A fresh value name derived from `hint`. */
  name(hint: string): string {
    let name = hint;
    for (let i = 1; this.#used.has(name); i++) name = `${hint}_${i}`;
    this.#used.add(name);
    return name;
  }

  /** Reserves names the graph's interface uses, so no internal value takes them. */
  reserve(names: readonly string[]): void {
    for (const n of names) this.#used.add(n);
  }

  /** Adds a constant and returns its name. */
  constant(hint: string, tensor: TensorProto): string {
    const name = this.name(hint);
    tensor.name = name;
    this.initializers.push(tensor);
    return name;
  }

  /** Adds a one-output node and returns the output's name. */
  add(spec: Omit<NodeSpec, "outputs"> & { output: string }): string {
    const output = this.name(spec.output);
    this.nodes.push(node({ ...spec, outputs: [output] }));
    return output;
  }
}
