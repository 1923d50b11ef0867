import { afterAll, describe, expect, it } from "vitest";
import { attentionBackward, attentionForward, type AttentionShape } from "../../src/engine/kernels/reference/attention.js";
import { createFastKernels } from "../../src/engine/kernels/kernel-set.js";
import { ParallelAttention } from "../../src/engine/kernels/fast/parallel-attention.js";
import { ResidentAttention } from "../../src/engine/kernels/fast/attention-resident.js";
import { KernelWorkspace } from "../../src/engine/kernels/fast/workspace.js";
import { threadsAvailable } from "../../src/engine/kernels/fast/parallel-matmul.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

// The in-place SIMD attention (operands living in a shared WebAssembly memory, no copies) against the
// reference: on this thread, on two threads (the helper's own scratch and kernels, also alone), and
// behind a fast kernel set on operands in its workspace, which must keep copying where the in-place
// path does not apply (T not a multiple of 8, an operand outside the memory). Operands sit at odd
// float offsets in the memory, gradients start non-zero (the kernels add onto them), and att carries
// NaN above the diagonal into the backward (only t2 <= t may be read).

const randomF32 = (size: number, random: SeededRandom) => Float32Array.from({ length: size }, () => random.uniform(-1, 1));

/** A view of `values` inside the arena, one float past a 16-byte boundary. */
function placed(arena: KernelWorkspace, values: Float32Array): Float32Array {
  const view = arena.allocate(values.length + 1)!.subarray(1);
  view.set(values);
  return view;
}

const lowerTriangles = (att: Float32Array, T: number) => {
  const copy = att.slice();
  for (let row = 0; row < att.length / T; row++) copy.fill(0, row * T + (row % T) + 1, (row + 1) * T);
  return copy;
};

type Run = {
  forward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array): void;
  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array): void;
};

function expectEqualToReference(shape: AttentionShape, arena: KernelWorkspace, run: Run, seed: number, place = (values: Float32Array) => placed(arena, values)): void {
  const { B, T, NH, NKV, HS } = shape;
  const random = new SeededRandom(seed);
  const q = randomF32(B * T * NH * HS, random), k = randomF32(B * T * NKV * HS, random), v = randomF32(k.length, random), dout = randomF32(q.length, random);
  const out = new Float32Array(q.length), att = new Float32Array(B * NH * T * T);
  attentionForward(out, att, q, k, v, shape);
  const dq = randomF32(q.length, random), dk = randomF32(k.length, random), dv = randomF32(k.length, random);
  const [qP, kP, vP, doutP, dqP, dkP, dvP] = [q, k, v, dout, dq, dk, dv].map(place);
  attentionBackward(dq, dk, dv, new Float32Array(T), dout, q, k, v, att, shape);

  const outP = place(new Float32Array(out.length).fill(7)), attP = place(new Float32Array(att.length).fill(7));
  run.forward(outP, attP, qP, kP, vP);
  expect(relativeError(outP, out)).toBeLessThan(2e-6);
  expect(relativeError(lowerTriangles(attP, T), lowerTriangles(att, T))).toBeLessThan(2e-6);
  for (let row = 0; row < B * NH * T; row++) attP.fill(Number.NaN, row * T + (row % T) + 1, (row + 1) * T);
  run.backward(dqP, dkP, dvP, doutP, qP, kP, vP, attP);
  expect(relativeError(dqP, dq)).toBeLessThan(2e-6);
  expect(relativeError(dkP, dk)).toBeLessThan(2e-6);
  expect(relativeError(dvP, dv)).toBeLessThan(2e-6);
}

const shapes: AttentionShape[] = [
  { B: 2, T: 16, NH: 2, NKV: 2, HS: 8 }, // plain heads, batch elements split into head ranges (B < 4)
  { B: 3, T: 24, NH: 6, NKV: 3, HS: 12 }, // groups of 2 query heads, an odd count of f32x4
  { B: 1, T: 40, NH: 6, NKV: 6, HS: 48 }, // the stories15M head size, one batch element in 4 head ranges
  { B: 5, T: 8, NH: 4, NKV: 1, HS: 4 }, // one 8-row panel, every query head on one key/value head, whole batch elements
];

