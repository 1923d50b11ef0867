import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UnsupportedFeatureError } from "../../src/errors/index.js";
import { halfToFloat } from "../../src/gguf/half-float.js";
import { dequantize, quantize, quantizeQ4_0, quantizeQ8_0 } from "../../src/gguf/quantization.js";
import { seededRandom } from "../../src/random/seeded-random.js";

const scaleOf = (block: Uint8Array) => halfToFloat(block[0] | (block[1] << 8));

describe("Q8_0 (ggml quantize_row_q8_0_ref)", () => {
  it("scales by amax/127 and rounds halves away from zero", () => {
    const values = new Float32Array(32);
    values[0] = 127; // amax 127 → d = 1, id = 1
    values[1] = -2.5; // roundf → -3 (Math.round would give -2)
    values[2] = 2.5; // → 3
    values[3] = 0.49;
    values[4] = -127;
    const block = quantizeQ8_0(values);
    expect(block.byteLength).toBe(34);
    expect(scaleOf(block)).toBe(1);
    const q = new Int8Array(block.buffer, 2, 32);
    expect([q[0], q[1], q[2], q[3], q[4], q[5]]).toEqual([127, -3, 3, 0, -127, 0]);
    expect(Array.from(dequantize("Q8_0", block, 32).slice(0, 5))).toEqual([127, -3, 3, 0, -127]);
  });

  it("writes an all-zero block as zero scale and zero quants", () => {
    expect(Array.from(quantizeQ8_0(new Float32Array(32)))).toEqual(new Array(34).fill(0));
  });

  // Half a step from rounding, plus the fp16 rounding of the scale applied to quants up to 127.
  it("reconstructs random data within half a quantization step (plus the fp16 scale error)", () => {
    const random = seededRandom(3);
    const values = Float32Array.from({ length: 32 * 64 }, () => (random() - 0.5) * 4);
    const restored = dequantize("Q8_0", quantize("Q8_0", values), values.length);
    for (let b = 0; b < 64; b++) {
      const block = values.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...block.map(Math.abs)) / 127;
      for (let j = 0; j < 32; j++) expect(Math.abs(restored[b * 32 + j] - block[j])).toBeLessThanOrEqual(step * (0.5 + 127 * 2 ** -11));
    }
  });
});

describe("Q4_0 (ggml quantize_row_q4_0_ref)", () => {
  it("uses the signed max as -8·d and packs low/high halves into nibbles", () => {
    const values = new Float32Array(32);
    values[0] = -8; // largest magnitude, negative → d = 1, id = 1 → quant (-8 + 8.5) → 0
    values[1] = 7; // 15
    values[16] = 3; // 11, goes into the high nibble of byte 0
    values[17] = -0.6; // (int8)(7.9) = 7
    values[2] = 0.5; // (int8)(9.0) = 9
    const block = quantizeQ4_0(values);
    expect(block.byteLength).toBe(18);
    expect(scaleOf(block)).toBe(1);
    expect(block[2]).toBe(0 | (11 << 4));
    expect(block[3]).toBe(15 | (7 << 4));
    expect(block[4] & 0x0f).toBe(9);
    expect(block[5]).toBe(8 | (8 << 4)); // zeros → 8
    const restored = dequantize("Q4_0", block, 32);
    expect([restored[0], restored[1], restored[2], restored[16], restored[17]]).toEqual([-8, 7, 1, 3, -1]);
  });

  it("takes the first element when two have the same magnitude, and clamps at 15", () => {
    const values = new Float32Array(32);
    values[0] = 4; // first max: d = 4 / -8 = -0.5
    values[1] = -4; // quant: -4 / -0.5 = 8 → (int8)(16.5) = 16 → clamped to 15
    const block = quantizeQ4_0(values);
    expect(scaleOf(block)).toBe(-0.5);
    expect(block[2] & 0x0f).toBe(0); // 4 * -2 + 8.5 = 0.5 → 0
    expect(block[3] & 0x0f).toBe(15);
  });

  // One step: the value opposite the signed max lands on +8 and is clamped to 7 (ggml's known bias).
  it("reconstructs random data within one quantization step", () => {
    const random = seededRandom(4);
    const values = Float32Array.from({ length: 32 * 64 }, () => (random() - 0.5) * 2);
    const restored = dequantize("Q4_0", quantize("Q4_0", values), values.length);
    for (let b = 0; b < 64; b++) {
      const block = values.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...block.map(Math.abs)) / 8;
      for (let j = 0; j < 32; j++) expect(Math.abs(restored[b * 32 + j] - block[j])).toBeLessThanOrEqual(step * (1 + 8 * 2 ** -11));
    }
  });
});

