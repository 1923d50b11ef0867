import { describe, expect, it } from "vitest";
import { attentionBackward, attentionForward, type AttentionShape } from "../../src/engine/kernels/reference/attention.js";
import { createFastKernels } from "../../src/engine/kernels/kernel-set.js";
import { attentionLayout, buildAttentionModule } from "../../src/engine/kernels/fast/attention-simd-kernel.js";
import { simdAttentionApplies, SimdAttentionThread } from "../../src/engine/kernels/fast/attention-simd.js";
import { simdBackwardUnits, simdForwardUnits, type AttentionUnitKernel } from "../../src/engine/kernels/fast/attention-units.js";
import { relaxedSimdAvailable } from "../../src/engine/kernels/fast/relaxed-simd.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// The WebAssembly SIMD attention (one thread) against the reference kernels: forward out and att,
// backward dq/dk/dv accumulated onto non-zero gradients, for plain and grouped-query heads, sequence
// lengths that are and are not multiples of the 8-row padding, head sizes 4 to 64, with and without
// fused multiply-adds. Float32 lane accumulation and a polynomial exp differ from the reference's
// float64 sums by rounding only, hence the 2e-6 bound (a wrong index or mask gives errors near 1).

const randomF32 = (size: number, random: SeededRandom, scale = 1) => Float32Array.from({ length: size }, () => random.uniform(-scale, scale));

interface Operands {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
}

function operands(shape: AttentionShape, seed: number, scale = 1): Operands {
  const { B, T, NH, NKV, HS } = shape;
  const random = new SeededRandom(seed);
  const q = randomF32(B * T * NH * HS, random, scale), k = randomF32(B * T * NKV * HS, random, scale), v = randomF32(k.length, random);
  return { q, k, v, dout: randomF32(q.length, random) };
}

/** att rows with the entries past the diagonal set to 0. */
function lowerTriangles(att: Float32Array, T: number): Float32Array {
  const copy = att.slice();
  for (let row = 0; row < att.length / T; row++) copy.fill(0, row * T + (row % T) + 1, (row + 1) * T);
  return copy;
}

type Run = {
  forward(out: Float32Array, att: Float32Array, o: Operands, shape: AttentionShape): void;
  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, att: Float32Array, o: Operands, shape: AttentionShape): void;
};

function expectEqualToReference(shape: AttentionShape, run: Run, seed: number, scale = 1): void {
  const { B, T, NH } = shape;
  const o = operands(shape, seed, scale);
  const out = new Float32Array(o.q.length), att = new Float32Array(B * NH * T * T);
  attentionForward(out, att, o.q, o.k, o.v, shape);
  const random = new SeededRandom(seed + 1);
  const dq = randomF32(o.q.length, random), dk = randomF32(o.k.length, random), dv = randomF32(o.v.length, random);
  const [dqFast, dkFast, dvFast] = [dq.slice(), dk.slice(), dv.slice()];
  attentionBackward(dq, dk, dv, new Float32Array(T), o.dout, o.q, o.k, o.v, att, shape);

  // stale values in the outputs must be overwritten (att: where t2 <= t, the part the contract defines)
  const outFast = new Float32Array(out.length).fill(7), attFast = new Float32Array(att.length).fill(7);
  run.forward(outFast, attFast, o, shape);
  expect(relativeError(outFast, out)).toBeLessThan(2e-6);
  expect(relativeError(lowerTriangles(attFast, T), lowerTriangles(att, T))).toBeLessThan(2e-6);
  // backward reads only t2 <= t of att: garbage above the diagonal must not leak in
  const attWithGarbage = att.slice();
  for (let row = 0; row < B * NH * T; row++) attWithGarbage.fill(Number.NaN, row * T + (row % T) + 1, (row + 1) * T);
  run.backward(dqFast, dkFast, dvFast, attWithGarbage, o, shape);
  expect(relativeError(dqFast, dq)).toBeLessThan(2e-6);
  expect(relativeError(dkFast, dk)).toBeLessThan(2e-6);
  expect(relativeError(dvFast, dv)).toBeLessThan(2e-6);
}

const thread = new SimdAttentionThread();
const operandsOf = (o: Operands): [Float32Array, Float32Array, Float32Array] => [o.q, o.k, o.v];
const onThread: Run = {
  forward: (out, att, o, shape) => expect(thread.forward(out, att, o.q, o.k, o.v, shape)).toBe(true),
  backward: (dq, dk, dv, att, o, shape) => expect(thread.backward(dq, dk, dv, o.dout, o.q, o.k, o.v, att, shape)).toBe(true),
};

/** The kernels built with an explicit choice of fused multiply-add, driven like SimdAttentionThread drives them. */
function withModule(shape: AttentionShape, fused: boolean): Run {
  const layout = attentionLayout(shape)!;
  const memory = new WebAssembly.Memory({ initial: layout.pages });
  const kernel = new WebAssembly.Instance(new WebAssembly.Module(buildAttentionModule(layout, fused)), { env: { memory } }).exports as unknown as AttentionUnitKernel;
  const heap = new Float32Array(memory.buffer);
  return {
    forward: (out, att, o, s) => simdForwardUnits(kernel, heap, layout, out, att, o.q, o.k, o.v, s.B, new Int32Array(1), 0),
    backward: (dq, dk, dv, att, o, s) => simdBackwardUnits(kernel, heap, layout, dq, dk, dv, o.dout, o.q, o.k, o.v, att, s.B, new Int32Array(1), 0),
  };
}

