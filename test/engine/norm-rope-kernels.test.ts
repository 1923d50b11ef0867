import { afterAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { rmsnormBackward, rmsnormForward } from "../../src/engine/kernels/reference/rmsnorm.js";
import { ropeBackward, ropeForward, ropeTables } from "../../src/engine/kernels/reference/rope.js";
import { swigluBackward } from "../../src/engine/kernels/reference/swiglu.js";
import { ParallelPointwise } from "../../src/engine/kernels/fast/parallel-pointwise.js";
import type { ResidentMemory } from "../../src/engine/kernels/fast/resident-memory.js";
import { PointwiseSimd } from "../../src/engine/kernels/fast/pointwise-runner.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { firstDifference, numericGradient, relativeError } from "./gradient-check.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// The SIMD RMSNorm and RoPE (and the overwriting SwiGLU backward) against the reference (oracle)
// kernels: several units of rows or positions, widths that are and are not multiples of 4 (the
// latter run the reference), views at both 8-byte parities in shared memory (as the model's
// activations are), aliased and separate buffers; one thread against two bit for bit; and the fast
// backward against central differences of the fast forward in float32.

/** A view of `values` at float offset `front` into a fresh SharedArrayBuffer (front odd: the other 8-byte parity). */
const sharedCopy = (values: ArrayLike<number>, front = 0) => {
  const view = new Float32Array(new SharedArrayBuffer((values.length + front + 1) * 4)).subarray(front, front + values.length);
  view.set(values);
  return view;
};
const randomF32 = (size: number, random: SeededRandom, scale = 1) => Float32Array.from({ length: size }, () => random.uniform(-scale, scale));

const one = new PointwiseSimd();
const two = new ParallelPointwise({ minParallelElements: 1 << 12 });
const helperOnly = new ParallelPointwise({ minParallelElements: 1 << 12, helperRunsEveryUnit: true });
afterAll(() => Promise.all([two.close(), helperOnly.close()]));

function normCase(N: number, C: number, seed: number) {
  const random = new SeededRandom(seed);
  return { inp: randomF32(N * C, random, 3), weight: randomF32(C, random, 2), dout: randomF32(N * C, random), dinp: randomF32(N * C, random) };
}

describe("SIMD RMSNorm equals the reference", () => {
  it.each([
    [5, 288, 0],
    [300, 64, 1], // several units of rows
    [130, 288, 1], // the stories15M width, more rows than one unit
    [3, 4, 0],
    [4, 6, 1], // C not a multiple of 4: the reference kernel
  ])("N=%i C=%i at parity %i: forward out and rstd, backward adds to dinp", (N, C, front) => {
    const { inp, weight, dout, dinp } = normCase(N, C, N * C);
    const expectedOut = new Float32Array(N * C), expectedRstd = new Float32Array(N), expectedDinp = dinp.slice();
    rmsnormForward(expectedOut, expectedRstd, inp, weight, N, C, 1e-5);
    rmsnormBackward(expectedDinp, null, dout, inp, weight, expectedRstd, N, C);
    const out = sharedCopy(new Float32Array(N * C), 1 - front), rstd = sharedCopy(new Float32Array(N), front), actualDinp = sharedCopy(dinp, 1 - front);
    const sharedInp = sharedCopy(inp, front), sharedDout = sharedCopy(dout, front);
    one.rmsnormForward(out, rstd, sharedInp, weight, N, C, 1e-5);
    expect(relativeError(out, expectedOut)).toBeLessThan(1e-6);
    expect(relativeError(rstd, expectedRstd)).toBeLessThan(1e-6);
    one.rmsnormBackward(actualDinp, null, sharedDout, sharedInp, weight, rstd, N, C);
    expect(relativeError(actualDinp, expectedDinp)).toBeLessThan(1e-6);
    if (C % 4 !== 0) expect(firstDifference(out, expectedOut)).toBe(-1);
    // the inputs are untouched
    expect(firstDifference(sharedInp, inp)).toBe(-1);
    expect(firstDifference(sharedDout, dout)).toBe(-1);
  });

  it("out may alias inp; a weight gradient runs the reference kernel", () => {
    const N = 7, C = 16;
    const { inp, weight, dout } = normCase(N, C, 9);
    const expected = new Float32Array(N * C), rstd = new Float32Array(N);
    one.rmsnormForward(expected, rstd, inp, weight, N, C, 1e-5);
    const inPlace = inp.slice();
    one.rmsnormForward(inPlace, new Float32Array(N), inPlace, weight, N, C, 1e-5);
    expect(firstDifference(inPlace, expected)).toBe(-1);
    const expectedDinp = new Float32Array(N * C), expectedDweight = new Float32Array(C).fill(1);
    rmsnormBackward(expectedDinp, expectedDweight, dout, inp, weight, rstd, N, C);
    const dinp = new Float32Array(N * C), dweight = new Float32Array(C).fill(1);
    one.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
    expect(firstDifference(dinp, expectedDinp)).toBe(-1);
    expect(firstDifference(dweight, expectedDweight)).toBe(-1);
  });
});

function ropeCase(B: number, T: number, NH: number, HS: number, nRot: number, seed: number) {
  const random = new SeededRandom(seed);
  const cos = new Float32Array((T * nRot) / 2), sin = new Float32Array((T * nRot) / 2);
  ropeTables(cos, sin, T, nRot, 10000, 1);
  return { x: randomF32(B * T * NH * HS, random, 2), cos: sharedCopy(cos), sin: sharedCopy(sin) };
}

describe("SIMD RoPE equals the reference", () => {
  it.each([
    [2, 130, 6, 48, 48, 0], // the stories15M head layout: several units per sequence
    [3, 5, 2, 16, 8, 1], // partial rotation: dimensions past nRot pass through
    [1, 3, 4, 4, 4, 0], // the tiny test model
    [2, 4, 2, 6, 6, 1], // nRot not a multiple of 4: the reference kernel
  ])("B=%i T=%i heads=%i headSize=%i nRot=%i at parity %i: forward and backward, in place and not", (B, T, NH, HS, nRot, front) => {
    const { x, cos, sin } = ropeCase(B, T, NH, HS, nRot, B * T * HS);
    for (const [name, reference, fast] of [
      ["forward", ropeForward, one.ropeForward.bind(one)],
      ["backward", ropeBackward, one.ropeBackward.bind(one)],
    ] as const) {
      const expected = new Float32Array(x.length);
      reference(expected, x, cos, sin, B, T, NH, HS, nRot);
      const inPlace = sharedCopy(x, front);
      fast(inPlace, inPlace, cos, sin, B, T, NH, HS, nRot);
      const input = sharedCopy(x, front), separate = sharedCopy(new Float32Array(x.length), 1 - front);
      fast(separate, input, cos, sin, B, T, NH, HS, nRot);
      expect(relativeError(inPlace, expected), name).toBeLessThan(1e-6);
      expect(firstDifference(separate, inPlace), name).toBe(-1);
      expect(firstDifference(input, x), name).toBe(-1);
      // pass-through dimensions are copied exactly
      for (let row = 0; row < B * T * NH; row++) for (let d = nRot; d < HS; d++) expect(separate[row * HS + d]).toBe(x[row * HS + d]);
    }
  });
});

describe.each([
  { name: "shared between the threads", parallel: two },
  { name: "all on the helper", parallel: helperOnly },
])("RMSNorm and RoPE on two threads, units $name, equal one thread bit for bit", ({ parallel }) => {
  it("RMSNorm forward and backward (a weight outside shared memory is shared for the helper)", () => {
    const N = 200, C = 288;
    const { inp, weight, dout, dinp } = normCase(N, C, 3);
    const run = (kernels: PointwiseSimd) => {
      const out = sharedCopy(new Float32Array(N * C), 1), rstd = sharedCopy(new Float32Array(N)), grad = sharedCopy(dinp, 1);
      kernels.rmsnormForward(out, rstd, sharedCopy(inp), weight, N, C, 1e-5);
      kernels.rmsnormBackward(grad, null, sharedCopy(dout), sharedCopy(inp), weight, rstd, N, C);
      return [out, rstd, grad];
    };
    const expected = run(one), actual = run(parallel);
    for (let i = 0; i < expected.length; i++) expect(firstDifference(actual[i], expected[i])).toBe(-1);
    if (parallel === helperOnly) expect(parallel.helperUnitsOfLastJob).toBeGreaterThan(1);
  });

  it("RoPE forward and backward", () => {
    const B = 2, T = 130, NH = 6, HS = 48, nRot = 48;
    const { x, cos, sin } = ropeCase(B, T, NH, HS, nRot, 4);
    for (const direction of ["ropeForward", "ropeBackward"] as const) {
      const expected = sharedCopy(x), actual = sharedCopy(x);
      one[direction](expected, expected, cos, sin, B, T, NH, HS, nRot);
      parallel[direction](actual, actual, cos, sin, B, T, NH, HS, nRot);
      expect(firstDifference(actual, expected)).toBe(-1);
    }
    if (parallel === helperOnly) expect(parallel.helperUnitsOfLastJob).toBe(B * Math.ceil(T / Math.floor(16384 / (NH * HS))));
  });
});

describe("fast backward kernels match central differences of the fast forward (float32)", () => {
  // L = sum(out * w) accumulated in float64; a step of 1e-2 keeps float32 rounding of the forward
  // (~1e-7 relative) far below the difference, and the second-order error at ~1e-4 relative
  const numeric = (x: Float32Array, loss: () => number) => numericGradient(x, loss, 1e-2);
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i], 0);

  it("RMSNorm", () => {
    const N = 3, C = 8, random = new SeededRandom(5);
    const inp = randomF32(N * C, random, 2), weight = randomF32(C, random, 2), w = randomF32(N * C, random);
    const out = new Float32Array(N * C), rstd = new Float32Array(N);
    const loss = () => (fastKernels.rmsnormForward(out, rstd, inp, weight, N, C, 1e-5), dot(out, w));
    loss();
    const dinp = new Float32Array(N * C);
    fastKernels.rmsnormBackward(dinp, null, w, inp, weight, rstd, N, C);
    expect(relativeError(dinp, numeric(inp, loss))).toBeLessThan(2e-3);
  });

  it("RoPE (partial rotation)", () => {
    const B = 2, T = 3, NH = 2, HS = 12, nRot = 8;
    const { x, cos, sin } = ropeCase(B, T, NH, HS, nRot, 6);
    const w = randomF32(x.length, new SeededRandom(7)), out = new Float32Array(x.length);
    const loss = () => (fastKernels.ropeForward(out, x, cos, sin, B, T, NH, HS, nRot), dot(out, w));
    const dinp = w.slice();
    fastKernels.ropeBackward(dinp, dinp, cos, sin, B, T, NH, HS, nRot);
    // rope is linear: central differences are exact up to rounding
    expect(relativeError(dinp, numeric(x, loss))).toBeLessThan(1e-4);
  });
});

