import { describe, expect, it } from "vitest";
import { attentionBackward, attentionForward } from "../../src/engine/kernels/reference/attention.js";
import { attentionBackwardFast, attentionForwardFast } from "../../src/engine/kernels/fast/attention-fast.js";
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from "../../src/engine/kernels/reference/matmul.js";
import { matmulBackwardInputFast, matmulBackwardWeightFast, matmulForwardFast } from "../../src/engine/kernels/fast/matmul-fast.js";
import { fastJsKernels, createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { SimdMatmul, simdAvailable } from "../../src/engine/kernels/fast/matmul-simd.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

const randomF32 = (size: number, random: SeededRandom) => Float32Array.from({ length: size }, () => random.uniform(-1, 1));

// Shapes that are not multiples of the 4x4 blocks exercise the remainder loops too.
const shapes = [
  { N: 8, C: 16, OC: 12 },
  { N: 6, C: 12, OC: 9 },
  { N: 33, C: 172, OC: 64 },
  { N: 6, C: 2052, OC: 9 }, // reduction longer than one SIMD chunk
  { N: 7, C: 13, OC: 10 },
  { N: 1, C: 3, OC: 5 },
  { N: 9, C: 64, OC: 3 },
];

describe("fast kernels equal the reference kernels", () => {
  for (const { N, C, OC } of shapes) {
    it(`matmul forward/backward at N=${N} C=${C} OC=${OC}`, () => {
      const random = new SeededRandom(N * 100 + C);
      const inp = randomF32(N * C, random), weight = randomF32(OC * C, random), dout = randomF32(N * OC, random);
      for (const accumulate of [false, true]) {
        const expected = randomF32(N * OC, random), actual = expected.slice();
        matmulForward(expected, inp, weight, N, C, OC, accumulate);
        matmulForwardFast(actual, inp, weight, N, C, OC, accumulate);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6);
      }
      const simd = new SimdMatmul();
      for (const accumulate of [false, true]) {
        const expected = randomF32(N * OC, random), actual = expected.slice();
        matmulForward(expected, inp, weight, N, C, OC, accumulate);
        simd.forward(actual, inp, weight, N, C, OC, accumulate);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6); // float32 accumulation in SIMD lanes
      }
      const dinpRef = new Float32Array(N * C).fill(0.5), dinpFast = dinpRef.slice(), dinpTransposed = dinpRef.slice(), dinpJs = dinpRef.slice();
      matmulBackwardInput(dinpRef, dout, weight, N, C, OC);
      matmulBackwardInputFast(dinpFast, dout, weight, N, C, OC);
      fastKernels.matmulBackwardInputFrozen(dinpTransposed, dout, weight, N, C, OC);
      fastJsKernels.matmulBackwardInputFrozen(dinpJs, dout, weight, N, C, OC);
      expect(relativeError(dinpJs, dinpRef)).toBeLessThan(1e-6);
      expect(relativeError(dinpFast, dinpRef)).toBeLessThan(1e-6);
      expect(relativeError(dinpTransposed, dinpRef)).toBeLessThan(1e-6);
      // accumulate false writes the input gradient over whatever the buffer held, in every kernel set
      const written = new Float32Array(N * C);
      matmulBackwardInput(written, dout, weight, N, C, OC);
      for (const kernels of [referenceKernels, fastJsKernels, fastKernels]) {
        const stale = new Float32Array(N * C).fill(7);
        kernels.matmulBackwardInputFrozen(stale, dout, weight, N, C, OC, false);
        expect(relativeError(stale, written)).toBeLessThan(1e-6);
      }
      const dwRef = new Float32Array(OC * C).fill(-0.25), dwFast = dwRef.slice();
      matmulBackwardWeight(dwRef, dout, inp, N, C, OC);
      matmulBackwardWeightFast(dwFast, dout, inp, N, C, OC);
      expect(relativeError(dwFast, dwRef)).toBeLessThan(1e-6);
    });
  }

  it.each([
    [2048, 64, 8],
    [64, 8, 288], // LoRA B's gradient: C is the rank
    [12, 20, 8],
    [6, 9, 3], // falls back to the JS kernels (N, OC not multiples of 4)
  ])("LoRA gradients of the default kernel set (SIMD on transposes) at N=%i C=%i OC=%i", (N, C, OC) => {
    const random = new SeededRandom(N + C + OC);
    const inp = randomF32(N * C, random), weight = randomF32(OC * C, random), dout = randomF32(N * OC, random);
    const dwRef = randomF32(OC * C, random), dwFast = dwRef.slice();
    matmulBackwardWeight(dwRef, dout, inp, N, C, OC);
    fastKernels.matmulBackwardWeight(dwFast, dout, inp, N, C, OC);
    expect(relativeError(dwFast, dwRef)).toBeLessThan(1e-6);
    const dinpRef = randomF32(N * C, random), dinpFast = dinpRef.slice();
    matmulBackwardInput(dinpRef, dout, weight, N, C, OC);
    fastKernels.matmulBackwardInput(dinpFast, dout, weight, N, C, OC);
    expect(relativeError(dinpFast, dinpRef)).toBeLessThan(1e-6);
  });

  it.each([8, 12, 5])("attention forward/backward with grouped-query heads, head size %i", (HS) => {
    const random = new SeededRandom(11);
    const shape = { B: 2, T: 9, NH: 6, NKV: 2, HS };
    const { B, T, NH, NKV } = shape;
    const q = randomF32(B * T * NH * HS, random), k = randomF32(B * T * NKV * HS, random), v = randomF32(k.length, random);
    const dout = randomF32(q.length, random);
    const outRef = new Float32Array(q.length), outFast = new Float32Array(q.length);
    const attRef = new Float32Array(B * NH * T * T), attFast = new Float32Array(attRef.length);
    attentionForward(outRef, attRef, q, k, v, shape);
    attentionForwardFast(outFast, attFast, q, k, v, shape);
    expect(relativeError(outFast, outRef)).toBeLessThan(1e-6);
    const grads = () => [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)] as const;
    const [dqRef, dkRef, dvRef] = grads();
    const [dqFast, dkFast, dvFast] = grads();
    attentionBackward(dqRef, dkRef, dvRef, new Float32Array(T), dout, q, k, v, attRef, shape);
    attentionBackwardFast(dqFast, dkFast, dvFast, new Float32Array(T), dout, q, k, v, attFast, shape);
    expect(relativeError(dqFast, dqRef)).toBeLessThan(1e-6);
    expect(relativeError(dkFast, dkRef)).toBeLessThan(1e-6);
    expect(relativeError(dvFast, dvRef)).toBeLessThan(1e-6);
  });
});

