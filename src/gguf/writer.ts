// Writing GGUF files laid out exactly like ggml's gguf writer (gguf.cpp gguf_write_out): header,
// metadata in the given order, tensor infos, zero padding to the alignment, then each tensor's data
// followed by zero padding to the alignment (the last tensor too).
import { Buffer } from "node:buffer";
import { InvalidArgumentError } from "../errors/index.js";
import { writeFileStreaming } from "../files/atomic-write.js";
import { ByteBuilder } from "./byte-builder.js";
import { alignUp } from "./header-parser.js";
import { quantize } from "./quantization.js";
import {
  GGML_MAX_DIMS,
  GGML_TYPE_LAYOUT,
  GgmlType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE_CODES,
  tensorByteLength,
  type GgmlTypeName,
  type GgufArray,
  type GgufMetadata,
  type GgufValue,
} from "./types.js";

/** ggml keeps tensor names in a char[64] including the terminator. */
const GGML_MAX_NAME_BYTES = 63;

export type TensorData = Float32Array | Uint8Array;

export interface GgufTensorInput {
  name: string;
  /** ggml order: dims[0] is the row length (fastest-varying). */
  dims: readonly number[];
  type: GgmlTypeName;
  /**
   * Float32 values, encoded to `type` on write (F32, F16, Q8_0, Q4_0), or the tensor's bytes already in
   * `type` (any type). A function defers producing the data until the tensor is written, so a large
   * model never has to exist in memory all at once.
   */
  data: TensorData | (() => TensorData | Promise<TensorData>);
}

export interface GgufWriteInput {
  metadata: GgufMetadata | Iterable<readonly [string, GgufValue]>;
  tensors?: readonly GgufTensorInput[];
  /** GGUF version written in the header; 3 unless told otherwise. */
  version?: 2 | 3;
}

interface PlannedTensor {
  input: GgufTensorInput;
  elementCount: number;
  byteLength: number;
  offset: number;
}

interface WritePlan {
  header: Uint8Array;
  alignment: number;
  tensors: PlannedTensor[];
  totalBytes: number;
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

const ARRAY_CLASSES: Record<string, unknown> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  uint64: BigUint64Array,
  int64: BigInt64Array,
  float64: Float64Array,
};

function writeValue(out: ByteBuilder, key: string, value: GgufValue): void {
  const range = INTEGER_RANGES[value.type];
  if (range) {
    const number = value.value as number;
    if (!Number.isInteger(number) || number < range[0] || number > range[1]) {
      throw new InvalidArgumentError(`metadata.${key}`, `${value.type} value ${number} is not an integer in [${range[0]}, ${range[1]}]`);
    }
  }
  switch (value.type) {
    case "uint8":
      return out.u8(value.value);
    case "int8":
      return out.i8(value.value);
    case "uint16":
      return out.u16(value.value);
    case "int16":
      return out.i16(value.value);
    case "uint32":
      return out.u32(value.value);
    case "int32":
      return out.i32(value.value);
    case "float32":
      return out.f32(value.value);
    case "float64":
      return out.f64(value.value);
    case "uint64":
      if (value.value < 0n || value.value >= 1n << 64n) throw new InvalidArgumentError(`metadata.${key}`, `uint64 value ${value.value} is out of range`);
      return out.u64(value.value);
    case "int64":
      if (value.value < -(1n << 63n) || value.value >= 1n << 63n) throw new InvalidArgumentError(`metadata.${key}`, `int64 value ${value.value} is out of range`);
      return out.i64(value.value);
    case "bool":
      return out.u8(value.value ? 1 : 0);
    case "string":
      return out.string(value.value);
    case "array":
      return writeArray(out, key, value.value);
  }
}