it("the overwriting SwiGLU backward equals the accumulating one on zeroed gradients, whatever the buffers held", () => {
  const size = 40001, random = new SeededRandom(8);
  const gate = sharedCopy(randomF32(size, random, 6)), up = sharedCopy(randomF32(size, random)), dout = sharedCopy(randomF32(size, random));
  for (const kernels of [one, two, referenceKernels, fastKernels]) {
    const expectedGate = new Float32Array(size), expectedUp = new Float32Array(size);
    (kernels === referenceKernels ? swigluBackward : kernels.swigluBackward.bind(kernels))(expectedGate, expectedUp, dout, gate, up, size);
    const dgate = sharedCopy(new Float32Array(size).fill(Number.NaN), 1), dup = sharedCopy(new Float32Array(size).fill(5));
    kernels.swigluBackwardOverwrite(dgate, dup, dout, gate, up, size);
    expect(firstDifference(dgate, expectedGate)).toBe(-1);
    expect(firstDifference(dup, expectedUp)).toBe(-1);
  }
});

it("the fast set equals the reference set within float32 rounding, and short arrays name the array", () => {
  const N = 64, C = 288;
  const { inp, weight } = normCase(N, C, 11);
  const a = new Float32Array(N * C), b = new Float32Array(N * C);
  referenceKernels.rmsnormForward(a, new Float32Array(N), inp, weight, N, C, 1e-5);
  fastKernels.rmsnormForward(b, new Float32Array(N), inp, weight, N, C, 1e-5);
  expect(relativeError(b, a)).toBeLessThan(1e-6);
  expect(() => one.rmsnormForward(new Float32Array(N * C - 1), new Float32Array(N), inp, weight, N, C, 1e-5)).toThrow(InvalidArgumentError);
  expect(() => one.rmsnormBackward(new Float32Array(N * C), null, inp, inp, weight, new Float32Array(N - 1), N, C)).toThrow(/rstd/);
  const { x, cos, sin } = ropeCase(1, 4, 2, 8, 8, 12);
  expect(() => one.ropeForward(x, x, cos.subarray(1), sin, 1, 4, 2, 8, 8)).toThrow(/cos/);
  expect(() => one.ropeForward(x, x, cos, sin, 1, 4, 2, 8, 10)).toThrow(InvalidArgumentError);
});

