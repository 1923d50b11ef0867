import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { crossEntropyBackward, crossEntropyForward } from "../../src/engine/kernels/reference/cross-entropy.js";
import { createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { swigluBackward, swigluForward } from "../../src/engine/kernels/reference/swiglu.js";
import { PointwiseSimd } from "../../src/engine/kernels/fast/pointwise-runner.js";
import { buildPointwiseModule, pointwiseSimdAvailable } from "../../src/engine/kernels/fast/pointwise-simd.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// The SIMD cross-entropy and SwiGLU against the reference (oracle) kernels, with and without fused
// multiply-adds: vocabularies that are and are not multiples of the 16-float block, masked rows,
// aliased and separate buffers, extreme and non-finite values, and bad input.

const randomF32 = (size: number, random: SeededRandom, scale = 1) => Float32Array.from({ length: size }, () => random.uniform(-scale, scale));
const kernelVariants = [true, false].map((fused) => ({ fused, kernels: new PointwiseSimd(new WebAssembly.Module(buildPointwiseModule(fused))) }));

/** Largest per-row relativeError: a row's small probabilities are compared against that row's largest. */
function rowError(actual: Float32Array, expected: Float32Array, N: number, V: number): number {
  let worst = 0;
  for (let n = 0; n < N; n++) worst = Math.max(worst, relativeError(actual.subarray(n * V, n * V + V), expected.subarray(n * V, n * V + V)));
  return worst;
}

function crossEntropyCase(N: number, V: number, seed: number, scale: number, maskEvery = 0) {
  const random = new SeededRandom(seed);
  const logits = randomF32(N * V, random, scale);
  const targets = Int32Array.from({ length: N }, () => Math.floor(random.next() * V));
  const mask = Uint8Array.from({ length: N }, (_, n) => (maskEvery > 0 && n % maskEvery === 1 ? 0 : 1));
  return { logits, targets, mask };
}

it("WebAssembly SIMD is available on this runtime (else the fast set silently runs the reference kernels)", () => {
  expect(pointwiseSimdAvailable()).toBe(true);
});

describe.each(kernelVariants)("SIMD cross-entropy equals the reference (fused multiply-add: $fused)", ({ kernels }) => {
  it.each([
    [8, 32000, 8],
    [7, 5, 4],
    [6, 17, 20],
    [9, 1000, 30], // logits 60 apart: probabilities down to e^-60
    [5, 50257, 2], // GPT-2's vocabulary: not a multiple of 16
    [300, 48, 3], // more rows than one unit holds
  ])("N=%i V=%i (logits in +-%i), masked rows, probs aliasing logits", (N, V, scale) => {
    const { logits, targets, mask } = crossEntropyCase(N, V, N * V, scale, 3);
    const expected = logits.slice(), actual = logits.slice();
    const expectedLosses = new Float32Array(N).fill(7), actualLosses = expectedLosses.slice();
    const expectedLoss = crossEntropyForward(expectedLosses, expected, expected, targets, mask, N, V);
    const actualLoss = kernels.crossEntropyForward(actualLosses, actual, actual, targets, mask, N, V);
    expect(Math.abs(actualLoss - expectedLoss) / expectedLoss).toBeLessThan(1e-6);
    expect(relativeError(actualLosses, expectedLosses)).toBeLessThan(1e-6);
    expect(rowError(actual, expected, N, V)).toBeLessThan(1e-6);
    // masked rows keep their logits
    for (let n = 0; n < N; n++) if (!mask[n]) expect(actual.subarray(n * V, n * V + V)).toEqual(logits.subarray(n * V, n * V + V));

    crossEntropyBackward(expected, expected, targets, mask, N, V);
    kernels.crossEntropyBackward(actual, actual, targets, mask, N, V);
    expect(rowError(actual, expected, N, V)).toBeLessThan(1e-6);
    // the target entries are the exact reference arithmetic on the same probability
    for (let n = 0; n < N; n++) if (mask[n]) expect(Math.abs(actual[n * V + targets[n]] - expected[n * V + targets[n]])).toBeLessThan(1e-6 / N);
  });

  it.each([
    [8, 32000, true],
    [6, 17, true],
    [300, 48, false], // separate logits and dlogits buffers
  ])("fused forward + backward at N=%i V=%i (dlogits aliasing logits: %s) equals the reference's two passes", (N, V, aliased) => {
    const { logits, targets, mask } = crossEntropyCase(N, V, N + V, 8, 3);
    const expected = logits.slice(), expectedLosses = new Float32Array(N).fill(7), actualLosses = expectedLosses.slice();
    const expectedLoss = crossEntropyForward(expectedLosses, expected, expected, targets, mask, N, V);
    crossEntropyBackward(expected, expected, targets, mask, N, V);
    const input = logits.slice(), actual = aliased ? input : new Float32Array(N * V).fill(3);
    const actualLoss = kernels.crossEntropyForwardBackward(actualLosses, actual, input, targets, mask, N, V);
    expect(Math.abs(actualLoss - expectedLoss) / expectedLoss).toBeLessThan(1e-6);
    expect(relativeError(actualLosses, expectedLosses)).toBeLessThan(1e-6);
    expect(rowError(actual, expected, N, V)).toBeLessThan(1e-6);
    for (let n = 0; n < N; n++) {
      if (!mask[n]) expect(actual.subarray(n * V, n * V + V).every((g) => g === 0)).toBe(true);
      else expect(Math.abs(actual[n * V + targets[n]] - expected[n * V + targets[n]])).toBeLessThan(1e-6 / N);
    }
  });

  it("separate logits, probs and dlogits buffers at different alignments; logits untouched", () => {
    const N = 4, V = 333; // odd: rows alternate between 8-byte alignments
    const { logits, targets, mask } = crossEntropyCase(N, V, 5, 6);
    const original = logits.slice();
    const expectedProbs = new Float32Array(N * V), actualProbs = new Float32Array(N * V + 1).subarray(1);
    const losses = new Float32Array(N);
    crossEntropyForward(losses, expectedProbs, logits, targets, mask, N, V);
    kernels.crossEntropyForward(losses, actualProbs, logits, targets, mask, N, V);
    expect(logits).toEqual(original);
    expect(rowError(actualProbs, expectedProbs, N, V)).toBeLessThan(1e-6);
    const expectedGrad = new Float32Array(N * V).fill(9), actualGrad = new Float32Array(N * V + 3).fill(9).subarray(3);
    crossEntropyBackward(expectedGrad, expectedProbs, targets, mask, N, V);
    kernels.crossEntropyBackward(actualGrad, actualProbs, targets, mask, N, V);
    expect(rowError(actualGrad, expectedGrad, N, V)).toBeLessThan(1e-6);
  });

  it("underflow is exactly zero (as the reference) and all-masked batches give loss 0 and zero gradients", () => {
    const V = 40;
    const logits = Float32Array.from({ length: V }, (_, v) => (v === 3 ? 0 : -200 + v)); // e^(x - max) underflows everywhere but v = 3
    const probs = new Float32Array(V), losses = new Float32Array(1);
    const loss = kernels.crossEntropyForward(losses, probs, logits, Int32Array.of(3), Uint8Array.of(1), 1, V);
    expect(loss).toBe(0);
    expect(Array.from(probs)).toEqual(Array.from({ length: V }, (_, v) => (v === 3 ? 1 : 0)));

    const N = 3;
    const grad = new Float32Array(N * V).fill(5);
    expect(kernels.crossEntropyForward(new Float32Array(N), new Float32Array(N * V), new Float32Array(N * V), new Int32Array(N), new Uint8Array(N), N, V)).toBe(0);
    kernels.crossEntropyBackward(grad, new Float32Array(N * V), new Int32Array(N), new Uint8Array(N), N, V);
    expect(grad.every((g) => g === 0)).toBe(true);
    grad.fill(5);
    expect(kernels.crossEntropyForwardBackward(new Float32Array(N), grad, new Float32Array(N * V), new Int32Array(N), new Uint8Array(N), N, V)).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it("empty batches do nothing", () => {
    expect(kernels.crossEntropyForward(new Float32Array(0), new Float32Array(0), new Float32Array(0), new Int32Array(0), new Uint8Array(0), 0, 10)).toBe(0);
    kernels.crossEntropyBackward(new Float32Array(0), new Float32Array(0), new Int32Array(0), new Uint8Array(0), 0, 10);
    kernels.swigluForward(new Float32Array(0), new Float32Array(0), new Float32Array(0), 0);
    kernels.swigluBackward(new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(0), 0);
  });

  it("a NaN or infinite logit makes the loss NaN (divergence is reported, not hidden)", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const V = 100;
      const logits = Float32Array.from({ length: 2 * V }, (_, i) => Math.sin(i));
      logits[V + 37] = bad;
      const losses = new Float32Array(2);
      const loss = kernels.crossEntropyForward(losses, logits, logits, Int32Array.of(1, 2), Uint8Array.of(1, 1), 2, V);
      expect(loss).toBeNaN();
      expect(losses[0]).not.toBeNaN();
      expect(losses[1]).toBeNaN();
    }
  });
});

describe.each(kernelVariants)("SIMD SwiGLU equals the reference (fused multiply-add: $fused)", ({ kernels }) => {
  it.each([1, 3, 4, 17, 16384 + 5, 40000])("size %i", (size) => {
    const random = new SeededRandom(size);
    const gate = randomF32(size, random, 8), up = randomF32(size, random), dout = randomF32(size, random);
    const expectedOut = new Float32Array(size), actualOut = expectedOut.slice();
    swigluForward(expectedOut, gate, up, size);
    kernels.swigluForward(actualOut, gate, up, size);
    expect(relativeError(actualOut, expectedOut)).toBeLessThan(1e-6);
    const expectedDgate = randomF32(size, random), actualDgate = expectedDgate.slice();
    const expectedDup = randomF32(size, random), actualDup = expectedDup.slice();
    swigluBackward(expectedDgate, expectedDup, dout, gate, up, size);
    kernels.swigluBackward(actualDgate, actualDup, dout, gate, up, size);
    expect(relativeError(actualDgate, expectedDgate)).toBeLessThan(1e-6);
    expect(relativeError(actualDup, expectedDup)).toBeLessThan(1e-6);
  });

  it("element by element over gates from -100 to 100, and NaN stays NaN", () => {
    const size = 2001;
    const gate = Float32Array.from({ length: size }, (_, i) => -100 + i / 10);
    gate[7] = Number.NaN;
    const up = new Float32Array(size).fill(1);
    const expected = new Float32Array(size), actual = new Float32Array(size);
    swigluForward(expected, gate, up, size);
    kernels.swigluForward(actual, gate, up, size);
    expect(actual[7]).toBeNaN();
    for (let i = 0; i < size; i++) {
      if (i === 7) continue;
      // below gate = -88 the sigmoid's e^-gate is clamped at e^88: silu is ~1e-36 where the reference's is smaller still
      expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(3e-7 * Math.abs(expected[i]) + 1e-35);
    }
  });
});

describe("bad input gives a clear error", () => {
  const kernels = kernelVariants[0].kernels;
  it("a target outside the vocabulary names the position", () => {
    const run = () => kernels.crossEntropyForward(new Float32Array(2), new Float32Array(20), new Float32Array(20), Int32Array.of(3, 10), Uint8Array.of(1, 1), 2, 10);
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(/target 10 at position 1 is outside the vocabulary \[0, 10\)/);
    // a masked position's target is never read
    expect(() => kernels.crossEntropyForward(new Float32Array(2), new Float32Array(20), new Float32Array(20), Int32Array.of(3, -1), Uint8Array.of(1, 0), 2, 10)).not.toThrow();
  });

  it("arrays shorter than the shape name the array", () => {
    expect(() => kernels.crossEntropyBackward(new Float32Array(19), new Float32Array(20), Int32Array.of(1, 1), Uint8Array.of(1, 1), 2, 10)).toThrow(/dlogits holds 19 floats, needs 20/);
    expect(() => kernels.swigluForward(new Float32Array(8), new Float32Array(7), new Float32Array(8), 8)).toThrow(/gate holds 7 floats, needs 8/);
    expect(() => kernels.crossEntropyForward(new Float32Array(2), new Float32Array(20), new Float32Array(20), Int32Array.of(1, 1), Uint8Array.of(1, 1), 2, 0)).toThrow(InvalidArgumentError);
  });
});

it("the default fast kernel set runs these kernels and equals the reference set", () => {
  const N = 16, V = 512;
  const { logits, targets, mask } = crossEntropyCase(N, V, 77, 5, 4);
  const [expected, actual] = [logits.slice(), logits.slice()];
  const losses = new Float32Array(N);
  const expectedLoss = referenceKernels.crossEntropyForward(losses, expected, expected, targets, mask, N, V);
  const actualLoss = fastKernels.crossEntropyForward(losses, actual, actual, targets, mask, N, V);
  expect(Math.abs(actualLoss - expectedLoss) / expectedLoss).toBeLessThan(1e-6);
  referenceKernels.crossEntropyBackward(expected, expected, targets, mask, N, V);
  fastKernels.crossEntropyBackward(actual, actual, targets, mask, N, V);
  expect(rowError(actual, expected, N, V)).toBeLessThan(1e-6);
  expect(actual).not.toEqual(expected); // a different implementation, not the reference under another name
});