describe("WebAssembly SIMD", () => {
  it("is available in this runtime (else the fast kernels silently fall back to JS)", () => {
    expect(simdAvailable()).toBe(true);
  });
  it.each([false, true])("the two-thread kernel equals the reference (edges, chunked reductions, accumulate; helper runs every unit: %s)", async (helperRunsEveryUnit) => {
    const { ParallelSimdMatmul, threadsAvailable } = await import("../../src/engine/kernels/fast/parallel-matmul.js");
    expect(threadsAvailable()).toBe(true);
    const parallel = new ParallelSimdMatmul({ helperRunsEveryUnit });
    try {
      const random = new SeededRandom(14);
      // the last two have fewer row blocks than panels, so the threads split the panels instead of the rows
      for (const [N, C, OC] of [[7, 12, 10], [66, 64, 172], [30, 2052, 36], [64, 16, 1030], [3, 700, 400], [4, 512, 520]]) {
        const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
        for (const accumulate of [false, true]) {
          const expected = randomF32(N * OC, random), actual = expected.slice();
          matmulForward(expected, inp, weight, N, C, OC, accumulate);
          parallel.forward(actual, inp, weight, N, C, OC, accumulate);
          expect(relativeError(actual, expected)).toBeLessThan(1e-6);
        }
        const dout = randomF32(N * OC, random), expected = randomF32(N * C, random), actual = expected.slice();
        matmulBackwardInput(expected, dout, weight, N, C, OC);
        parallel.backwardInput(actual, dout, weight, N, C, OC, true);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6);
      }
      // 5 of the 6 shapes are big enough to hand over, forward twice and backward once each
      if (helperRunsEveryUnit) expect(parallel.helperUnits).toBeGreaterThanOrEqual(5 * 3 * 2);
    } finally {
      await parallel.close();
    }
  });

  it("survives memory growth between calls", () => {
    const simd = new SimdMatmul();
    const random = new SeededRandom(13);
    for (const [N, C, OC] of [[4, 8, 8], [256, 64, 300], [4, 8, 8]]) {
      const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
      const expected = new Float32Array(N * OC), actual = new Float32Array(N * OC);
      matmulForward(expected, inp, weight, N, C, OC);
      simd.forward(actual, inp, weight, N, C, OC);
      expect(relativeError(actual, expected)).toBeLessThan(1e-6);
    }
  });
});

describe("table exp", () => {
  it("matches Math.exp on (-88, 0] to 1e-10 relative and keeps NaN", async () => {
    const { expNonPositive } = await import("../../src/engine/kernels/fast/fast-exp.js");
    const random = new SeededRandom(12);
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const x = -random.next() * 87.5;
      worst = Math.max(worst, Math.abs(expNonPositive(x) - Math.exp(x)) / Math.exp(x));
    }
    expect(worst).toBeLessThan(1e-10);
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-1000)).toBe(0);
    expect(expNonPositive(Number.NaN)).toBeNaN();
  });
});