const canRun = threadsAvailable();
const fastKernels = canRun ? createFastKernels() : null;
const arena = fastKernels?.workspace ?? null;

describe.runIf(canRun)("in-place SIMD attention", () => {
  const resident = new ResidentAttention(arena!);
  const parallel = new ParallelAttention();
  const helperAlone = new ParallelAttention({ helperRunsEveryUnit: true });
  afterAll(async () => {
    fastKernels?.dispose();
    await Promise.all([parallel.close(), helperAlone.close()]);
  });
  const addresses = (arrays: Float32Array[]) => {
    const at = resident.addresses(arrays);
    expect(at).not.toBeNull();
    return at!;
  };
  const onThreads = (threads: ParallelAttention, shape: AttentionShape): Run => ({
    forward: (...arrays) => expect(threads.forwardResident(resident, addresses(arrays), shape)).toBe(true),
    backward: (...arrays) => expect(threads.backwardResident(resident, addresses(arrays), shape)).toBe(true),
  });

  it("applies where T is a multiple of 8 and the head size a multiple of 4", () => {
    expect(ResidentAttention.applies({ B: 8, T: 256, NH: 6, NKV: 6, HS: 48 })).toBe(true);
    expect(ResidentAttention.applies({ B: 1, T: 17, NH: 2, NKV: 2, HS: 8 })).toBe(false);
    expect(ResidentAttention.applies({ B: 1, T: 16, NH: 2, NKV: 2, HS: 6 })).toBe(false);
    expect(resident.addresses([new Float32Array(new SharedArrayBuffer(64))])).toBeNull();
  });

  it.each(shapes)("equals the reference on this thread at %o", (shape) => {
    expectEqualToReference(shape, arena!, {
      forward: (...arrays) => expect(resident.forward(addresses(arrays), shape)).toBe(true),
      backward: (...arrays) => expect(resident.backward(addresses(arrays), shape)).toBe(true),
    }, shape.T * 7 + shape.HS);
  });

  it.each(shapes)("equals the reference on two threads at %o", (shape) => {
    expectEqualToReference(shape, arena!, onThreads(parallel, shape), shape.T * 11 + shape.HS);
    expect(parallel.helperUnits).toBeGreaterThanOrEqual(0);
  });

  it("equals the reference when the helper thread runs every unit (its own scratch and kernels)", () => {
    for (const shape of [shapes[1], shapes[2]]) {
      expectEqualToReference(shape, arena!, onThreads(helperAlone, shape), 3);
      expect(helperAlone.helperUnits).toBeGreaterThan(0);
    }
  });

  it("is what the fast kernel set runs on operands in its workspace, and it keeps copying where that does not apply", () => {
    const fast: (shape: AttentionShape) => Run = (shape) => ({
      forward: (out, att, q, k, v) => fastKernels!.attentionForward(out, att, q, k, v, shape),
      backward: (dq, dk, dv, dout, q, k, v, att) => fastKernels!.attentionBackward(dq, dk, dv, new Float32Array(shape.T), dout, q, k, v, att, shape),
    });
    const shape = { B: 4, T: 32, NH: 4, NKV: 2, HS: 8 };
    const before = ResidentAttention.callsInPlace;
    expectEqualToReference(shape, arena!, fast(shape), 21);
    expect(ResidentAttention.callsInPlace - before).toBe(2);
    // T = 19: no in-place kernels; operands outside the memory: nothing to run in place
    const oddT = { B: 2, T: 19, NH: 4, NKV: 2, HS: 8 };
    const outside = (values: Float32Array) => {
      const copy = new Float32Array(new SharedArrayBuffer(values.length * 4));
      copy.set(values);
      return copy;
    };
    expectEqualToReference(oddT, arena!, fast(oddT), 22);
    expectEqualToReference(shape, arena!, fast(shape), 23, outside);
    expect(ResidentAttention.callsInPlace - before).toBe(2);
  });
});
