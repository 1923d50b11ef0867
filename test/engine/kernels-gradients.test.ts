import { describe, expect, it } from "vitest";
import { attentionBackward, attentionForward } from "../../src/engine/kernels/reference/attention.js";
import { crossEntropyBackward, crossEntropyForward } from "../../src/engine/kernels/reference/cross-entropy.js";
import { embeddingBackward, embeddingForward } from "../../src/engine/kernels/reference/embedding.js";
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from "../../src/engine/kernels/reference/matmul.js";
import { residualBackward, residualForward } from "../../src/engine/kernels/reference/residual.js";
import { rmsnormBackward, rmsnormForward } from "../../src/engine/kernels/reference/rmsnorm.js";
import { ropeBackward, ropeForward, ropeTables } from "../../src/engine/kernels/reference/rope.js";
import { swigluBackward, swigluForward } from "../../src/engine/kernels/reference/swiglu.js";
import { referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { loraBackward, loraForward } from "../../src/engine/lora/lora-linear.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { dot, f64, numericGradient, randomArray, relativeError } from "./gradient-check.js";

// Each test: a scalar L = sum(out * w) with random w, so dL/dout = w; the kernel's backward must give
// the same dL/dinput as central differences of the forward kernel.

const tolerance = 1e-7;

describe("backward kernels match finite differences (float64 storage)", () => {
  it("matmul: input and weight gradients", () => {
    const random = new SeededRandom(1);
    const N = 3, C = 5, OC = 4;
    const inp = randomArray(N * C, random), weight = randomArray(OC * C, random), w = randomArray(N * OC, random);
    const out = new Float64Array(N * OC);
    const loss = () => (matmulForward(f64(out), f64(inp), f64(weight), N, C, OC), dot(out, w));
    const dinp = new Float64Array(N * C), dweight = new Float64Array(OC * C);
    matmulBackwardInput(f64(dinp), f64(w), f64(weight), N, C, OC);
    matmulBackwardWeight(f64(dweight), f64(w), f64(inp), N, C, OC);
    expect(relativeError(dinp, numericGradient(inp, loss))).toBeLessThan(tolerance);
    expect(relativeError(dweight, numericGradient(weight, loss))).toBeLessThan(tolerance);
  });

  it("rmsnorm: input and weight gradients", () => {
    const random = new SeededRandom(2);
    const N = 3, C = 6;
    const inp = randomArray(N * C, random), weight = randomArray(C, random), w = randomArray(N * C, random);
    const out = new Float64Array(N * C), rstd = new Float64Array(N);
    const loss = () => (rmsnormForward(f64(out), f64(rstd), f64(inp), f64(weight), N, C, 1e-5), dot(out, w));
    loss();
    const dinp = new Float64Array(N * C), dweight = new Float64Array(C);
    rmsnormBackward(f64(dinp), f64(dweight), f64(w), f64(inp), f64(weight), f64(rstd), N, C);
    expect(relativeError(dinp, numericGradient(inp, loss))).toBeLessThan(tolerance);
    expect(relativeError(dweight, numericGradient(weight, loss))).toBeLessThan(tolerance);
  });

  it("rope: gradient, partial rotation (ropeDim < head size) and in-place use", () => {
    const random = new SeededRandom(3);
    const B = 2, T = 3, NH = 2, HS = 6, nRot = 4;
    const cos = new Float64Array((T * nRot) / 2), sin = new Float64Array((T * nRot) / 2);
    ropeTables(f64(cos), f64(sin), T, nRot, 10000, 0.5);
    const inp = randomArray(B * T * NH * HS, random), w = randomArray(inp.length, random);
    const out = new Float64Array(inp.length);
    const loss = () => (ropeForward(f64(out), f64(inp), f64(cos), f64(sin), B, T, NH, HS, nRot), dot(out, w));
    loss();
    const dinp = w.slice();
    ropeBackward(f64(dinp), f64(dinp), f64(cos), f64(sin), B, T, NH, HS, nRot);
    expect(relativeError(dinp, numericGradient(inp, loss))).toBeLessThan(tolerance);
    loss(); // numericGradient's last call left out at a perturbed input
    // pass-through dims beyond nRot are copied unchanged
    expect(out[4]).toBe(inp[4]);
    const inPlace = inp.slice();
    ropeForward(f64(inPlace), f64(inPlace), f64(cos), f64(sin), B, T, NH, HS, nRot);
    expect(Array.from(inPlace)).toEqual(Array.from(out));
  });

  it("grouped-query causal attention: q, k, v gradients", () => {
    const random = new SeededRandom(4);
    const shape = { B: 2, T: 4, NH: 4, NKV: 2, HS: 3 };
    const { B, T, NH, NKV, HS } = shape;
    const q = randomArray(B * T * NH * HS, random), k = randomArray(B * T * NKV * HS, random), v = randomArray(k.length, random);
    const w = randomArray(q.length, random);
    const out = new Float64Array(q.length), att = new Float64Array(B * NH * T * T);
    const loss = () => (attentionForward(f64(out), f64(att), f64(q), f64(k), f64(v), shape), dot(out, w));
    loss();
    const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
    attentionBackward(f64(dq), f64(dk), f64(dv), f64(new Float64Array(T)), f64(w), f64(q), f64(k), f64(v), f64(att), shape);
    expect(relativeError(dq, numericGradient(q, loss))).toBeLessThan(tolerance);
    expect(relativeError(dk, numericGradient(k, loss))).toBeLessThan(tolerance);
    expect(relativeError(dv, numericGradient(v, loss))).toBeLessThan(tolerance);
  });

  it("attention is causal: a later key does not change an earlier output", () => {
    const random = new SeededRandom(5);
    const shape = { B: 1, T: 3, NH: 2, NKV: 1, HS: 2 };
    const q = randomArray(12, random), k = randomArray(6, random), v = randomArray(6, random);
    const out1 = new Float64Array(12), out2 = new Float64Array(12), att = new Float64Array(18);
    attentionForward(f64(out1), f64(att), f64(q), f64(k), f64(v), shape);
    k[4] += 1; v[5] += 1; // position 2's key and value
    attentionForward(f64(out2), f64(att), f64(q), f64(k), f64(v), shape);
    expect(Array.from(out2.subarray(0, 8))).toEqual(Array.from(out1.subarray(0, 8)));
    expect(out2[8]).not.toBe(out1[8]);
  });

  it("swiglu: gate and up gradients", () => {
    const random = new SeededRandom(6);
    const size = 10;
    const gate = randomArray(size, random, 3), up = randomArray(size, random), w = randomArray(size, random);
    const out = new Float64Array(size);
    const loss = () => (swigluForward(f64(out), f64(gate), f64(up), size), dot(out, w));
    const dgate = new Float64Array(size), dup = new Float64Array(size);
    swigluBackward(f64(dgate), f64(dup), f64(w), f64(gate), f64(up), size);
    expect(relativeError(dgate, numericGradient(gate, loss))).toBeLessThan(tolerance);
    expect(relativeError(dup, numericGradient(up, loss))).toBeLessThan(tolerance);
  });

  it("cross-entropy: masked mean loss and its logit gradient", () => {
    const random = new SeededRandom(7);
    const N = 4, V = 5;
    const logits = randomArray(N * V, random, 3);
    const targets = Int32Array.from([1, 4, 0, 2]);
    const mask = Uint8Array.from([1, 0, 1, 1]);
    const probs = new Float64Array(N * V), losses = new Float64Array(N);
    const loss = () => crossEntropyForward(f64(losses), f64(probs), f64(logits), targets, mask, N, V);
    const value = loss();
    // hand check: mean of -log softmax at the three unmasked rows
    let expected = 0;
    for (const n of [0, 2, 3]) {
      const row = Array.from(logits.subarray(n * V, n * V + V));
      expected += Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[targets[n]];
    }
    expect(value).toBeCloseTo(expected / 3, 12);
    expect(losses[1]).toBe(0);
    const dlogits = new Float64Array(N * V);
    crossEntropyBackward(f64(dlogits), f64(probs), targets, mask, N, V);
    expect(relativeError(dlogits, numericGradient(logits, loss))).toBeLessThan(tolerance);
    expect(Array.from(dlogits.subarray(V, 2 * V))).toEqual([0, 0, 0, 0, 0]);
  });

  it("cross-entropy with every position masked gives 0, not NaN", () => {
    const logits = new Float32Array(6), probs = new Float32Array(6), losses = new Float32Array(2), dlogits = new Float32Array(6);
    const mask = new Uint8Array(2), targets = new Int32Array(2);
    expect(crossEntropyForward(losses, probs, logits, targets, mask, 2, 3)).toBe(0);
    crossEntropyBackward(dlogits, probs, targets, mask, 2, 3);
    expect(dlogits.every((x) => x === 0)).toBe(true);
  });

  it("embedding and residual: gradients route to the right rows", () => {
    const random = new SeededRandom(8);
    const V = 4, C = 3, N = 3;
    const table = randomArray(V * C, random), w = randomArray(N * C, random);
    const tokens = Int32Array.from([2, 0, 2]);
    const out = new Float64Array(N * C);
    const loss = () => (embeddingForward(f64(out), tokens, f64(table), N, C), dot(out, w));
    const dtable = new Float64Array(V * C);
    embeddingBackward(f64(dtable), f64(w), tokens, N, C);
    expect(relativeError(dtable, numericGradient(table, loss))).toBeLessThan(tolerance);

    const a = randomArray(6, random), b = randomArray(6, random), g = randomArray(6, random);
    const sum = new Float64Array(6);
    const residualLoss = () => (residualForward(f64(sum), f64(a), f64(b), 6), dot(sum, g));
    const da = new Float64Array(6), db = new Float64Array(6);
    residualBackward(f64(da), f64(db), f64(g), 6);
    expect(relativeError(da, numericGradient(a, residualLoss))).toBeLessThan(tolerance);
    expect(relativeError(db, numericGradient(b, residualLoss))).toBeLessThan(tolerance);
  });

  it("LoRA branch (with dropout mask): A, B and input gradients", () => {
    const random = new SeededRandom(9);
    const N = 3, C = 5, OC = 4, rank = 2, scale = 8, p = 0.3;
    const x = randomArray(N * C, random);
    const a = randomArray(rank * C, random), b = randomArray(OC * rank, random), w = randomArray(N * OC, random);
    const keep = Uint8Array.from({ length: N * C }, (_, i) => (i % 3 === 1 ? 0 : 1));
    const pair = { target: "q" as const, inFeatures: C, outFeatures: OC, a: f64(a), b: f64(b), gradA: f64(new Float64Array(a.length)), gradB: f64(new Float64Array(b.length)) };
    const acts = { h: f64(new Float64Array(N * rank)), dropped: f64(new Float64Array(N * C)), keep };
    const y = new Float64Array(N * OC);
    const loss = () => (y.fill(0), loraForward(referenceKernels, f64(y), f64(x), pair, acts, N, rank, scale, p), dot(y, w));
    loss();
    const dx = new Float64Array(N * C);
    const scratch = { dh: f64(new Float64Array(N * rank)), bT: f64(new Float64Array(rank * OC)), dDropped: f64(new Float64Array(N * C)) };
    loraBackward(referenceKernels, f64(dx), f64(w), f64(x), pair, acts, scratch, N, rank, scale, p);
    expect(relativeError(pair.gradA, numericGradient(a, loss))).toBeLessThan(tolerance);
    expect(relativeError(pair.gradB, numericGradient(b, loss))).toBeLessThan(tolerance);
    expect(relativeError(dx, numericGradient(x, loss))).toBeLessThan(tolerance);
    expect(dx[1]).toBe(0); // dropped input gets no gradient
  });
});