const shapes: AttentionShape[] = [
  { B: 2, T: 16, NH: 2, NKV: 2, HS: 8 }, // T a multiple of the padding, plain heads
  { B: 3, T: 17, NH: 6, NKV: 3, HS: 8 }, // odd T, groups of 2 query heads, batch elements in 2 head ranges
  { B: 2, T: 24, NH: 4, NKV: 1, HS: 12 }, // every query head on one key/value head, an odd count of f32x4
  { B: 1, T: 5, NH: 2, NKV: 1, HS: 4 }, // shorter than one 8-row panel
  { B: 1, T: 1, NH: 1, NKV: 1, HS: 16 }, // a single position
  { B: 1, T: 41, NH: 6, NKV: 6, HS: 48 }, // the stories15M head size, 4 uneven head ranges
  { B: 1, T: 33, NH: 4, NKV: 2, HS: 64 }, // one batch element split into key/value head ranges
  { B: 4, T: 13, NH: 4, NKV: 2, HS: 8 }, // whole batch elements as units, T not a multiple of 8
];

describe("WebAssembly SIMD attention", () => {
  it("applies to head sizes that are multiples of 4 (where this runtime has SIMD), not to others", () => {
    expect(simdAttentionApplies({ B: 8, T: 256, NH: 6, NKV: 6, HS: 48 })).toBe(true);
    expect(simdAttentionApplies({ B: 8, T: 256, NH: 8, NKV: 4, HS: 8 })).toBe(true);
    expect(simdAttentionApplies({ B: 1, T: 8, NH: 2, NKV: 2, HS: 6 })).toBe(false);
  });

  it.each(shapes)("equals the reference at %o", (shape) => {
    expectEqualToReference(shape, onThread, shape.T * 31 + shape.HS);
  });

  it.each([false, true])("equals the reference with fused multiply-add = %s", (fused) => {
    if (fused && !relaxedSimdAvailable()) return;
    for (const shape of [shapes[1], shapes[5]]) expectEqualToReference(shape, withModule(shape, fused), 5);
  });

  it("keeps the softmax exact where scores are far apart (exp underflow) and equal (uniform rows)", () => {
    const shape = { B: 1, T: 19, NH: 2, NKV: 1, HS: 8 };
    expectEqualToReference(shape, onThread, 9, 12); // |scores| up to ~400: most probabilities underflow to 0
    expectEqualToReference(shape, onThread, 10, 1e-4); // near-uniform rows
  });

  it("takes arrays at any 4-byte offset, alternating between calls (blocks placed at their source's alignment)", () => {
    const at = (values: Float32Array, offsetFloats: number) => {
      const view = new Float32Array(new SharedArrayBuffer((values.length + 2) * 4), offsetFloats * 4, values.length);
      view.set(values);
      return view;
    };
    for (const shape of [{ B: 2, T: 13, NH: 4, NKV: 2, HS: 8 }, { B: 4, T: 16, NH: 2, NKV: 1, HS: 12 }]) {
      for (const offset of [1, 0, 1]) {
        const shifted = (o: Operands): Operands => ({ q: at(o.q, offset), k: at(o.k, 1 - offset), v: at(o.v, offset), dout: at(o.dout, 1 - offset) });
        expectEqualToReference(shape, {
          forward: (out, att, o, s) => {
            const [outS, attS] = [at(out, 1 - offset), at(att, offset)];
            expect(thread.forward(outS, attS, ...operandsOf(shifted(o)), s)).toBe(true);
            out.set(outS);
            att.set(attS);
          },
          backward: (dq, dk, dv, att, o, s) => {
            const [dqS, dkS, dvS] = [at(dq, offset), at(dk, 1 - offset), at(dv, offset)];
            const so = shifted(o);
            expect(thread.backward(dqS, dkS, dvS, so.dout, so.q, so.k, so.v, at(att, 1 - offset), s)).toBe(true);
            dq.set(dqS);
            dk.set(dkS);
            dv.set(dvS);
          },
        }, 40 + offset);
      }
    }
  });

  it("passes NaN through instead of hiding it", () => {
    const shape = { B: 1, T: 9, NH: 1, NKV: 1, HS: 8 };
    const o = operands(shape, 3);
    o.q[2 * 8] = Number.NaN; // row 2
    const out = new Float32Array(o.q.length), att = new Float32Array(81);
    thread.forward(out, att, o.q, o.k, o.v, shape);
    expect(Number.isNaN(out[2 * 8])).toBe(true);
    expect(Number.isFinite(out[1 * 8])).toBe(true);
  });

  it("is what the fast kernel set runs for a head size it does not take (6: JS kernels), with the same result", () => {
    const shape = { B: 2, T: 11, NH: 4, NKV: 2, HS: 6 };
    expectEqualToReference(shape, {
      forward: (out, att, o, s) => fastKernels.attentionForward(out, att, o.q, o.k, o.v, s),
      backward: (dq, dk, dv, att, o, s) => fastKernels.attentionBackward(dq, dk, dv, new Float32Array(s.T), o.dout, o.q, o.k, o.v, att, s),
    }, 4);
  });
});