/** A shared memory handing out views, as the SIMD matmul's does; counts the arrays it found inside. */
function residentMemory(): ResidentMemory & { copy(values: ArrayLike<number>, front?: number): Float32Array; found: number; allocations: number } {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024, shared: true });
  let next = 64;
  const take = (floats: number, front = 0) => {
    const view = new Float32Array(memory.buffer, next + 4 * front, floats);
    next += Math.ceil((floats + front + 1) / 4) * 16;
    return view;
  };
  return {
    memory,
    maxPages: 1024,
    found: 0,
    allocations: 0,
    addressOf(array) {
      if (array.buffer !== memory.buffer) return -1;
      this.found++;
      return array.byteOffset;
    },
    allocate(floats) {
      this.allocations++;
      return take(floats);
    },
    copy(values, front = 0) {
      const view = take(values.length, front);
      view.set(values);
      return view;
    },
  };
}

describe("RMSNorm and RoPE in place in a registered shared memory equal the copying kernels bit for bit", () => {
  const resident = residentMemory();
  const inPlace = new PointwiseSimd();
  inPlace.useResidentMemory(resident);

  it("RMSNorm forward and backward (the weight, outside, is copied in once per call)", () => {
    const N = 130, C = 288;
    const { inp, weight, dout, dinp } = normCase(N, C, 21);
    const out = new Float32Array(N * C), rstd = new Float32Array(N), grad = dinp.slice();
    one.rmsnormForward(out, rstd, inp, weight, N, C, 1e-5);
    one.rmsnormBackward(grad, null, dout, inp, weight, rstd, N, C);
    const residentOut = resident.copy(new Float32Array(N * C), 1), residentRstd = resident.copy(new Float32Array(N)), residentGrad = resident.copy(dinp);
    const residentInp = resident.copy(inp, 1), residentDout = resident.copy(dout);
    const foundBefore = resident.found;
    inPlace.rmsnormForward(residentOut, residentRstd, residentInp, weight, N, C, 1e-5);
    inPlace.rmsnormBackward(residentGrad, null, residentDout, residentInp, weight, residentRstd, N, C);
    // the operands of both calls, and the weight copy of each
    expect(resident.found - foundBefore).toBe(3 + 4 + 2);
    expect(resident.allocations).toBe(1);
    expect(firstDifference(residentOut, out)).toBe(-1);
    expect(firstDifference(residentRstd, rstd)).toBe(-1);
    expect(firstDifference(residentGrad, grad)).toBe(-1);
    expect(firstDifference(residentInp, inp)).toBe(-1);
  });

  it("RoPE forward and backward, in place and into another array; operands outside the memory are copied as before", () => {
    const B = 3, T = 70, NH = 6, HS = 48, nRot = 40;
    const { x, cos, sin } = ropeCase(B, T, NH, HS, nRot, 22);
    const residentCos = resident.copy(cos), residentSin = resident.copy(sin, 1);
    for (const direction of ["ropeForward", "ropeBackward"] as const) {
      const expected = x.slice();
      one[direction](expected, expected, cos, sin, B, T, NH, HS, nRot);
      const same = resident.copy(x, 1), source = resident.copy(x), other = resident.copy(new Float32Array(x.length), 1);
      inPlace[direction](same, same, residentCos, residentSin, B, T, NH, HS, nRot);
      inPlace[direction](other, source, residentCos, residentSin, B, T, NH, HS, nRot);
      expect(firstDifference(same, expected)).toBe(-1);
      expect(firstDifference(other, expected)).toBe(-1);
      expect(firstDifference(source, x)).toBe(-1);
      const outside = x.slice();
      inPlace[direction](outside, outside, cos, sin, B, T, NH, HS, nRot);
      expect(firstDifference(outside, expected)).toBe(-1);
    }
  });
});
