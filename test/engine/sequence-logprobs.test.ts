import { describe, expect, it } from "vitest";
import { crossEntropyBackward, crossEntropyForward } from "../../src/engine/kernels/reference/cross-entropy.js";
import { createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

const fastKernels = createFastKernels();

// What preference training needs from the engine: per-sequence log-prob sums over the loss mask, the
// reference model as the same weights with the adapter off, and backward from any loss of the sums.
const lora = parseLoraConfig({ rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"], outputHead: true });
const B = 3, T = 6;

describe("crossEntropyBackwardWeighted", () => {
  const N = 7, V = 300;
  const random = new SeededRandom(3);
  const logits = Float32Array.from({ length: N * V }, () => random.uniform(-4, 4));
  const targets = Int32Array.from({ length: N }, () => Math.floor(random.next() * V));
  const probs = new Float32Array(N * V);
  crossEntropyForward(new Float32Array(N), probs, logits, targets, new Uint8Array(N).fill(1), N, V);

  it("with weights 1/N is the mean loss's backward", () => {
    const expected = new Float32Array(N * V), weighted = new Float32Array(N * V);
    crossEntropyBackward(expected, probs, targets, new Uint8Array(N).fill(1), N, V);
    referenceKernels.crossEntropyBackwardWeighted(weighted, probs, targets, new Float32Array(N).fill(1 / N), N, V);
    expect(relativeError(weighted, expected)).toBeLessThan(1e-6);
  });

  it("the fast set's matches the reference's, with weights of any sign (and zero)", () => {
    const weights = Float32Array.from({ length: N }, (_, n) => (n === 2 ? 0 : random.uniform(-2, 2)));
    const reference = new Float32Array(N * V), fast = new Float32Array(N * V);
    referenceKernels.crossEntropyBackwardWeighted(reference, probs, targets, weights, N, V);
    fastKernels.crossEntropyBackwardWeighted(fast, probs, targets, weights, N, V);
    expect(reference.some((value) => value !== 0)).toBe(true);
    expect(relativeError(fast, reference)).toBeLessThan(1e-6);
    expect(fast.subarray(2 * V, 3 * V).every((value) => value === 0)).toBe(true);
  });
});

describe.each([referenceKernels, fastKernels])("sequence log-probs and the adapter switch ($name kernels)", (kernels) => {
  const config = tinyConfig();
  const batch = tinyBatch(B, T, config.vocabSize);
  batch.lossMask[T + 4] = 0; // sequences with different counts

  it("sums log p(target) over each sequence's unmasked positions (minus the per-token losses)", () => {
    const model = tinyModel(config, kernels, lora);
    const sums = new Float64Array(B);
    model.sequenceLogProbs(batch, B, T, sums);
    let total = 0, count = 0;
    for (const sum of sums) total -= sum;
    for (const bit of batch.lossMask) count += bit;
    model.training = false;
    expect(Math.abs(model.forward(batch, B, T) - total / count)).toBeLessThan(1e-5);
    expect(sums.every((sum) => sum < 0)).toBe(true);
  });

  it("with the adapter disabled, runs the base weights alone (as a model without LoRA), and back on restores the adapter", () => {
    const adapted = tinyModel(config, kernels, lora), plain = new LlamaModel(config, adapted.weights, { kernels });
    const [off, base, on, again] = [new Float64Array(B), new Float64Array(B), new Float64Array(B), new Float64Array(B)];
    adapted.sequenceLogProbs(batch, B, T, on);
    adapted.adapterEnabled = false;
    adapted.sequenceLogProbs(batch, B, T, off);
    adapted.adapterEnabled = true;
    adapted.sequenceLogProbs(batch, B, T, again);
    plain.sequenceLogProbs(batch, B, T, base);
    expect(relativeError(off, base)).toBe(0);
    expect(relativeError(again, on)).toBe(0);
    expect(relativeError(on, off)).toBeGreaterThan(1e-3);
  });

  it("backward from dLoss/d(sum) = -1/count gives the mean cross-entropy's gradients; scaled weights scale them", () => {
    const mean = tinyModel(config, kernels, lora), weighted = tinyModel(config, kernels, lora);
    let count = 0;
    for (const bit of batch.lossMask) count += bit;
    mean.zeroGradients();
    mean.forward(batch, B, T);
    mean.backward();
    weighted.zeroGradients();
    weighted.sequenceLogProbs(batch, B, T, new Float64Array(B));
    weighted.backwardFromSequenceLogProbs(new Float64Array(B).fill(-1 / count));
    expect(mean.lora!.grads.some((g) => g !== 0)).toBe(true);
    expect(relativeError(weighted.lora!.grads, mean.lora!.grads)).toBeLessThan(1e-5);
  });

  it("matches finite differences of a loss of the sums (per-sequence weights of both signs)", () => {
    const model = tinyModel(config, kernels, lora);
    const dLoss = Float64Array.from([0.7, -1.3, 0.4]);
    const loss = () => {
      const sums = new Float64Array(B);
      model.sequenceLogProbs(batch, B, T, sums);
      return sums.reduce((acc, sum, b) => acc + dLoss[b] * sum, 0);
    };
    model.zeroGradients();
    loss();
    model.backwardFromSequenceLogProbs(dLoss);
    const grads = model.lora!.grads, params = model.lora!.params;
    const random = new SeededRandom(9);
    for (let probe = 0; probe < 12; probe++) {
      const i = Math.floor(random.next() * params.length);
      const saved = params[i], h = 1e-2;
      params[i] = saved + h;
      const plus = loss();
      params[i] = saved - h;
      const minus = loss();
      params[i] = saved;
      const numeric = (plus - minus) / (2 * h);
      expect(Math.abs(numeric - grads[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
    }
  });

  it("refuses to back-propagate a pass run with the adapter disabled", () => {
    const model = tinyModel(config, kernels, lora);
    model.adapterEnabled = false;
    model.sequenceLogProbs(batch, B, T, new Float64Array(B));
    model.adapterEnabled = true;
    expect(() => model.backwardFromSequenceLogProbs(new Float64Array(B))).toThrow(/adapter disabled/);
  });
});
