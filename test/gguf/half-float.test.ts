import { describe, expect, it } from "vitest";
import { bfloat16ToFloat, bitsToFloat, floatToBits, floatToHalf, halfToFloat } from "../../src/gguf/half-float.js";
import { seededRandom } from "../../src/random/seeded-random.js";

/**
 * ggml's portable GGML_FP32_TO_FP16 (ggml-impl.h, after Maratyszcza's FP16 library): a different
 * algorithm (float arithmetic does the rounding) used here as the oracle for our bit-level version.
 */
function ggmlFp32ToFp16(f: number): number {
  const scaleToInf = 2 ** 112;
  const scaleToZero = 2 ** -110;
  let base = Math.fround(Math.fround(Math.abs(Math.fround(f)) * scaleToInf) * scaleToZero);
  const w = floatToBits(f);
  const shl1W = (w + w) >>> 0;
  const sign = w & 0x80000000;
  let bias = (shl1W & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  base = Math.fround(bitsToFloat(((bias >>> 1) + 0x07800000) >>> 0) + base);
  const bits = floatToBits(base);
  const expBits = (bits >>> 13) & 0x00007c00;
  const mantissaBits = bits & 0x00000fff;
  const nonsign = expBits + mantissaBits;
  return ((sign >>> 16) | (shl1W > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

describe("float16 conversion", () => {
  it("round-trips every non-NaN half exactly", () => {
    const failures: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const value = halfToFloat(h);
      if (!Number.isNaN(value) && floatToHalf(value) !== h) failures.push(h);
    }
    expect(failures).toEqual([]);
  });

  it("decodes known values", () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  it("rounds to nearest, ties to even, with overflow to infinity", () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // exact tie between 1 and 1+2^-10 → even (1)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa 2
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal → 0
    expect(floatToHalf(Math.fround(2 ** -25 * 1.0001))).toBe(1);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(NaN)).toBe(0x7e00);
  });

  it("matches ggml's reference conversion on edge cases and 200k random floats", () => {
    const random = seededRandom(42);
    const inputs: number[] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e-8, -1e-8, 6.1e-5, 5.96e-8, 2.98e-8, Infinity, -Infinity, 3.4e38];
    for (let i = 0; i < 200_000; i++) {
      // Random bit patterns cover every exponent, including subnormal and overflow ranges.
      const bits = (Math.floor(random() * 2 ** 32) >>> 0) as number;
      const value = bitsToFloat(bits);
      if (!Number.isNaN(value)) inputs.push(value);
    }
    for (let e = -30; e <= 17; e++) for (let k = 0; k < 64; k++) inputs.push(Math.fround((1 + k / 1024 + 1 / 2048) * 2 ** e));
    const mismatches = inputs.filter((value) => floatToHalf(value) !== ggmlFp32ToFp16(value));
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it("decodes bfloat16 as the high half of a float32", () => {
    expect(bfloat16ToFloat(0x3f80)).toBe(1);
    expect(bfloat16ToFloat(0xc040)).toBe(-3);
    expect(bfloat16ToFloat(0x3e20)).toBe(0.15625);
  });
});
