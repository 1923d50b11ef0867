// safetensors element types (the `dtype` strings of the format) and their float32 codecs.
// Byte sizes follow the safetensors crate's Dtype::size(); only float types convert to float32.
import { floatToBits, floatToHalf, halfToFloatLookup, bfloat16ToFloat } from "../gguf/half-float.js";

export const SAFETENSORS_DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

/** dtypes whose values camelid turns into float32 (and writes from float32). */
export const FLOAT_DTYPES = ["F32", "F16", "BF16"] as const satisfies readonly SafetensorsDtype[];
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

export function isSafetensorsDtype(value: string): value is SafetensorsDtype {
  return Object.hasOwn(SAFETENSORS_DTYPE_BYTES, value);
}

export function isFloatDtype(dtype: SafetensorsDtype): dtype is FloatDtype {
  return (FLOAT_DTYPES as readonly string[]).includes(dtype);
}

/** Little-endian bytes of a float dtype → float32 (F16 and BF16 widen exactly). */
export function decodeFloats(dtype: FloatDtype, bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength / SAFETENSORS_DTYPE_BYTES[dtype];
  if (dtype === "F32") {
    // A fresh aligned copy: the caller's bytes may sit at an odd offset of a larger buffer.
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === "F16") {
    const table = halfToFloatLookup();
    for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
  } else {
    for (let i = 0; i < count; i++) out[i] = bfloat16ToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

/** float32 → bfloat16 bits, round to nearest even (torch's `.to(torch.bfloat16)`); NaN stays a quiet NaN. */
export function floatToBfloat16(value: number): number {
  const bits = floatToBits(value);
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 values → little-endian bytes of a float dtype. */
export function encodeFloats(dtype: FloatDtype, values: Float32Array): Uint8Array {
  if (dtype === "F32") return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint16Array(values.length);
  const encode = dtype === "F16" ? floatToHalf : floatToBfloat16;
  for (let i = 0; i < values.length; i++) out[i] = encode(values[i]);
  return new Uint8Array(out.buffer);
}
