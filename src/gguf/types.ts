// The GGUF data model: metadata value types, ggml tensor types and the parsed file's shape.
// Numbers match ggml/include/gguf.h and ggml.h; names are ours (readable in JSON).

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGML_MAX_DIMS = 4;

/** Metadata value type codes as stored in the file. */
export const GGUF_VALUE_TYPE_CODES = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufValueType = keyof typeof GGUF_VALUE_TYPE_CODES;

export const GGUF_VALUE_TYPE_BY_CODE: readonly GgufValueType[] = Object.entries(GGUF_VALUE_TYPE_CODES)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name as GgufValueType);

/** Byte size of fixed-size value types (strings and arrays have none). */
export const GGUF_FIXED_VALUE_SIZE: Partial<Record<GgufValueType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

/**
 * An array's elements. Numeric arrays are typed arrays so a 128k-entry score or token-type table costs
 * one copy, not 128k boxed numbers; 64-bit integers stay exact as BigInt arrays.
 */
export type GgufArray =
  | { elementType: "uint8"; values: Uint8Array }
  | { elementType: "int8"; values: Int8Array }
  | { elementType: "uint16"; values: Uint16Array }
  | { elementType: "int16"; values: Int16Array }
  | { elementType: "uint32"; values: Uint32Array }
  | { elementType: "int32"; values: Int32Array }
  | { elementType: "float32"; values: Float32Array }
  | { elementType: "uint64"; values: BigUint64Array }
  | { elementType: "int64"; values: BigInt64Array }
  | { elementType: "float64"; values: Float64Array }
  | { elementType: "bool"; values: boolean[] }
  | { elementType: "string"; values: string[] }
  | { elementType: "array"; values: GgufArray[] };

/** One typed metadata value; the type is kept so that writing it back gives the same bytes. */
export type GgufValue =
  | { type: "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64"; value: number }
  | { type: "uint64" | "int64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; value: GgufArray };

/** Metadata in file order (a Map keeps insertion order, so writing it back keeps the key order). */
export type GgufMetadata = Map<string, GgufValue>;

/** ggml tensor type codes (ggml.h `enum ggml_type`). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;

export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block, from ggml's type traits (ggml-common.h block structs). */
export const GGML_TYPE_LAYOUT: Record<GgmlTypeName, { blockSize: number; blockBytes: number }> = {
  F32: { blockSize: 1, blockBytes: 4 },
  F16: { blockSize: 1, blockBytes: 2 },
  Q4_0: { blockSize: 32, blockBytes: 18 },
  Q4_1: { blockSize: 32, blockBytes: 20 },
  Q5_0: { blockSize: 32, blockBytes: 22 },
  Q5_1: { blockSize: 32, blockBytes: 24 },
  Q8_0: { blockSize: 32, blockBytes: 34 },
  Q8_1: { blockSize: 32, blockBytes: 36 },
  Q2_K: { blockSize: 256, blockBytes: 84 },
  Q3_K: { blockSize: 256, blockBytes: 110 },
  Q4_K: { blockSize: 256, blockBytes: 144 },
  Q5_K: { blockSize: 256, blockBytes: 176 },
  Q6_K: { blockSize: 256, blockBytes: 210 },
  Q8_K: { blockSize: 256, blockBytes: 292 },
  IQ2_XXS: { blockSize: 256, blockBytes: 66 },
  IQ2_XS: { blockSize: 256, blockBytes: 74 },
  IQ3_XXS: { blockSize: 256, blockBytes: 98 },
  IQ1_S: { blockSize: 256, blockBytes: 50 },
  IQ4_NL: { blockSize: 32, blockBytes: 18 },
  IQ3_S: { blockSize: 256, blockBytes: 110 },
  IQ2_S: { blockSize: 256, blockBytes: 82 },
  IQ4_XS: { blockSize: 256, blockBytes: 136 },
  I8: { blockSize: 1, blockBytes: 1 },
  I16: { blockSize: 1, blockBytes: 2 },
  I32: { blockSize: 1, blockBytes: 4 },
  I64: { blockSize: 1, blockBytes: 8 },
  F64: { blockSize: 1, blockBytes: 8 },
  IQ1_M: { blockSize: 256, blockBytes: 56 },
  BF16: { blockSize: 1, blockBytes: 2 },
  TQ1_0: { blockSize: 256, blockBytes: 54 },
  TQ2_0: { blockSize: 256, blockBytes: 66 },
  MXFP4: { blockSize: 32, blockBytes: 17 },
  NVFP4: { blockSize: 64, blockBytes: 36 },
  Q1_0: { blockSize: 128, blockBytes: 18 },
  Q2_0: { blockSize: 64, blockBytes: 18 },
};

const typeNameByCode = new Map<number, GgmlTypeName>(
  Object.entries(GgmlType).map(([name, code]) => [code, name as GgmlTypeName]),
);

/** The ggml type name for a code, or undefined for codes this library does not know. */
export function ggmlTypeName(code: number): GgmlTypeName | undefined {
  return typeNameByCode.get(code);
}

/** A tensor as described in the file's header. `dims` are in ggml order: dims[0] is the fastest-varying. */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: GgmlTypeName;
  /** Offset of the data relative to the start of the data section. */
  offset: number;
  /** Absolute byte offset in the file. */
  fileOffset: number;
  elementCount: number;
  byteLength: number;
}

/** Everything in a GGUF file except the tensor data itself. */
export interface GgufHeader {
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset where the (aligned) tensor data section starts. */
  dataOffset: number;
  fileSize: number;
}

/** Bytes that `elementCount` elements of `type` occupy; the caller has checked divisibility by the block size. */
export function tensorByteLength(type: GgmlTypeName, elementCount: number): number {
  const { blockSize, blockBytes } = GGML_TYPE_LAYOUT[type];
  return (elementCount / blockSize) * blockBytes;
}
