// Parses a GGUF header (magic, version, metadata, tensor infos) with every count and length checked
// against the bytes left in the file and against fixed caps BEFORE anything is allocated, so a
// hostile or corrupt file gives a GgufFormatError, never a RangeError, a hang or a huge allocation.
import type { ByteSource } from "./byte-source.js";
import { ByteCursor } from "./cursor.js";
import {
  GGML_MAX_DIMS,
  GGML_TYPE_LAYOUT,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_FIXED_VALUE_SIZE,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE_BY_CODE,
  ggmlTypeName,
  tensorByteLength,
  type GgufArray,
  type GgufHeader,
  type GgufMetadata,
  type GgufTensorInfo,
  type GgufValue,
  type GgufValueType,
} from "./types.js";

export interface GgufLimits {
  maxKeyValueCount: number;
  maxTensorCount: number;
  maxKeyBytes: number;
  maxStringBytes: number;
  maxArrayLength: number;
  maxArrayDepth: number;
}

/**
 * Generous for real models (a 256k vocabulary, 300k merges, 10k tensors) yet small enough that a lying
 * count in a multi-GB file cannot make us allocate more than ~128 MB for one metadata value.
 */
export const DEFAULT_GGUF_LIMITS: GgufLimits = {
  maxKeyValueCount: 1 << 20,
  maxTensorCount: 1 << 20,
  maxKeyBytes: 1 << 16,
  maxStringBytes: 16 << 20,
  maxArrayLength: 1 << 24,
  maxArrayDepth: 8,
};

const SUPPORTED_VERSIONS = new Set([2, 3]);
// Smallest encodings, used to reject counts the remaining bytes cannot possibly hold.
const MIN_KEY_VALUE_BYTES = 8 + 4 + 1; // key length, value type, a one-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // name length, n_dims, type, offset
const MIN_ARRAY_BYTES = 4 + 8; // element type, count

/** Smallest on-disk size of one element of `type`. */
function minimumElementBytes(type: GgufValueType): number {
  if (type === "string") return 8;
  if (type === "array") return MIN_ARRAY_BYTES;
  return GGUF_FIXED_VALUE_SIZE[type]!;
}

const typedArrayFactories = {
  uint8: (buffer: ArrayBuffer, n: number) => new Uint8Array(buffer, 0, n),
  int8: (buffer: ArrayBuffer, n: number) => new Int8Array(buffer, 0, n),
  uint16: (buffer: ArrayBuffer, n: number) => new Uint16Array(buffer, 0, n),
  int16: (buffer: ArrayBuffer, n: number) => new Int16Array(buffer, 0, n),
  uint32: (buffer: ArrayBuffer, n: number) => new Uint32Array(buffer, 0, n),
  int32: (buffer: ArrayBuffer, n: number) => new Int32Array(buffer, 0, n),
  float32: (buffer: ArrayBuffer, n: number) => new Float32Array(buffer, 0, n),
  uint64: (buffer: ArrayBuffer, n: number) => new BigUint64Array(buffer, 0, n),
  int64: (buffer: ArrayBuffer, n: number) => new BigInt64Array(buffer, 0, n),
  float64: (buffer: ArrayBuffer, n: number) => new Float64Array(buffer, 0, n),
} as const;

type NumericArrayType = keyof typeof typedArrayFactories;

export async function parseGgufHeader(source: ByteSource, limits: GgufLimits = DEFAULT_GGUF_LIMITS): Promise<GgufHeader> {
  const parser = new HeaderParser(new ByteCursor(source), limits);
  return parser.parse();
}

class HeaderParser {
  constructor(
    private readonly cursor: ByteCursor,
    private readonly limits: GgufLimits,
  ) {}

