// IEEE half and bfloat16 conversions. float32 → float16 rounds to nearest, ties to even, exactly as
// ggml's GGML_FP32_TO_FP16 (hardware F16C or its portable fallback), so quantized blocks match ggml's.

let halfToFloatTable: Float32Array | undefined;

function buildHalfToFloatTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[h] = mantissa === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
}

/** A 64K-entry table (256 KB), built on first use: decoding F16 tensors becomes one lookup per element. */
export function halfToFloatLookup(): Float32Array {
  halfToFloatTable ??= buildHalfToFloatTable();
  return halfToFloatTable;
}

export function halfToFloat(half: number): number {
  return halfToFloatLookup()[half & 0xffff];
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

export function floatToBits(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0];
}

export function bitsToFloat(bits: number): number {
  scratchBits[0] = bits >>> 0;
  return scratchFloat[0];
}

/** float32 → IEEE binary16 bits, round to nearest even; NaN becomes 0x7e00 like ggml. */
export function floatToHalf(value: number): number {
  return floatBitsToHalf(floatToBits(value));
}

/** floatToHalf on the float32's bits (lets a loop read a whole Uint32Array view instead of one float at a time). */
export function floatBitsToHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa !== 0 ? 0x7e00 : 0x7c00);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent >= 1) {
    let half = (halfExponent << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    // A carry out of the mantissa bumps the exponent, and 0x7c00 is infinity: both are correct.
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return sign | half;
  }
  // Subnormal half (or zero): value = significand * 2^(halfExponent - 14) in units of 2^-24.
  const shift = 14 - halfExponent;
  if (shift > 24) return sign;
  const significand = mantissa | 0x800000;
  let half = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
  return sign | half;
}

/** bfloat16 bits → float32: the high half of a float32. */
export function bfloat16ToFloat(bits: number): number {
  return bitsToFloat((bits & 0xffff) << 16);
}
