import { afterAll, describe, expect, it } from "vitest";
import { ropeTables } from "../../src/engine/kernels/reference/rope.js";
import { KernelWorkspace } from "../../src/engine/kernels/fast/workspace.js";
import { ParallelPointwise } from "../../src/engine/kernels/fast/parallel-pointwise.js";
import { PointwiseSimd, rowsPerUnit } from "../../src/engine/kernels/fast/pointwise-runner.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { firstDifference } from "./gradient-check.js";

// The element-wise kernels in place on operands in a registered shared memory (a KernelWorkspace standing
// in for the SIMD matmul's): the cross-entropy (fused, forward only, backward only), RMSNorm and RoPE
// must equal the copying kernels bit for bit (same SIMD functions on the same data), on one thread and
// on two (units shared, or all on the helper, so its own instance on the memory runs every unit);
// masked rows; a vocabulary that is not a multiple of 16 floats falls back to the copying path.

const randomF32 = (size: number, random: SeededRandom, scale = 1) => Float32Array.from({ length: size }, () => random.uniform(-scale, scale));
const sharedCopy = (values: ArrayLike<number>, front = 0) => {
  const view = new Float32Array(new SharedArrayBuffer((values.length + front + 1) * 4)).subarray(front, front + values.length);
  view.set(values);
  return view;
};

const arena = new KernelWorkspace({ shared: true, maxPages: 4096 });
/** A copy of values in the arena, `front` floats past a 16-byte boundary (the other 8-byte parity when odd). */
const inArena = (values: ArrayLike<number>, front = 0) => {
  const view = arena.allocate(values.length + front)!.subarray(front);
  view.set(values);
  return view;
};

const copying = new PointwiseSimd();
const one = new PointwiseSimd();
const two = new ParallelPointwise({ minParallelElements: 1 << 12 });
const helperOnly = new ParallelPointwise({ minParallelElements: 1 << 12, helperRunsEveryUnit: true });
for (const kernels of [one, two, helperOnly]) kernels.useResidentMemory(arena);
afterAll(() => Promise.all([two.close(), helperOnly.close()]));

const inPlaceKernels = [
  { name: "one thread", kernels: one },
  { name: "two threads", kernels: two },
  { name: "all on the helper", kernels: helperOnly },
];

function lossCase(N: number, V: number, seed: number) {
  const random = new SeededRandom(seed);
  return {
    logits: randomF32(N * V, random, 8),
    targets: Int32Array.from({ length: N }, () => Math.floor(random.next() * V)),
    mask: Uint8Array.from({ length: N }, (_, n) => (n % 7 === 3 ? 0 : 1)),
  };
}

/** Runs a kernel call and returns how many of its passes ran in place. */
function inPlaceCalls(run: () => void): number {
  const before = PointwiseSimd.callsInPlace;
  run();
  return PointwiseSimd.callsInPlace - before;
}

