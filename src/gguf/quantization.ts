// Tensor data codecs for the types camelid reads and writes. Quantizers follow ggml's reference
// implementations (ggml-quants.c quantize_row_q8_0_ref / quantize_row_q4_0_ref) step by step in
// float32 arithmetic (Math.fround), so the bytes equal what llama.cpp's own tools would write.
import { UnsupportedFeatureError } from "../errors/index.js";
import { bfloat16ToFloat, floatBitsToHalf, floatToHalf, halfToFloatLookup } from "./half-float.js";
import { GGML_TYPE_LAYOUT, type GgmlTypeName } from "./types.js";

const QK8_0 = 32;
const QK4_0 = 32;
const fround = Math.fround;

/** Types camelid can turn into float32. */
export const DEQUANTIZABLE_TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0"] as const satisfies readonly GgmlTypeName[];
/** Types camelid can produce from float32. */
export const QUANTIZABLE_TYPES = ["F32", "F16", "Q8_0", "Q4_0"] as const satisfies readonly GgmlTypeName[];
export type QuantizableType = (typeof QUANTIZABLE_TYPES)[number];

/** C's roundf: halves go away from zero (Math.round sends -2.5 to -2). */
function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

function requireWholeBlocks(type: GgmlTypeName, elementCount: number): void {
  const { blockSize } = GGML_TYPE_LAYOUT[type];
  if (elementCount % blockSize !== 0) {
    throw new UnsupportedFeatureError(`${type} needs a multiple of ${blockSize} elements, got ${elementCount}`);
  }
}

export function quantizeQ8_0(values: Float32Array): Uint8Array {
  requireWholeBlocks("Q8_0", values.length);
  const blocks = values.length / QK8_0;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(values[base + j]));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const at = b * 34;
    view.setUint16(at, floatToHalf(d), true);
    for (let j = 0; j < QK8_0; j++) view.setInt8(at + 2 + j, roundHalfAwayFromZero(fround(values[base + j] * id)));
  }
  return out;
}

export function quantizeQ4_0(values: Float32Array): Uint8Array {
  requireWholeBlocks("Q4_0", values.length);
  const blocks = values.length / QK4_0;
  const out = new Uint8Array(blocks * 18);
  const view = new DataView(out.buffer);
  const half = QK4_0 / 2;
  for (let b = 0; b < blocks; b++) {
    const base = b * QK4_0;
    // The signed value of largest magnitude (first one wins ties), as in ggml.
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = values[base + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    const at = b * 18;
    view.setUint16(at, floatToHalf(d), true);
    for (let j = 0; j < half; j++) {
      const x0 = fround(values[base + j] * id);
      const x1 = fround(values[base + half + j] * id);
      // (int8_t)(x + 8.5f) truncates toward zero; the float sum is rounded to float32 first.
      const q0 = Math.min(15, Math.trunc(fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(fround(x1 + 8.5)));
      out[at + 2 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
    }
  }
  return out;
}

export function encodeF16(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatBitsToHalf(bits[i]);
  return new Uint8Array(out.buffer);
}

export function encodeF32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** float32 values → the bytes of a tensor of `type`. */
export function quantize(type: GgmlTypeName, values: Float32Array): Uint8Array {
  switch (type) {
    case "F32":
      return encodeF32(values);
    case "F16":
      return encodeF16(values);
    case "Q8_0":
      return quantizeQ8_0(values);
    case "Q4_0":
      return quantizeQ4_0(values);
    default:
      throw new UnsupportedFeatureError(`writing ${type} tensors from float32 is not supported (supported: ${QUANTIZABLE_TYPES.join(", ")})`);
  }
}

/** Tensor bytes of `type` → float32 values. `bytes` must hold exactly `elementCount` elements. */
export function dequantize(type: GgmlTypeName, bytes: Uint8Array, elementCount: number): Float32Array {
  requireWholeBlocks(type, elementCount);
  const { blockSize, blockBytes } = GGML_TYPE_LAYOUT[type];
  const expected = (elementCount / blockSize) * blockBytes;
  if (bytes.byteLength !== expected) {
    throw new UnsupportedFeatureError(`${elementCount} ${type} elements take ${expected} bytes, got ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(elementCount);
  switch (type) {
    case "F32":
      for (let i = 0; i < elementCount; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case "F16": {
      const table = halfToFloatLookup();
      for (let i = 0; i < elementCount; i++) out[i] = table[view.getUint16(i * 2, true)];
      return out;
    }
    case "BF16":
      for (let i = 0; i < elementCount; i++) out[i] = bfloat16ToFloat(view.getUint16(i * 2, true));
      return out;
    case "Q8_0": {
      const table = halfToFloatLookup();
      for (let b = 0; b < elementCount / QK8_0; b++) {
        const at = b * 34;
        const d = table[view.getUint16(at, true)];
        for (let j = 0; j < QK8_0; j++) out[b * QK8_0 + j] = view.getInt8(at + 2 + j) * d;
      }
      return out;
    }
    case "Q4_0": {
      const table = halfToFloatLookup();
      const half = QK4_0 / 2;
      for (let b = 0; b < elementCount / QK4_0; b++) {
        const at = b * 18;
        const d = table[view.getUint16(at, true)];
        for (let j = 0; j < half; j++) {
          const packed = bytes[at + 2 + j];
          out[b * QK4_0 + j] = ((packed & 0x0f) - 8) * d;
          out[b * QK4_0 + half + j] = ((packed >> 4) - 8) * d;
        }
      }
      return out;
    }
    default:
      throw new UnsupportedFeatureError(`dequantizing ${type} is not supported (supported: ${DEQUANTIZABLE_TYPES.join(", ")})`);
  }
}
