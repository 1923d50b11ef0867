import { describe, expect, it } from "vitest";
import { UnsupportedFeatureError } from "../../src/errors/index.js";
import { matmulBackwardInput, matmulForward } from "../../src/engine/kernels/reference/matmul.js";
import { SimdMatmul, TILE_ROWS } from "../../src/engine/kernels/fast/matmul-simd.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

const randomF32 = (size: number, random: SeededRandom) => Float32Array.from({ length: size }, () => random.uniform(-1, 1));

/** A kernel with another register tile (the tile is a build-time choice; every shape must work with any). */
const tiledMatmul = (rows: number, vectors: number) => new SimdMatmul({ fused: true, rows, vectors });

describe("register-tiled SIMD matmul with packed weight panels", () => {
  // N, K and OC off every multiple of the tile (rows, panel width) and of 4
  const shapes = [[1, 1, 1], [3, 5, 7], [5, 19, 33], [2, 1030, 17], [9, 64, 16]];

  it.each([[2, 4], [3, 3], [4, 2], [1, 1]])("tile %ix%i vectors: forward and backwardInput equal the reference", (rows, vectors) => {
    const kernel = tiledMatmul(rows, vectors);
    const random = new SeededRandom(rows * 10 + vectors);
    for (const [N, C, OC] of shapes) {
      const inp = randomF32(N * C, random), weight = randomF32(OC * C, random), dout = randomF32(N * OC, random);
      for (const accumulate of [false, true]) {
        const expected = randomF32(N * OC, random), actual = expected.slice();
        matmulForward(expected, inp, weight, N, C, OC, accumulate);
        kernel.forward(actual, inp, weight, N, C, OC, accumulate);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6);
      }
      const expected = randomF32(N * C, random), actual = expected.slice();
      matmulBackwardInput(expected, dout, weight, N, C, OC);
      kernel.backwardInput(actual, dout, weight, N, C, OC);
      expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    }
  });

  it("kernels specialised per input row stride, and the general kernel past the first 25 strides, equal the reference on two threads", async () => {
    const { ParallelSimdMatmul } = await import("../../src/engine/kernels/fast/parallel-matmul.js");
    const kernel = new ParallelSimdMatmul({ helperRunsEveryUnit: true });
    try {
      const random = new SeededRandom(8);
      // 30 reduction lengths: every one is a new row stride, so the last five run on the general kernel
      for (let i = 0; i < 30; i++) {
        const N = 64 + (i % 3), C = 130 + 13 * i, OC = 64 + 8 * (i % 4); // each at least 2^19 multiply-adds: both threads take part
        const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
        const expected = new Float32Array(N * OC), actual = new Float32Array(N * OC);
        const helperBefore = kernel.helperUnits;
        matmulForward(expected, inp, weight, N, C, OC);
        kernel.forward(actual, inp, weight, N, C, OC);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6);
        expect(kernel.helperUnits).toBeGreaterThan(helperBefore); // the helper received and ran this stride's kernel
      }
    } finally {
      await kernel.close();
    }
  });

  it("a large frozen weight (shared out by panels between the threads) equals the reference, helper or both threads", async () => {
    const { ParallelSimdMatmul } = await import("../../src/engine/kernels/fast/parallel-matmul.js");
    const random = new SeededRandom(9);
    // 288 x 4096 packed is 4.5 MiB, past the 4 MiB at which units become stretches of panels: 512
    // panels in 47 units of 11, where 192 rows would have made 48 units of one 4-row block
    const N = 192, C = 288, OC = 4096;
    const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
    const expected = new Float32Array(N * OC);
    matmulForward(expected, inp, weight, N, C, OC);
    for (const helperRunsEveryUnit of [false, true]) {
      const kernel = new ParallelSimdMatmul({ helperRunsEveryUnit });
      try {
        const actual = new Float32Array(N * OC);
        kernel.forward(actual, inp, weight, N, C, OC, false, true);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6);
        if (helperRunsEveryUnit) expect(kernel.helperUnits).toBe(47);
      } finally {
        await kernel.close();
      }
    }
  });

  it("keeps a frozen weight's panels, and never a changing weight's", () => {
    const kernel = new SimdMatmul();
    const random = new SeededRandom(3);
    const N = 6, C = 40, OC = 24;
    const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
    const expected = new Float32Array(N * OC), actual = new Float32Array(N * OC);
    matmulForward(expected, inp, weight, N, C, OC);
    kernel.forward(actual, inp, weight, N, C, OC, false, true);
    expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    // a frozen weight is read once: a later change is not seen (that is the promise `frozen` makes)
    const frozenCopy = weight.slice();
    weight.fill(0);
    kernel.forward(actual, inp, weight, N, C, OC, false, true);
    expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    // without `frozen` the same array is packed again on every call, so changes are seen
    const changing = frozenCopy.slice();
    kernel.forward(actual, inp, changing, N, C, OC);
    expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    for (let i = 0; i < changing.length; i++) changing[i] *= 2;
    kernel.forward(actual, inp, changing, N, C, OC);
    for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(2 * expected[i], 4);
  });

  it("recognises a frozen weight handed over as a fresh view of the same memory", () => {
    const kernel = new SimdMatmul();
    const random = new SeededRandom(5);
    const N = 4, C = 16, OC = 32;
    const storage = randomF32(2 * OC * C, random), inp = randomF32(N * C, random);
    const expected = new Float32Array(N * OC), actual = new Float32Array(N * OC);
    kernel.forward(actual, inp, storage.subarray(0, OC * C), N, C, OC, false, true);
    const kept = kernel.packedBytes;
    expect(kept).toBeGreaterThan(0);
    for (let call = 0; call < 3; call++) kernel.forward(actual, inp, storage.subarray(0, OC * C), N, C, OC, false, true);
    expect(kernel.packedBytes).toBe(kept);
    // another stretch of the same buffer is another weight
    kernel.forward(actual, inp, storage.subarray(OC * C), N, C, OC, false, true);
    matmulForward(expected, inp, storage.subarray(OC * C), N, C, OC);
    expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    expect(kernel.packedBytes).toBe(2 * kept);
  });

  it("packs per call once the frozen budget is spent, with the same results", () => {
    const kernel = new SimdMatmul();
    kernel.packedBudget = 0;
    const random = new SeededRandom(4);
    const N = 4, C = 12, OC = 20;
    const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
    const expected = new Float32Array(N * OC), actual = new Float32Array(N * OC);
    matmulForward(expected, inp, weight, N, C, OC);
    kernel.forward(actual, inp, weight, N, C, OC, false, true);
    expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    weight.fill(0); // not kept, so this time the change shows
    kernel.forward(actual, inp, weight, N, C, OC, false, true);
    expect(actual.every((x) => x === 0)).toBe(true);
  });

  it("uses operands that live in its memory in place, with the same results", async () => {
    const { ParallelSimdMatmul } = await import("../../src/engine/kernels/fast/parallel-matmul.js");
    const kernel = new ParallelSimdMatmul();
    try {
      const random = new SeededRandom(6);
      for (const [N, C, OC] of [[64, 48, 320], [7, 40, 32], [2, 700, 512]]) {
        const x = kernel.allocateResident(N * C)!, out = kernel.allocateResident(N * OC)!;
        expect(x).not.toBeNull();
        x.set(randomF32(N * C, random));
        const weight = randomF32(OC * C, random), initial = randomF32(N * OC, random);
        for (const accumulate of [false, true]) {
          out.set(initial);
          const expected = initial.slice();
          matmulForward(expected, x, weight, N, C, OC, accumulate);
          kernel.forward(out, x, weight, N, C, OC, accumulate, true);
          expect(relativeError(out, expected)).toBeLessThan(1e-6);
          // an N that is not whole tiles leaves the output's last row block short: that output is copied instead
          expect(kernel.lastCall).toEqual({ xInPlace: true, outInPlace: N % TILE_ROWS === 0, weightInPlace: false });
        }
        // the input gradient reads a resident [N, OC] operand in place (the head's dlogits)
        const dinp = randomF32(N * C, random), expected = dinp.slice();
        matmulBackwardInput(expected, out, weight, N, C, OC);
        kernel.backwardInput(dinp, out, weight, N, C, OC, true);
        expect(relativeError(dinp, expected)).toBeLessThan(1e-6);
        expect(kernel.lastCall.xInPlace).toBe(true);
      }
      // memory growth after the allocation leaves the resident views valid
      const before = kernel.allocateResident(16)!;
      before.fill(3);
      kernel.allocateResident(4 << 20);
      expect(before.every((v) => v === 3)).toBe(true);
      kernel.residentBudget = 0;
      expect(kernel.allocateResident(4)).toBeNull();
      // kept weight bytes count packed panels only, not resident buffers
      const weightsBefore = kernel.keptWeightBytes, residentBefore = kernel.packedBytes;
      kernel.allocateResident(64);
      kernel.forward(new Float32Array(2 * 16), new Float32Array(2 * 8), new Float32Array(16 * 8), 2, 8, 16, false, true);
      expect(kernel.keptWeightBytes - weightsBefore).toBe(16 * 8 * 4);
      expect(kernel.packedBytes - residentBefore).toBe(16 * 8 * 4);
    } finally {
      await kernel.close();
    }
  });

  it("reads a changing [K, OC] weight of whole panels unpacked: in place when resident, else copied whole", async () => {
    const { ParallelSimdMatmul } = await import("../../src/engine/kernels/fast/parallel-matmul.js");
    const kernel = new ParallelSimdMatmul();
    try {
      const random = new SeededRandom(7);
      // backwardInput's weight is stored [OC, C] and read transposed: C is the kernel's output width.
      // [8, 2048] x [2048, 288] is a LoRA weight gradient's shape (rank 8, 2048 positions, dim 288)
      for (const [N, C, OC] of [[8, 288, 2048], [5, 32, 700], [3, 48, 1]]) {
        for (const resident of [true, false]) {
          const dout = randomF32(N * OC, random);
          const weight = resident ? kernel.allocateResident(OC * C)! : new Float32Array(OC * C);
          weight.set(randomF32(OC * C, random));
          const dinp = randomF32(N * C, random), expected = dinp.slice();
          matmulBackwardInput(expected, dout, weight, N, C, OC);
          kernel.backwardInput(dinp, dout, weight, N, C, OC);
          expect(relativeError(dinp, expected)).toBeLessThan(1e-6);
          expect(kernel.lastCall.weightInPlace).toBe(true);
          // the weight changes between calls (it is an activation): the next call sees the change
          for (let i = 0; i < weight.length; i++) weight[i] *= -2;
          const again = expected.slice();
          matmulBackwardInput(again, dout, weight, N, C, OC);
          kernel.backwardInput(expected, dout, weight, N, C, OC);
          expect(relativeError(expected, again)).toBeLessThan(1e-5); // sums of up to 2048 products, twice
        }
      }
      // a width that is not whole panels is packed as before
      const N = 2, C = 20, OC = 30;
      const dout = randomF32(N * OC, random), weight = randomF32(OC * C, random), dinp = new Float32Array(N * C), expected = new Float32Array(N * C);
      matmulBackwardInput(expected, dout, weight, N, C, OC);
      kernel.backwardInput(dinp, dout, weight, N, C, OC);
      expect(relativeError(dinp, expected)).toBeLessThan(1e-6);
      expect(kernel.lastCall.weightInPlace).toBe(false);
    } finally {
      await kernel.close();
    }
  });

  it("names the shape and the memory when operands exceed the kernel memory, and stays usable", () => {
    const kernel = new SimdMatmul();
    Object.assign(kernel, { maxBytes: 1 << 20 }); // a shared memory's fixed maximum, made small
    const N = 512, C = 512, OC = 512;
    const call = () => kernel.forward(new Float32Array(N * OC), new Float32Array(N * C), new Float32Array(OC * C), N, C, OC);
    expect(call).toThrow(UnsupportedFeatureError);
    expect(call).toThrow(/512x512 by 512x512 matmul needs 3 MiB of kernel memory and 1 MiB is left/);
    const out = new Float32Array(4);
    kernel.forward(out, Float32Array.of(1, 2), Float32Array.of(3, 4), 2, 1, 2);
    expect(Array.from(out)).toEqual([3, 4, 6, 8]);
  });

  it("hands out no resident buffer from a private (growable, detachable) memory, or past its budget", () => {
    expect(new SimdMatmul().allocateResident(16)).toBeNull();
  });
});