  async parse(): Promise<GgufHeader> {
    const c = this.cursor;
    await c.fill(4, "the magic number");
    const magic = c.u32();
    if (magic !== GGUF_MAGIC) throw c.error(0, `bad magic ${describeMagic(magic)}, expected "GGUF"`);

    await c.fill(4, "the version");
    const version = c.u32();
    if (!SUPPORTED_VERSIONS.has(version)) {
      const hint =
        (version & 0xffff) === 0 && version !== 0
          ? " (byte-swapped: a big-endian GGUF file, which is not supported)"
          : version === 1
            ? " (GGUF v1 is obsolete)"
            : "";
      throw c.error(4, `unsupported GGUF version ${version}${hint}; supported: 2, 3`);
    }

    const tensorCount = await this.count("tensor count", this.limits.maxTensorCount, MIN_TENSOR_INFO_BYTES, 8);
    const keyValueCount = await this.count("metadata key-value count", this.limits.maxKeyValueCount, MIN_KEY_VALUE_BYTES, 0);

    const metadata: GgufMetadata = new Map();
    let alignmentEntryOffset = -1;
    for (let i = 0; i < keyValueCount; i++) {
      const entryOffset = c.position;
      const key = await this.string(`metadata key #${i}`, this.limits.maxKeyBytes);
      if (metadata.has(key)) throw c.error(entryOffset, `duplicate metadata key "${key}"`);
      const typeOffset = c.position;
      if (!c.has(4)) await c.fill(4, `the value type of "${key}"`);
      const type = this.valueType(c.u32(), typeOffset, `metadata "${key}"`);
      metadata.set(key, await this.value(type, key, 0));
      if (key === "general.alignment") alignmentEntryOffset = entryOffset;
    }

    let alignment = GGUF_DEFAULT_ALIGNMENT;
    const alignmentValue = metadata.get("general.alignment");
    if (alignmentValue) {
      if (alignmentValue.type !== "uint32") {
        throw c.error(alignmentEntryOffset, `general.alignment must be uint32, found ${alignmentValue.type}`);
      }
      alignment = alignmentValue.value;
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
        throw c.error(alignmentEntryOffset, `general.alignment ${alignment} is not a power of two`);
      }
    }