describe.each(inPlaceKernels)("cross-entropy in place ($name) equals the copying kernels bit for bit", ({ kernels }) => {
  const expectHelperRan = (units: number) => {
    if (kernels === helperOnly) expect(helperOnly.helperUnitsOfLastJob).toBe(units);
  };

  it.each([
    [40, 1024, 3], // one row a unit at the stories vocabulary's width class; masked rows
    [300, 64, 0], // several rows a unit
  ])("fused forward and backward at N=%i V=%i (front %i), dlogits aliasing logits", (N, V, front) => {
    const { logits, targets, mask } = lossCase(N, V, N + V);
    const expected = sharedCopy(logits), expectedLosses = new Float32Array(N);
    const expectedLoss = copying.crossEntropyForwardBackward(expectedLosses, expected, expected, targets, mask, N, V);
    const actual = inArena(logits, front), losses = new Float32Array(N).fill(Number.NaN);
    let loss = 0;
    expect(inPlaceCalls(() => (loss = kernels.crossEntropyForwardBackward(losses, actual, actual, targets, mask, N, V)))).toBe(1);
    expectHelperRan(Math.ceil(N / rowsPerUnit(V)));
    expect(loss).toBe(expectedLoss);
    expect(firstDifference(losses, expectedLosses)).toBe(-1);
    expect(firstDifference(actual, expected)).toBe(-1);
    // masked rows hold zeros
    expect(actual.subarray(3 * V, 4 * V).every((x) => x === 0)).toBe(true);
  });

  it("forward into its own probabilities and separately, then backward into another buffer", () => {
    const N = 100, V = 512;
    const { logits, targets, mask } = lossCase(N, V, 5);
    const expectedProbs = sharedCopy(logits), expectedLosses = new Float32Array(N), expectedGrad = sharedCopy(new Float32Array(N * V));
    const expectedLoss = copying.crossEntropyForward(expectedLosses, expectedProbs, expectedProbs, targets, mask, N, V);
    copying.crossEntropyBackward(expectedGrad, expectedProbs, targets, mask, N, V);

    const aliased = inArena(logits, 1), losses = new Float32Array(N);
    expect(inPlaceCalls(() => expect(kernels.crossEntropyForward(losses, aliased, aliased, targets, mask, N, V)).toBe(expectedLoss))).toBe(1);
    expect(firstDifference(losses, expectedLosses)).toBe(-1);
    expect(firstDifference(aliased, expectedProbs)).toBe(-1);

    const source = inArena(logits), probs = inArena(new Float32Array(N * V), 1), separateLosses = new Float32Array(N);
    expect(inPlaceCalls(() => kernels.crossEntropyForward(separateLosses, probs, source, targets, mask, N, V))).toBe(1);
    expect(firstDifference(separateLosses, expectedLosses)).toBe(-1);
    expect(firstDifference(source, logits)).toBe(-1); // the input is untouched
    // masked rows of a forward's output are left as they were (zeros here), as the copying kernels leave them
    const expectedSeparate = expectedProbs.slice();
    for (let n = 0; n < N; n++) if (!mask[n]) expectedSeparate.fill(0, n * V, n * V + V);
    expect(firstDifference(probs, expectedSeparate)).toBe(-1);

    const grad = inArena(new Float32Array(N * V).fill(7));
    expect(inPlaceCalls(() => kernels.crossEntropyBackward(grad, aliased, targets, mask, N, V))).toBe(1);
    expectHelperRan(Math.ceil(N / rowsPerUnit(V)));
    expect(firstDifference(grad, expectedGrad)).toBe(-1);
  });

  it("a vocabulary that is not a multiple of 16 floats, or logits outside the memory, take the copying path", () => {
    for (const [V, place] of [[1000, inArena], [1024, sharedCopy]] as const) {
      const N = 20;
      const { logits, targets, mask } = lossCase(N, V, V);
      const expected = sharedCopy(logits), expectedLosses = new Float32Array(N);
      const expectedLoss = copying.crossEntropyForwardBackward(expectedLosses, expected, expected, targets, mask, N, V);
      const actual = place(logits), losses = new Float32Array(N);
      let loss = 0;
      expect(inPlaceCalls(() => (loss = kernels.crossEntropyForwardBackward(losses, actual, actual, targets, mask, N, V)))).toBe(0);
      expect(loss).toBe(expectedLoss);
      expect(firstDifference(losses, expectedLosses)).toBe(-1);
      expect(firstDifference(actual, expected)).toBe(-1);
    }
  });
});

describe.each(inPlaceKernels)("RMSNorm and RoPE in place ($name) equal the copying kernels bit for bit", ({ kernels }) => {
  it("RMSNorm forward and backward over several units of rows", () => {
    const N = 200, C = 288, random = new SeededRandom(31);
    const inp = randomF32(N * C, random, 3), weight = randomF32(C, random, 2), dout = randomF32(N * C, random), dinp = randomF32(N * C, random);
    const out = sharedCopy(new Float32Array(N * C)), rstd = sharedCopy(new Float32Array(N)), grad = sharedCopy(dinp);
    copying.rmsnormForward(out, rstd, sharedCopy(inp), weight, N, C, 1e-5);
    copying.rmsnormBackward(grad, null, sharedCopy(dout), sharedCopy(inp), weight, rstd, N, C);
    const residentOut = inArena(new Float32Array(N * C), 1), residentRstd = inArena(new Float32Array(N)), residentGrad = inArena(dinp);
    const residentInp = inArena(inp, 1), residentDout = inArena(dout);
    expect(inPlaceCalls(() => kernels.rmsnormForward(residentOut, residentRstd, residentInp, weight, N, C, 1e-5))).toBe(1);
    expect(inPlaceCalls(() => kernels.rmsnormBackward(residentGrad, null, residentDout, residentInp, weight, residentRstd, N, C))).toBe(1);
    if (kernels === helperOnly) expect(helperOnly.helperUnitsOfLastJob).toBe(Math.ceil(N / Math.floor(16384 / C)));
    expect(firstDifference(residentOut, out)).toBe(-1);
    expect(firstDifference(residentRstd, rstd)).toBe(-1);
    expect(firstDifference(residentGrad, grad)).toBe(-1);
  });

  it("RoPE forward and backward, in place and into another array, partial rotation", () => {
    const B = 3, T = 70, NH = 6, HS = 48, nRot = 40, random = new SeededRandom(32);
    const x = randomF32(B * T * NH * HS, random, 2);
    const cos = new Float32Array((T * nRot) / 2), sin = new Float32Array((T * nRot) / 2);
    ropeTables(cos, sin, T, nRot, 10000, 1);
    const residentCos = inArena(cos), residentSin = inArena(sin, 1);
    for (const direction of ["ropeForward", "ropeBackward"] as const) {
      const expected = sharedCopy(x);
      copying[direction](expected, expected, sharedCopy(cos), sharedCopy(sin), B, T, NH, HS, nRot);
      const same = inArena(x, 1), source = inArena(x), other = inArena(new Float32Array(x.length), 1);
      expect(inPlaceCalls(() => kernels[direction](same, same, residentCos, residentSin, B, T, NH, HS, nRot))).toBe(1);
      if (kernels === helperOnly) expect(helperOnly.helperUnitsOfLastJob).toBe(B * Math.ceil(T / Math.floor(16384 / (NH * HS))));
      kernels[direction](other, source, residentCos, residentSin, B, T, NH, HS, nRot);
      expect(firstDifference(same, expected)).toBe(-1);
      expect(firstDifference(other, expected)).toBe(-1);
      expect(firstDifference(source, x)).toBe(-1);
    }
  });
});

