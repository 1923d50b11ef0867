import { describe, expect, it } from "vitest";
import { fastKernels, referenceKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { firstDifference, numericGradient, relativeError } from "./gradient-check.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

// forwardHidden/backwardHidden: the body without the vocabulary head, for sequence-level heads (the
// reward model's score on the last token). Checked against finite differences of a linear function of
// the hidden states, and the fast kernels against the reference ones.

const lora = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"] });
const B = 2, T = 5;
const positions = Int32Array.from([1, 4, 7, 8]);

function probe(count: number, seed = 3): Float32Array {
  const random = new SeededRandom(seed);
  return Float32Array.from({ length: count }, () => random.uniform(-1, 1));
}

/** sum(hidden ⊙ G): its gradient with respect to the hidden states is G. */
function linearLoss(hidden: Float32Array, g: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < g.length; i++) sum += hidden[i] * g[i];
  return sum;
}

function gradientsOf(kernels: KernelSet) {
  const config = tinyConfig();
  const model = tinyModel(config, kernels, lora);
  const { tokens } = tinyBatch(B, T, config.vocabSize);
  const g = probe(positions.length * config.dim);
  model.zeroGradients();
  const hidden = model.forwardHidden(tokens, B, T, positions).slice();
  model.backwardHidden(g);
  return { model, tokens, g, hidden, grads: model.lora!.grads.slice() };
}

describe("LlamaModel.forwardHidden / backwardHidden", () => {
  it("are the final-norm hidden states of the full forward pass at the chosen positions", () => {
    const config = tinyConfig();
    const model = tinyModel(config, referenceKernels, lora);
    const { tokens } = tinyBatch(B, T, config.vocabSize);
    model.training = false;
    const hidden = model.forwardHidden(tokens, B, T, positions).slice();
    model.forward({ tokens }, B, T);
    const full = model.activations!.finalNormOut;
    positions.forEach((n, m) => expect(relativeError(hidden.subarray(m * config.dim, (m + 1) * config.dim), full.subarray(n * config.dim, (n + 1) * config.dim))).toBe(0));
  });

  for (const [name, kernels, tolerance] of [["reference", referenceKernels, 3e-3], ["fast", fastKernels, 5e-3]] as const) {
    it(`LoRA gradients from a hidden-state gradient match finite differences (${name} kernels)`, () => {
      const { model, tokens, g, grads } = gradientsOf(kernels);
      const params = model.lora!.params;
      const numeric = numericGradient(params, () => linearLoss(model.forwardHidden(tokens, B, T, positions), g), 1e-2);
      expect(relativeError(grads, numeric)).toBeLessThan(tolerance);
      expect(grads.some((value) => value !== 0)).toBe(true);
    });
  }

  it("the fast kernels give the reference kernels' hidden states and gradients", () => {
    const reference = gradientsOf(referenceKernels);
    const fast = gradientsOf(fastKernels);
    expect(relativeError(fast.hidden, reference.hidden)).toBeLessThan(1e-5);
    expect(relativeError(fast.grads, reference.grads)).toBeLessThan(1e-4);
  });

  it("with activation checkpointing (and dropout) the gradients are bit-identical", () => {
    const config = tinyConfig();
    const withDropout = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0.1, targets: ["q", "v", "gate"] });
    const run = (checkpointActivations: boolean) => {
      const model = tinyModel(config, referenceKernels, withDropout);
      const again = new LlamaModel(config, model.weights, { kernels: referenceKernels, lora: withDropout, seed: 42, checkpointActivations });
      again.lora!.params.set(model.lora!.params);
      const { tokens } = tinyBatch(B, T, config.vocabSize);
      again.zeroGradients();
      again.forwardHidden(tokens, B, T, positions);
      again.backwardHidden(probe(positions.length * config.dim));
      return again.lora!.grads.slice();
    };
    expect(firstDifference(run(true), run(false))).toBe(-1);
  });

  it("refuses positions out of range or out of order, and a backward of the other kind", () => {
    const config = tinyConfig();
    const model = tinyModel(config, referenceKernels, lora);
    const batch = tinyBatch(B, T, config.vocabSize);
    expect(() => model.forwardHidden(batch.tokens, B, T, Int32Array.from([B * T]))).toThrow(InvalidArgumentError);
    expect(() => model.forwardHidden(batch.tokens, B, T, Int32Array.from([3, 3]))).toThrow(/strictly increasing/);
    expect(() => model.forwardHidden(batch.tokens, B, T, new Int32Array(0))).toThrow(InvalidArgumentError);
    model.forwardHidden(batch.tokens, B, T, positions);
    expect(() => model.backward()).toThrow(/forward pass with targets/);
    expect(() => model.backwardHidden(new Float32Array(3))).toThrow(/dHidden/);
    model.forward(batch, B, T);
    expect(() => model.backwardHidden(new Float32Array(positions.length * config.dim))).toThrow(/forwardHidden/);
  });
});