function writeArray(out: ByteBuilder, key: string, array: GgufArray): void {
  const code = GGUF_VALUE_TYPE_CODES[array.elementType];
  if (code === undefined) throw new InvalidArgumentError(`metadata.${key}`, `unknown array element type "${array.elementType}"`);
  out.u32(code);
  out.u64(array.values.length);
  const expectedClass = ARRAY_CLASSES[array.elementType];
  if (expectedClass) {
    if (!(array.values instanceof (expectedClass as typeof Uint8Array))) {
      throw new InvalidArgumentError(`metadata.${key}`, `an array of ${array.elementType} must hold a ${(expectedClass as { name: string }).name}`);
    }
    const typed = array.values as Uint8Array;
    out.raw(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
    return;
  }
  switch (array.elementType) {
    case "bool":
      for (const flag of array.values) out.u8(flag ? 1 : 0);
      return;
    case "string":
      for (const text of array.values) out.string(text);
      return;
    case "array":
      for (const inner of array.values) writeArray(out, key, inner);
      return;
  }
}

function checkTensor(input: GgufTensorInput): { elementCount: number; byteLength: number } {
  const where = `tensors.${input.name}`;
  const nameBytes = Buffer.byteLength(input.name, "utf8");
  if (nameBytes === 0 || nameBytes > GGML_MAX_NAME_BYTES) {
    throw new InvalidArgumentError(where, `tensor name "${input.name}" must be 1..${GGML_MAX_NAME_BYTES} bytes (ggml's limit)`);
  }
  if (!(input.type in GgmlType)) throw new InvalidArgumentError(where, `unknown tensor type "${input.type}"`);
  if (input.dims.length < 1 || input.dims.length > GGML_MAX_DIMS) {
    throw new InvalidArgumentError(where, `a tensor has 1..${GGML_MAX_DIMS} dimensions, got ${input.dims.length}`);
  }
  let elementCount = 1;
  for (const dim of input.dims) {
    if (!Number.isSafeInteger(dim) || dim < 1) throw new InvalidArgumentError(where, `dimension ${dim} is not a positive integer`);
    elementCount *= dim;
  }
  if (!Number.isSafeInteger(elementCount)) throw new InvalidArgumentError(where, `shape [${input.dims}] is too large`);
  const { blockSize } = GGML_TYPE_LAYOUT[input.type];
  if (input.dims[0] % blockSize !== 0) {
    throw new InvalidArgumentError(where, `${input.type} needs a row length that is a multiple of ${blockSize}, got ${input.dims[0]}`);
  }
  return { elementCount, byteLength: tensorByteLength(input.type, elementCount) };
}

/** Lays out the file: the header bytes (with tensor infos and padding) and each tensor's offset. */
export function planGgufFile(input: GgufWriteInput): WritePlan {
  const entries = [...(input.metadata instanceof Map ? input.metadata.entries() : input.metadata)];
  const tensors = input.tensors ?? [];

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const keys = new Set<string>();
  for (const [key, value] of entries) {
    if (keys.has(key)) throw new InvalidArgumentError(`metadata.${key}`, `duplicate metadata key "${key}"`);
    keys.add(key);
    if (key === "general.alignment") {
      if (value.type !== "uint32" || value.value === 0 || (value.value & (value.value - 1)) !== 0) {
        throw new InvalidArgumentError("metadata.general.alignment", "general.alignment must be a uint32 power of two");
      }
      alignment = value.value;
    }
  }

  const out = new ByteBuilder();
  out.u32(GGUF_MAGIC);
  out.u32(input.version ?? 3);
  out.u64(tensors.length);
  out.u64(entries.length);
  for (const [key, value] of entries) {
    out.string(key);
    const code = GGUF_VALUE_TYPE_CODES[value.type];
    if (code === undefined) throw new InvalidArgumentError(`metadata.${key}`, `unknown value type "${value.type}"`);
    out.u32(code);
    writeValue(out, key, value);
  }

  const planned: PlannedTensor[] = [];
  const names = new Set<string>();
  let dataBytes = 0;
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw new InvalidArgumentError(`tensors.${tensor.name}`, `duplicate tensor name "${tensor.name}"`);
    names.add(tensor.name);
    const { elementCount, byteLength } = checkTensor(tensor);
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GgmlType[tensor.type]);
    out.u64(dataBytes);
    planned.push({ input: tensor, elementCount, byteLength, offset: dataBytes });
    dataBytes += alignUp(byteLength, alignment);
  }
  // ggml pads the header to the alignment even when there are no tensors.
  out.zeros(alignUp(out.length, alignment) - out.length);
  const header = out.toBytes();
  return { header, alignment, tensors: planned, totalBytes: header.byteLength + dataBytes };
}

/** The bytes of one tensor in its declared type, checked against its shape. */
async function encodeTensor(tensor: PlannedTensor): Promise<Uint8Array> {
  const { input } = tensor;
  const data = typeof input.data === "function" ? await input.data() : input.data;
  if (data instanceof Float32Array) {
    if (data.length !== tensor.elementCount) {
      throw new InvalidArgumentError(`tensors.${input.name}`, `shape [${input.dims}] holds ${tensor.elementCount} values, got ${data.length}`);
    }
    // F32 is written as it is: a view, not a copy (the bytes go to the file before anyone can change them)
    return input.type === "F32" ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : quantize(input.type, data);
  }
  if (data instanceof Uint8Array) {
    if (data.byteLength !== tensor.byteLength) {
      throw new InvalidArgumentError(`tensors.${input.name}`, `${input.type} [${input.dims}] takes ${tensor.byteLength} bytes, got ${data.byteLength}`);
    }
    return data;
  }
  throw new InvalidArgumentError(`tensors.${input.name}`, "tensor data must be a Float32Array or a Uint8Array");
}

/** Writes a GGUF file, one tensor at a time. A failed write leaves no partial file behind. */
export async function writeGguf(path: string, input: GgufWriteInput): Promise<{ bytes: number }> {
  const plan = planGgufFile(input);
  await writeFileStreaming(path, async (handle) => {
    await handle.write(plan.header);
    for (const tensor of plan.tensors) {
      const bytes = await encodeTensor(tensor);
      await handle.write(bytes);
      const padding = alignUp(bytes.byteLength, plan.alignment) - bytes.byteLength;
      if (padding > 0) await handle.write(new Uint8Array(padding));
    }
  });
  return { bytes: plan.totalBytes };
}

/** The whole file in memory (tests, fuzzing, small fixtures). */
export async function serializeGguf(input: GgufWriteInput): Promise<Uint8Array> {
  const plan = planGgufFile(input);
  const out = new Uint8Array(plan.totalBytes);
  out.set(plan.header, 0);
  for (const tensor of plan.tensors) out.set(await encodeTensor(tensor), plan.header.byteLength + tensor.offset);
  return out;
}