    const tensorInfoOffsets: number[] = [];
    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
      tensorInfoOffsets.push(c.position);
      const tensor = await this.tensorInfo(i, alignment);
      if (names.has(tensor.name)) throw c.error(tensorInfoOffsets[i], `duplicate tensor name "${tensor.name}"`);
      names.add(tensor.name);
      tensors.push(tensor);
    }

    const dataOffset = alignUp(c.position, alignment);
    const fileSize = c.fileSize;
    for (let i = 0; i < tensors.length; i++) {
      const tensor = tensors[i];
      tensor.fileOffset = dataOffset + tensor.offset;
      const end = tensor.fileOffset + tensor.byteLength;
      if (end > fileSize) {
        throw c.error(
          tensorInfoOffsets[i],
          `tensor "${tensor.name}" data [${tensor.fileOffset}, ${end}) lies beyond the end of the file (${fileSize} bytes)`,
        );
      }
    }

    return { version, metadata, tensors, alignment, dataOffset, fileSize };
  }

  /** A u64 count, checked against a cap and against what the remaining bytes could hold. */
  private async count(what: string, cap: number, minItemBytes: number, bytesAfter: number): Promise<number> {
    const c = this.cursor;
    const offset = c.position;
    if (!c.has(8)) await c.fill(8, `the ${what}`);
    const raw = c.u64();
    if (raw > BigInt(cap)) throw c.error(offset, `${what} ${raw} exceeds the limit of ${cap}`);
    const value = Number(raw);
    const room = c.remaining - bytesAfter;
    if (value > 0 && value * minItemBytes > room) {
      throw c.error(offset, `${what} ${value} cannot fit in the ${Math.max(0, c.remaining)} bytes left in the file`);
    }
    return value;
  }

  private valueType(code: number, offset: number, what: string): GgufValueType {
    const type = GGUF_VALUE_TYPE_BY_CODE[code];
    if (type === undefined) throw this.cursor.error(offset, `${what} has unknown value type ${code}`);
    return type;
  }

  private async string(what: string, maxBytes: number): Promise<string> {
    const c = this.cursor;
    const offset = c.position;
    if (!c.has(8)) await c.fill(8, `the length of ${what}`);
    const raw = c.u64();
    if (raw > BigInt(maxBytes)) throw c.error(offset, `${what} has length ${raw}, over the limit of ${maxBytes} bytes`);
    const length = Number(raw);
    if (length > c.remaining) {
      throw c.error(offset, `${what} has length ${length} but only ${c.remaining} bytes remain`);
    }
    if (!c.has(length)) await c.fill(length, what);
    return c.utf8(length);
  }

  /** The hot loop for vocabularies and merges: no promise per element unless the buffer runs dry. */
  private async stringArray(key: string, length: number): Promise<string[]> {
    const c = this.cursor;
    const maxBytes = this.limits.maxStringBytes;
    const values: string[] = new Array(length);
    for (let i = 0; i < length; i++) {
      const offset = c.position;
      if (!c.has(8)) await c.fill(8, `the length of element ${i} of "${key}"`);
      const byteLength = c.u64Number();
      if (byteLength > maxBytes || byteLength > c.remaining) {
        throw c.error(offset, `element ${i} of "${key}" has length ${byteLength} but only ${c.remaining} bytes remain (limit ${maxBytes})`);
      }
      if (!c.has(byteLength)) await c.fill(byteLength, `element ${i} of "${key}"`);
      values[i] = c.utf8(byteLength);
    }
    return values;
  }

  private async value(type: GgufValueType, key: string, depth: number): Promise<GgufValue> {
    const c = this.cursor;
    const size = GGUF_FIXED_VALUE_SIZE[type];
    if (size !== undefined && !c.has(size)) await c.fill(size, `the value of "${key}"`);
    switch (type) {
      case "uint8":
        return { type, value: c.u8() };
      case "int8":
        return { type, value: c.i8() };
      case "uint16":
        return { type, value: c.u16() };
      case "int16":
        return { type, value: c.i16() };
      case "uint32":
        return { type, value: c.u32() };
      case "int32":
        return { type, value: c.i32() };
      case "float32":
        return { type, value: c.f32() };
      case "float64":
        return { type, value: c.f64() };
      case "uint64":
        return { type, value: c.u64() };
      case "int64":
        return { type, value: c.i64() };
      case "bool":
        return { type, value: this.bool(key) };
      case "string":
        return { type, value: await this.string(`the value of "${key}"`, this.limits.maxStringBytes) };
      case "array":
        return { type, value: await this.array(key, depth + 1) };
    }
  }

  private bool(key: string): boolean {
    const c = this.cursor;
    const offset = c.position;
    const byte = c.u8();
    if (byte > 1) throw c.error(offset, `"${key}" has bool byte ${byte}, expected 0 or 1`);
    return byte === 1;
  }

  private async array(key: string, depth: number): Promise<GgufArray> {
    const c = this.cursor;
    if (depth > this.limits.maxArrayDepth) {
      throw c.error(c.position, `"${key}" nests arrays deeper than ${this.limits.maxArrayDepth} levels`);
    }
    const typeOffset = c.position;
    if (!c.has(4)) await c.fill(4, `the element type of array "${key}"`);
    const elementType = this.valueType(c.u32(), typeOffset, `array "${key}"`);
    const length = await this.count(`length of array "${key}"`, this.limits.maxArrayLength, minimumElementBytes(elementType), 0);

    switch (elementType) {
      case "bool": {
        const values: boolean[] = new Array(length);
        for (let i = 0; i < length; i++) {
          if (!c.has(1)) await c.fill(1, `element ${i} of "${key}"`);
          values[i] = this.bool(key);
        }
        return { elementType, values };
      }
      case "string":
        return { elementType, values: await this.stringArray(key, length) };
      case "array": {
        const values: GgufArray[] = new Array(length);
        for (let i = 0; i < length; i++) values[i] = await this.array(key, depth + 1);
        return { elementType, values };
      }
      default:
        return this.numericArray(elementType, length, key);
    }
  }

  private async numericArray(elementType: NumericArrayType, length: number, key: string): Promise<GgufArray> {
    const bytes = length * GGUF_FIXED_VALUE_SIZE[elementType]!;
    // A fresh ArrayBuffer is aligned for every element size, and copying bytes keeps NaN payloads exact.
    const buffer = new ArrayBuffer(bytes);
    await this.cursor.readInto(new Uint8Array(buffer), `the elements of "${key}"`);
    return { elementType, values: typedArrayFactories[elementType](buffer, length) } as GgufArray;
  }

  private async tensorInfo(index: number, alignment: number): Promise<GgufTensorInfo> {
    const c = this.cursor;
    const name = await this.string(`the name of tensor #${index}`, this.limits.maxKeyBytes);
    const dimsOffset = c.position;
    if (!c.has(4)) await c.fill(4, `the dimension count of tensor "${name}"`);
    const dimCount = c.u32();
    if (dimCount > GGML_MAX_DIMS) {
      throw c.error(dimsOffset, `tensor "${name}" has ${dimCount} dimensions; at most ${GGML_MAX_DIMS} are allowed`);
    }
    if (!c.has(dimCount * 8 + 12)) await c.fill(dimCount * 8 + 12, `the shape, type and offset of tensor "${name}"`);
    const dims: number[] = [];
    let elements = 1n;
    for (let d = 0; d < dimCount; d++) {
      const dim = c.u64();
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) throw c.error(dimsOffset, `tensor "${name}" dimension ${d} is ${dim}, too large`);
      // ggml tensors are never empty; a zero dimension is a corrupt shape (and divides by zero in ggml's size checks).
      if (dim === 0n) throw c.error(dimsOffset, `tensor "${name}" dimension ${d} is 0`);
      elements *= dim;
      // Element counts past 2^53 cannot be addressed exactly in JS, and no file holds that many bytes.
      if (elements > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw c.error(dimsOffset, `tensor "${name}" shape overflows: dimension ${d} is ${dim}`);
      }
      dims.push(Number(dim));
    }
    const elementCount = Number(elements);
    const typeOffset = c.position;
    const typeCode = c.u32();
    const type = ggmlTypeName(typeCode);
    if (type === undefined) throw c.error(typeOffset, `tensor "${name}" has unknown ggml type ${typeCode}`);
    const { blockSize } = GGML_TYPE_LAYOUT[type];
    const rowLength = dims.length > 0 ? dims[0] : 1;
    if (rowLength % blockSize !== 0) {
      throw c.error(dimsOffset, `tensor "${name}" of type ${type} has row length ${rowLength}, not a multiple of its block size ${blockSize}`);
    }
    const offsetOffset = c.position;
    const rawOffset = c.u64();
    if (rawOffset > BigInt(c.fileSize)) {
      throw c.error(offsetOffset, `tensor "${name}" data offset ${rawOffset} is beyond the end of the file`);
    }
    const offset = Number(rawOffset);
    if (offset % alignment !== 0) {
      throw c.error(offsetOffset, `tensor "${name}" data offset ${offset} is not a multiple of the alignment ${alignment}`);
    }
    const byteLength = tensorByteLength(type, elementCount);
    return { name, dims, type, offset, fileOffset: 0, elementCount, byteLength };
  }
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function describeMagic(magic: number): string {
  const bytes = [magic & 0xff, (magic >>> 8) & 0xff, (magic >>> 16) & 0xff, magic >>> 24];
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return printable ? `"${String.fromCharCode(...bytes)}" (${hex})` : `${hex}`;
}
