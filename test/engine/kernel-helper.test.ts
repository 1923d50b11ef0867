import { describe, expect, it, vi } from "vitest";
import type { Worker as NodeWorker } from "node:worker_threads";
import { createFastKernels } from "../../src/engine/kernels/fast/fast-kernels.js";
import { KernelHelper, KernelHelperStoppedError } from "../../src/engine/kernels/fast/kernel-helper.js";
import { ParallelAttention } from "../../src/engine/kernels/fast/parallel-attention.js";
import { ParallelSimdMatmul, threadsAvailable } from "../../src/engine/kernels/fast/parallel-matmul.js";
import { ParallelPointwise } from "../../src/engine/kernels/fast/parallel-pointwise.js";

// A kernel set on two threads has one helper thread, whatever kernels it runs: the matmul, attention
// and pointwise families post their jobs to the same worker (one protocol, ./helper-jobs.ts), and the
// set's dispose() stops it. Every Worker the kernels construct is counted here.

const started = vi.hoisted(() => ({ workers: [] as NodeWorker[] }));
vi.mock("node:worker_threads", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:worker_threads")>();
  class CountedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      started.workers.push(this);
    }
  }
  return { ...original, Worker: CountedWorker, default: { ...original, Worker: CountedWorker } };
});

const canRun = threadsAvailable();
const exited = (worker: NodeWorker) => new Promise<number>((resolve) => worker.once("exit", resolve));
const bitIdentical = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** Deterministic values in [-1, 1). */
function fill(array: Float32Array, seed: number): Float32Array {
  let s = seed;
  for (let i = 0; i < array.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    array[i] = (s / 2 ** 31) - 1;
  }
  return array;
}

const N = 64, C = 256, OC = 256;
const shape = { B: 2, T: 64, NH: 4, NKV: 4, HS: 16 };
const SWIGLU = (1 << 20) + 4096;

/** Runs a matmul, an attention forward and a SwiGLU large enough for two threads on `kernels`; returns the outputs. */
function runEachFamily(kernels: ReturnType<typeof createFastKernels>): Float32Array[] {
  const take = (floats: number, seed: number) => fill(kernels.allocateResident(floats)!, seed);
  const out = kernels.allocateResident(N * OC)!;
  kernels.matmulForward(out, take(N * C, 1), take(OC * C, 2), N, C, OC);
  const { B, T, NH, NKV, HS } = shape;
  const attOut = kernels.allocateResident(B * T * NH * HS)!, att = kernels.allocateResident(B * NH * T * T)!;
  kernels.attentionForward(attOut, att, take(B * T * NH * HS, 3), take(B * T * NKV * HS, 4), take(B * T * NKV * HS, 5), shape);
  const swiglu = kernels.allocateResident(SWIGLU)!;
  kernels.swigluForward(swiglu, take(SWIGLU, 6), take(SWIGLU, 7), SWIGLU);
  return [out, attOut, att, swiglu].map((array) => Float32Array.from(array));
}

describe.runIf(canRun)("a kernel set's one helper thread", () => {
  it("runs the matmul, attention and pointwise work of a set on two threads on exactly one worker, which dispose stops", async () => {
    started.workers.length = 0;
    const two = createFastKernels({ threads: 2 });
    expect(two.helperThreads()).toBe(0); // started on the first job, not before
    const results = runEachFamily(two);
    expect(started.workers).toHaveLength(1);
    expect(two.helperThreads()).toBe(1);
    expect(two.helperStopped()).toBe(false);

    // the same numbers as one thread, bit for bit, and no worker for that set
    const one = createFastKernels({ threads: 1 });
    const alone = runEachFamily(one);
    one.dispose();
    expect(started.workers).toHaveLength(1);
    results.forEach((result, i) => expect(bitIdentical(result, alone[i])).toBe(true));

    const exit = exited(started.workers[0]);
    two.dispose();
    expect(two.helperStopped()).toBe(true);
    await exit; // the worker really ends
  });

  it("runs every family's units on one shared helper when the families are told to leave them all to it", async () => {
    started.workers.length = 0;
    const helper = new KernelHelper();
    const matmul = new ParallelSimdMatmul({ helperRunsEveryUnit: true }, undefined, helper);
    const attention = new ParallelAttention({ helperRunsEveryUnit: true }, helper);
    const pointwise = new ParallelPointwise({ minParallelElements: 1 << 12, helperRunsEveryUnit: true }, helper);
    const shared = (floats: number, seed: number) => fill(new Float32Array(new SharedArrayBuffer(4 * floats)), seed);

    matmul.forward(new Float32Array(N * OC), shared(N * C, 1), shared(OC * C, 2), N, C, OC);
    expect(matmul.helperUnits).toBeGreaterThan(0);
    const { B, T, NH, NKV, HS } = shape;
    attention.forward(shared(B * T * NH * HS, 0), shared(B * NH * T * T, 0), shared(B * T * NH * HS, 3), shared(B * T * NKV * HS, 4), shared(B * T * NKV * HS, 5), shape);
    expect(attention.helperUnits).toBeGreaterThan(0);
    pointwise.swigluForward(shared(1 << 18, 0), shared(1 << 18, 6), shared(1 << 18, 7), 1 << 18);
    expect(pointwise.helperUnitsOfLastJob).toBeGreaterThan(0);
    expect(started.workers).toHaveLength(1);
    expect(helper.workersStarted).toBe(1);

    // the families do not stop a helper they were given; its owner does
    matmul.dispose();
    attention.dispose();
    pointwise.dispose();
    expect(helper.isStopped).toBe(false);
    await helper.close();
    expect(helper.isStopped).toBe(true);
    expect(() => helper.start(0)).toThrow(KernelHelperStoppedError);
  });
});
