import { afterAll, describe, expect, it } from "vitest";
import { crossEntropyForward } from "../../src/engine/kernels/reference/cross-entropy.js";
import { ParallelPointwise } from "../../src/engine/kernels/fast/parallel-pointwise.js";
import { PointwiseSimd, rowsPerUnit } from "../../src/engine/kernels/fast/pointwise-runner.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { firstDifference } from "./gradient-check.js";

// The two-thread element-wise kernels run the same units as the one-thread ones, so their results
// must be identical bit for bit: masked rows, several rows per unit, views at an offset into a larger
// shared buffer (as the model's activations are). One instance shares units as in training; another
// leaves every unit to the helper, so the helper's copy of the code is checked on all of them (on a
// busy machine this thread may finish a small job before the helper wakes, and then withdraws it).

const sharedCopy = (values: ArrayLike<number>, extraFront = 0) => {
  const all = new Float32Array(new SharedArrayBuffer((values.length + extraFront) * 4));
  const view = all.subarray(extraFront);
  view.set(values);
  return view;
};
const randomF32 = (size: number, random: SeededRandom, scale = 1) => Float32Array.from({ length: size }, () => random.uniform(-scale, scale));

// the default threshold is 1M elements: keep the test data small
const shared = new ParallelPointwise({ minParallelElements: 1 << 16 });
const helperOnly = new ParallelPointwise({ minParallelElements: 1 << 16, helperRunsEveryUnit: true });
const one = new PointwiseSimd();
afterAll(() => Promise.all([shared.close(), helperOnly.close()]));

describe.each([
  { name: "shared between the threads", two: shared },
  { name: "all on the helper", two: helperOnly },
])("element-wise kernels on two threads, units $name", ({ two }) => {
  /** After a job with the helper-only instance, the helper must have run every unit. */
  const expectHelperRan = (units: number) => {
    if (two === helperOnly) expect(two.helperUnitsOfLastJob).toBe(units);
  };

  it.each([
    [40, 9000, 40], // one row a unit
    [700, 200, Math.ceil(700 / rowsPerUnit(200))], // several rows a unit, V not a multiple of 16
  ])("cross-entropy forward and backward at N=%i V=%i equal one thread exactly", (N, V, units) => {
    const random = new SeededRandom(N + V);
    const logits = randomF32(N * V, random, 6);
    const targets = Int32Array.from({ length: N }, () => Math.floor(random.next() * V));
    const mask = Uint8Array.from({ length: N }, (_, n) => (n % 5 === 2 ? 0 : 1));

    const expected = logits.slice(), expectedLosses = new Float32Array(N);
    const expectedLoss = one.crossEntropyForward(expectedLosses, expected, expected, targets, mask, N, V);
    one.crossEntropyBackward(expected, expected, targets, mask, N, V);

    const actual = sharedCopy(logits, 3), actualLosses = new Float32Array(N);
    const actualLoss = two.crossEntropyForward(actualLosses, actual, actual, targets, mask, N, V);
    expectHelperRan(units);
    expect(actualLoss).toBe(expectedLoss);
    expect(firstDifference(actualLosses, expectedLosses)).toBe(-1);
    two.crossEntropyBackward(actual, sharedCopy(actual), targets, mask, N, V); // separate probs and dlogits buffers
    expectHelperRan(units);
    expect(firstDifference(actual, expected)).toBe(-1);
    // the fused pass too
    const fusedExpected = new Float32Array(N * V), fusedExpectedLosses = new Float32Array(N);
    const fusedExpectedLoss = one.crossEntropyForwardBackward(fusedExpectedLosses, fusedExpected, logits, targets, mask, N, V);
    const fused = sharedCopy(logits, 1), fusedLosses = new Float32Array(N);
    expect(two.crossEntropyForwardBackward(fusedLosses, fused, fused, targets, mask, N, V)).toBe(fusedExpectedLoss);
    expectHelperRan(units);
    expect(firstDifference(fusedLosses, fusedExpectedLosses)).toBe(-1);
    expect(firstDifference(fused, fusedExpected)).toBe(-1);
    // and the loss is the reference's
    const reference = logits.slice();
    expect(Math.abs(crossEntropyForward(new Float32Array(N), reference, reference, targets, mask, N, V) - actualLoss) / actualLoss).toBeLessThan(1e-6);
  });

  it("SwiGLU forward and backward equal one thread exactly", () => {
    const size = 100_003, random = new SeededRandom(3), units = Math.ceil(size / 16384);
    const gate = randomF32(size, random, 6), up = randomF32(size, random), dout = randomF32(size, random);
    const dgate = randomF32(size, random), dup = randomF32(size, random);
    const expectedOut = new Float32Array(size), expectedDgate = dgate.slice(), expectedDup = dup.slice();
    one.swigluForward(expectedOut, gate, up, size);
    one.swigluBackward(expectedDgate, expectedDup, dout, gate, up, size);

    const [gateS, upS, doutS] = [sharedCopy(gate), sharedCopy(up, 1), sharedCopy(dout, 2)];
    const out = sharedCopy(new Float32Array(size));
    two.swigluForward(out, gateS, upS, size);
    expectHelperRan(units);
    expect(firstDifference(out, expectedOut)).toBe(-1);
    const actualDgate = sharedCopy(dgate), actualDup = sharedCopy(dup, 5);
    two.swigluBackward(actualDgate, actualDup, doutS, gateS, upS, size);
    expectHelperRan(units);
    expect(firstDifference(actualDgate, expectedDgate)).toBe(-1);
    expect(firstDifference(actualDup, expectedDup)).toBe(-1);
  });

  it("plain (unshared) arrays run on this thread alone", () => {
    const size = 70_000, random = new SeededRandom(4);
    const gate = randomF32(size, random), up = randomF32(size, random), out = new Float32Array(size), expected = new Float32Array(size);
    two.swigluForward(out, gate, up, size);
    expect(two.helperUnitsOfLastJob).toBe(0);
    one.swigluForward(expected, gate, up, size);
    expect(firstDifference(out, expected)).toBe(-1);
  });
});