describe("codecs", () => {
  it("F32 and F16 round-trip representable values exactly", () => {
    const values = Float32Array.from([0, -0, 1.5, -2.25, 65504, 2 ** -24, 1000.5]);
    expect(Array.from(dequantize("F32", quantize("F32", values), values.length))).toEqual(Array.from(values));
    expect(Array.from(dequantize("F16", quantize("F16", values), values.length))).toEqual(Array.from(values));
  });

  it("decodes BF16 bytes", () => {
    const bytes = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]);
    expect(Array.from(dequantize("BF16", bytes, 2))).toEqual([1, -3]);
  });

  it("rejects partial blocks, wrong byte counts and unsupported types with typed errors", () => {
    expect(() => quantize("Q8_0", new Float32Array(31))).toThrow(UnsupportedFeatureError);
    expect(() => dequantize("Q4_0", new Uint8Array(17), 32)).toThrow(UnsupportedFeatureError);
    expect(() => dequantize("Q4_K", new Uint8Array(144), 256)).toThrow(/dequantizing Q4_K is not supported/);
    expect(() => quantize("BF16", new Float32Array(4))).toThrow(UnsupportedFeatureError);
  });
});

/** Deterministic inputs that stress the quantizers: ordinary, tiny, huge, near-fp16-overflow and tie values. */
function goldenInputs(blocks: number): Float32Array {
  const random = seededRandom(99);
  const x = new Float32Array(blocks * 32);
  const scales = [1, 1e-3, 1e4, 1e-30, 6e4, 1, 127, 8];
  for (let b = 0; b < blocks; b++) {
    const kind = b % 8;
    for (let j = 0; j < 32; j++) {
      let v = (random() * 2 - 1) * scales[kind];
      if (kind === 6) v = Math.round(v * 2) / 2; // exact halves: Q8_0 rounding ties
      if (kind === 7) v = Math.round((random() * 2 - 1) * 16) / 2; // Q4_0 boundary values
      if (kind === 5 && j % 5 === 0) v = 0;
      x[b * 32 + j] = v;
    }
    if (kind === 5) {
      x[b * 32 + 3] = 4; // two elements of equal magnitude: the first one sets the Q4_0 scale
      x[b * 32 + 9] = -4;
    }
  }
  return x;
}

describe("bit-exactness against ggml's C reference", () => {
  // SHA-256 of the output of ggml-quants.c quantize_row_q8_0_ref / quantize_row_q4_0_ref and
  // ggml-impl.h ggml_compute_fp32_to_fp16, compiled with gcc from the llama.cpp sources bundled in
  // node-llama-cpp 3.22 and run on goldenInputs(8000) (256,000 values).
  const GGML_SHA256 = {
    Q8_0: "56f712d6f325474a4528295982f8fdcbac02e46366e082daf479e808282866ec",
    Q4_0: "8a33886fa50bc8886b86f7e68efa6904fede193268301d1463820e53a2faefe6",
    F16: "93129eac5870a1853695128c242f60a8821958c482d0719afe26ccebd7ed4a09",
  };
  it.each(["Q8_0", "Q4_0", "F16"] as const)("%s bytes equal ggml's", (type) => {
    const bytes = quantize(type, goldenInputs(8000));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(GGML_SHA256[type]);
  });
});
