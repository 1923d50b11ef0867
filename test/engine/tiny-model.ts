// A tiny GQA model with random weights for the model-level tests.
import { llamaConfig, type LlamaConfig } from "../../src/engine/config.js";
import type { KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { allocateBaseWeights } from "../../src/engine/model/base-weights.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { randomizeBaseWeights } from "../../src/engine/model/random-init.js";
import type { LoraConfig } from "../../src/engine/lora/lora-config.js";
import { SeededRandom } from "../../src/random/seeded-random.js";

export const tinyConfig = (overrides: Partial<LlamaConfig> = {}) =>
  llamaConfig({ vocabSize: 11, dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, normEps: 1e-5, ...overrides });

export function tinyModel(config: LlamaConfig, kernels: KernelSet | undefined, lora?: LoraConfig, seed = 42): LlamaModel {
  const weights = allocateBaseWeights(config);
  randomizeBaseWeights(config, weights, new SeededRandom(seed), 0.3);
  const model = new LlamaModel(config, weights, { kernels, lora, seed });
  // B starts at zero (LoRA paper); make it non-zero so the A gradients are non-trivial
  if (model.lora) {
    const random = new SeededRandom(seed + 1);
    for (const pairs of model.lora.layers) for (const pair of pairs.values()) for (let i = 0; i < pair.b.length; i++) pair.b[i] = random.uniform(-0.3, 0.3);
  }
  return model;
}

export function tinyBatch(B: number, T: number, V: number, seed = 7) {
  const random = new SeededRandom(seed);
  const ids = Int32Array.from({ length: B * T + 1 }, () => Math.floor(random.next() * V));
  const tokens = ids.slice(0, B * T);
  const targets = ids.slice(1, B * T + 1);
  const lossMask = Uint8Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 0 : 1)); // first position masked
  return { tokens, targets, lossMask };
}
