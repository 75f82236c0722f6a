import { Buffer } from "node:buffer";

/**
 * Typed arrays travel in model files as base64 of their bytes, little-endian (the byte order of
 * every platform Node supports in practice; checked on load so a big-endian host fails loudly).
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedArrayCtor<T> = {
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

export function encodeTypedArray(
  a: Int16Array | Int32Array | Uint8Array | Float64Array,
): string {
  assertLittleEndian();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

/** Decodes base64 into a fresh, aligned typed array; returns undefined if the byte count does not fit the type. */
export function decodeTypedArray<
  T extends Int16Array | Int32Array | Uint8Array | Float64Array,
>(ctor: TypedArrayCtor<T>, text: string): T | undefined {
  assertLittleEndian();
  const bytes = Buffer.from(text, "base64");
  if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) return undefined;
  // Buffer.from may reject non-base64 characters silently; re-encoding catches corrupt text.
  if (bytes.toString("base64") !== text) return undefined;
  const out = new ctor(bytes.byteLength / ctor.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN)
    throw new Error("streamflow model files need a little-endian host");
}