describe.each(inPlaceKernels)("SwiGLU in place ($name) equals the copying kernels bit for bit", ({ kernels }) => {
  it("forward, backward (adding) and backward (writing) over several units, and sizes that copy", () => {
    // three SwiGLU units and a part; both 8-byte parities
    const size = 3 * 16384 + 1000, random = new SeededRandom(33);
    const gate = randomF32(size, random, 4), up = randomF32(size, random, 2), dout = randomF32(size, random), initial = randomF32(size, random);
    const out = sharedCopy(new Float32Array(size)), dgate = sharedCopy(initial), dup = sharedCopy(initial);
    copying.swigluForward(out, sharedCopy(gate), sharedCopy(up), size);
    copying.swigluBackward(dgate, dup, sharedCopy(dout), sharedCopy(gate), sharedCopy(up), size);
    const overwriteGate = sharedCopy(new Float32Array(size)), overwriteUp = sharedCopy(new Float32Array(size));
    copying.swigluBackwardOverwrite(overwriteGate, overwriteUp, sharedCopy(dout), sharedCopy(gate), sharedCopy(up), size);

    const residentGate = inArena(gate, 1), residentUp = inArena(up), residentDout = inArena(dout, 1);
    const residentOut = inArena(new Float32Array(size)), residentDgate = inArena(initial, 1), residentDup = inArena(initial);
    expect(inPlaceCalls(() => kernels.swigluForward(residentOut, residentGate, residentUp, size))).toBe(1);
    if (kernels === helperOnly) expect(helperOnly.helperUnitsOfLastJob).toBe(4);
    expect(inPlaceCalls(() => kernels.swigluBackward(residentDgate, residentDup, residentDout, residentGate, residentUp, size))).toBe(1);
    expect(firstDifference(residentOut, out)).toBe(-1);
    expect(firstDifference(residentDgate, dgate)).toBe(-1);
    expect(firstDifference(residentDup, dup)).toBe(-1);
    // the writing backward over stale values gives the copying kernels' written gradients
    const staleGate = inArena(randomF32(size, random)), staleUp = inArena(randomF32(size, random), 1);
    expect(inPlaceCalls(() => kernels.swigluBackwardOverwrite(staleGate, staleUp, residentDout, residentGate, residentUp, size))).toBe(1);
    expect(firstDifference(staleGate, overwriteGate)).toBe(-1);
    expect(firstDifference(staleUp, overwriteUp)).toBe(-1);
    // a size that is not whole f32x4, or an operand outside the memory, copies (same results)
    const odd = size - 1, outsideOut = sharedCopy(new Float32Array(size));
    expect(inPlaceCalls(() => kernels.swigluForward(residentOut, residentGate, residentUp, odd))).toBe(0);
    expect(inPlaceCalls(() => kernels.swigluForward(outsideOut, residentGate, residentUp, size))).toBe(0);
    expect(firstDifference(outsideOut, out)).toBe(-1);
  });
});
