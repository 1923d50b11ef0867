import { describe, expect, it } from "vitest";
import { attentionBackward, attentionForward, type AttentionShape } from "../../src/engine/kernels/reference/attention.js";
import { createFastKernels } from "../../src/engine/kernels/kernel-set.js";
import { ParallelAttention } from "../../src/engine/kernels/fast/parallel-attention.js";
import { simdAttentionApplies } from "../../src/engine/kernels/fast/attention-simd.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// The two-thread attention must equal the reference as the one-thread fast kernels do, on both of its
// paths (WebAssembly SIMD, units = batch elements; generated JS, units = batch x key/value head),
// including grouped-query heads (a key/value head's gradient gathers several query heads: the split
// must keep them on one thread) and an odd number of units (the halves differ in size).

const shared = (values: Float32Array) => {
  const copy = new Float32Array(new SharedArrayBuffer(values.length * 4));
  copy.set(values);
  return copy;
};
const randomF32 = (size: number, random: SeededRandom) => Float32Array.from({ length: size }, () => random.uniform(-1, 1));

function compare(shape: AttentionShape, run: (out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array) => void, tolerance = 1e-6) {
  const { B, T, NH, NKV, HS } = shape;
  const random = new SeededRandom(B * 1000 + NH * 10 + HS);
  const q = randomF32(B * T * NH * HS, random), k = randomF32(B * T * NKV * HS, random), v = randomF32(k.length, random);
  const dout = randomF32(q.length, random);
  const out = new Float32Array(q.length), att = new Float32Array(B * NH * T * T);
  attentionForward(out, att, q, k, v, shape);
  const dq = new Float32Array(q.length).fill(0.5), dk = new Float32Array(k.length).fill(-0.5), dv = new Float32Array(v.length).fill(0.25);
  const [dqS, dkS, dvS] = [shared(dq), shared(dk), shared(dv)];
  attentionBackward(dq, dk, dv, new Float32Array(T), dout, q, k, v, att, shape);
  const outS = shared(new Float32Array(q.length)), attS = shared(new Float32Array(att.length));
  run(outS, attS, shared(q), shared(k), shared(v), dqS, dkS, dvS, shared(dout));
  expect(relativeError(outS, out)).toBeLessThan(tolerance);
  expect(relativeError(attS, att)).toBeLessThan(tolerance);
  expect(relativeError(dqS, dq)).toBeLessThan(tolerance);
  expect(relativeError(dkS, dk)).toBeLessThan(tolerance);
  expect(relativeError(dvS, dv)).toBeLessThan(tolerance);
}

const shapes: AttentionShape[] = [
  { B: 3, T: 17, NH: 6, NKV: 3, HS: 8 }, // 9 units: an odd split, groups of 2 query heads
  { B: 2, T: 24, NH: 4, NKV: 1, HS: 12 }, // 2 units, all query heads on one key/value head
  { B: 1, T: 40, NH: 6, NKV: 6, HS: 48 }, // the stories15M head size, no grouping
];

describe("attention on two threads", () => {
  it.each(shapes.flatMap((shape) => [true, false].map((simd) => ({ shape, simd }))))("equals the reference at %o", async ({ shape, simd }) => {
    if (simd) expect(simdAttentionApplies(shape)).toBe(true);
    const parallel = new ParallelAttention({ simd });
    try {
      compare(shape, (out, att, q, k, v, dq, dk, dv, dout) => {
        parallel.forward(out, att, q, k, v, shape);
        parallel.backward(dq, dk, dv, new Float32Array(shape.T), dout, q, k, v, att, shape);
      }, simd ? 2e-6 : 1e-6);
    } finally {
      await parallel.close();
    }
  });

  it("runs a single batch element (one SIMD unit: the helper finds none left) and head sizes the SIMD path does not take", async () => {
    const parallel = new ParallelAttention();
    try {
      for (const shape of [{ B: 1, T: 30, NH: 4, NKV: 2, HS: 16 }, { B: 3, T: 10, NH: 2, NKV: 1, HS: 6 }]) {
        compare(shape, (out, att, q, k, v, dq, dk, dv, dout) => {
          parallel.forward(out, att, q, k, v, shape);
          parallel.backward(dq, dk, dv, new Float32Array(shape.T), dout, q, k, v, att, shape);
        }, 2e-6);
      }
    } finally {
      await parallel.close();
    }
  });

  it.each([
    { simd: true, units: 4 }, // batch elements
    { simd: false, units: 8 }, // batch x key/value head
  ])("runs every unit on the helper thread when told to, with the same result (%o)", async ({ simd, units }) => {
    // the helper's code is compiled from source text on its own thread: check that path itself
    const parallel = new ParallelAttention({ simd, helperRunsEveryUnit: true });
    const shape = { B: 4, T: 24, NH: 4, NKV: 2, HS: 16 };
    try {
      compare(shape, (out, att, q, k, v, dq, dk, dv, dout) => {
        parallel.forward(out, att, q, k, v, shape);
        expect(parallel.helperUnits).toBe(units);
        parallel.backward(dq, dk, dv, new Float32Array(shape.T), dout, q, k, v, att, shape);
        expect(parallel.helperUnits).toBe(units);
      }, 2e-6);
    } finally {
      await parallel.close();
    }
  });

  it("is what the fast kernel set runs on shared buffers, and the result is the same", () => {
    const shape = { B: 4, T: 64, NH: 8, NKV: 4, HS: 8 };
    compare(shape, (out, att, q, k, v, dq, dk, dv, dout) => {
      fastKernels.attentionForward(out, att, q, k, v, shape);
      fastKernels.attentionBackward(dq, dk, dv, new Float32Array(shape.T), dout, q, k, v, att, shape);
    }, 2e-6);
  });

  it("keeps working when buffers are replaced between calls (new batch shapes)", async () => {
    const parallel = new ParallelAttention();
    try {
      for (const T of [9, 13, 9, 21]) {
        const shape = { B: 2, T, NH: 4, NKV: 2, HS: 8 };
        compare(shape, (out, att, q, k, v, dq, dk, dv, dout) => {
          parallel.forward(out, att, q, k, v, shape);
          parallel.backward(dq, dk, dv, new Float32Array(T), dout, q, k, v, att, shape);
        }, 2e-6);
      }
    } finally {
      await parallel.close();
    }
  });
});
