import { InvalidArgumentError, UnsupportedFeatureError } from "../../errors/index.js";
import { GGML_TYPE_LAYOUT, quantize, type GgmlTypeName } from "../../gguf/index.js";
import { halfToFloatLookup } from "../../gguf/half-float.js";

// A frozen matrix kept in its GGUF encoding (F32, F16, BF16, Q8_0, Q4_0) so that resident memory is
// about the file's size; rows are decoded into a caller's buffer just before a matmul uses them.
// The decoders write the same float32 values as gguf's dequantize() (the oracle in the tests) but
// allocate nothing and read the blocks through typed views instead of a DataView.

export const storableTypes = ["F32", "F16", "BF16", "Q8_0", "Q4_0"] as const satisfies readonly GgmlTypeName[];
export type StorableType = (typeof storableTypes)[number];

/** [rows, cols] row-major, each row a whole number of blocks of `type`. */
export interface QuantizedMatrix {
  type: StorableType;
  rows: number;
  cols: number;
  /** The encoded rows, starting at a 4-byte aligned offset (typed views need the alignment). */
  bytes: Uint8Array;
  rowBytes: number;
}

const isStorable = (type: string): type is StorableType => (storableTypes as readonly string[]).includes(type);

/** Wraps encoded bytes as a matrix, checking that the type is decodable and the byte count fits. */
export function quantizedMatrix(type: GgmlTypeName, rows: number, cols: number, bytes: Uint8Array, name = "matrix"): QuantizedMatrix {
  if (!isStorable(type)) throw new UnsupportedFeatureError(`${name}: ${type} tensors cannot be kept encoded (supported: ${storableTypes.join(", ")})`);
  const { blockSize, blockBytes } = GGML_TYPE_LAYOUT[type];
  if (cols % blockSize !== 0) throw new UnsupportedFeatureError(`${name}: rows of ${cols} values are not whole ${type} blocks of ${blockSize}`);
  const rowBytes = (cols / blockSize) * blockBytes;
  if (bytes.byteLength !== rows * rowBytes) {
    throw new InvalidArgumentError(name, `${name}: ${rows}x${cols} ${type} takes ${rows * rowBytes} bytes, got ${bytes.byteLength}`);
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return { type, rows, cols, bytes: aligned, rowBytes };
}

/** Encodes float32 rows [rows, cols] as `type` (ggml's reference quantizers). */
export function encodeMatrix(type: StorableType, values: Float32Array, rows: number, cols: number, name = "matrix"): QuantizedMatrix {
  if (values.length !== rows * cols) throw new InvalidArgumentError(name, `${name}: ${values.length} values for a ${rows}x${cols} matrix`);
  if (type === "BF16") throw new UnsupportedFeatureError(`${name}: encoding BF16 is not supported`);
  return quantizedMatrix(type, rows, cols, quantize(type, values), name);
}

/** out[r * cols + c] = value of row firstRow + r, for rowCount rows. */
export function dequantizeRows(out: Float32Array, matrix: QuantizedMatrix, firstRow: number, rowCount: number): void {
  checkRange(out, matrix, firstRow, rowCount);
  const { bytes, cols, rowBytes } = matrix;
  const start = bytes.byteOffset + firstRow * rowBytes;
  const count = rowCount * cols;
  switch (matrix.type) {
    case "F32":
      out.set(new Float32Array(bytes.buffer, start, count));
      return;
    case "F16": {
      const table = halfToFloatLookup();
      const halves = new Uint16Array(bytes.buffer, start, count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i]];
      return;
    }
    case "BF16": {
      const halves = new Uint16Array(bytes.buffer, start, count);
      const bits = new Uint32Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) bits[i] = halves[i] << 16;
      return;
    }
    case "Q8_0":
      decodeQ8_0(out, 0, bytes.buffer, start, count / 32);
      return;
    case "Q4_0":
      decodeQ4_0(out, 0, bytes.buffer, start, count / 32);
      return;
  }
}

/** Embedding lookup from an encoded table: out[n, :] = row tokens[n]. */
export function gatherRows(out: Float32Array, matrix: QuantizedMatrix, tokens: Int32Array, N: number): void {
  const { cols } = matrix;
  for (let n = 0; n < N; n++) dequantizeRows(out.subarray(n * cols, (n + 1) * cols), matrix, tokens[n], 1);
}

function checkRange(out: Float32Array, matrix: QuantizedMatrix, firstRow: number, rowCount: number): void {
  if (firstRow < 0 || rowCount < 0 || firstRow + rowCount > matrix.rows) {
    throw new InvalidArgumentError("rows", `rows ${firstRow}..${firstRow + rowCount} are outside a matrix of ${matrix.rows} rows`);
  }
  if (out.length < rowCount * matrix.cols) throw new InvalidArgumentError("out", `the output holds ${out.length} values, ${rowCount * matrix.cols} needed`);
}

// Q8_0 block: f16 scale d, 32 int8 q; value = q * d. Q4_0 block: f16 d, 16 bytes of nibbles; value
// j = (low nibble - 8) * d, value j + 16 = (high nibble - 8) * d. Blocks are 34 and 18 bytes, both
// even, so the scale is a Uint16 at an aligned index.
function decodeQ8_0(out: Float32Array, at: number, buffer: ArrayBufferLike, start: number, blocks: number): void {
  const table = halfToFloatLookup();
  const signed = new Int8Array(buffer, start, blocks * 34);
  const halves = new Uint16Array(buffer, start, blocks * 17);
  for (let b = 0; b < blocks; b++) {
    const d = table[halves[b * 17]];
    const q = b * 34 + 2, o = at + b * 32;
    for (let j = 0; j < 32; j++) out[o + j] = signed[q + j] * d;
  }
}

function decodeQ4_0(out: Float32Array, at: number, buffer: ArrayBufferLike, start: number, blocks: number): void {
  const table = halfToFloatLookup();
  const packed = new Uint8Array(buffer, start, blocks * 18);
  const halves = new Uint16Array(buffer, start, blocks * 9);
  for (let b = 0; b < blocks; b++) {
    const d = table[halves[b * 9]];
    const q = b * 18 + 2, o = at + b * 32;
    for (let j = 0; j < 16; j++) {
      const byte = packed[q + j];
      out[o + j] = ((byte & 0x0f) - 8) * d;
      out[o + 16 + j] = ((byte >> 4) - 8) * d;
    }
  }
}
