import { describe, expect, it } from "vitest";
import { createFastKernels, referenceKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { allocateBaseWeights } from "../../src/engine/model/base-weights.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { randomizeBaseWeights } from "../../src/engine/model/random-init.js";
import { parseLoraConfig, type LoraConfig } from "../../src/engine/lora/lora-config.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { tinyBatch, tinyConfig } from "./tiny-model.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// Activation checkpointing keeps each layer's input only and recomputes a layer's activations during
// backward. The recomputation runs the same kernels on the same inputs and replays the dropout draws,
// so gradients must be bit-identical to the run that kept everything, not merely close.

const config = tinyConfig({ nLayers: 3, vocabSize: 13 });
// dropout > 0 so that the recomputed layers must reproduce the forward pass's masks
const lora = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0.2, targets: ["q", "k", "v", "o", "gate", "up", "down"] });
const B = 2, T = 6;

function pair(kernels: KernelSet, loraConfig: LoraConfig = lora) {
  const make = (checkpointActivations: boolean) => {
    const weights = allocateBaseWeights(config);
    randomizeBaseWeights(config, weights, new SeededRandom(9), 0.3);
    const model = new LlamaModel(config, weights, { kernels, lora: loraConfig, seed: 21, checkpointActivations });
    // non-zero B so every LoRA gradient is non-trivial (B starts at 0)
    const random = new SeededRandom(5);
    for (const pairs of model.lora!.layers) for (const p of pairs.values()) for (let i = 0; i < p.b.length; i++) p.b[i] = random.uniform(-0.3, 0.3);
    return model;
  };
  return { plain: make(false), checkpointed: make(true) };
}

function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

describe("activation checkpointing", () => {
  for (const kernels of [referenceKernels, fastKernels]) {
    it(`gives bit-identical loss, LoRA gradients and dropout stream over three steps (${kernels.name} kernels)`, () => {
      const { plain, checkpointed } = pair(kernels);
      for (let step = 0; step < 3; step++) {
        const batch = tinyBatch(B, T, config.vocabSize, 30 + step);
        const losses = [plain, checkpointed].map((model) => {
          model.zeroGradients();
          const loss = model.forward(batch, B, T);
          model.backward();
          // a small parameter update so the next step's activations differ
          const { params, grads } = model.lora!;
          for (let i = 0; i < params.length; i++) params[i] -= 0.1 * grads[i];
          return loss;
        });
        expect(losses[1]).toBe(losses[0]);
        expect(bits(checkpointed.lora!.grads)).toEqual(bits(plain.lora!.grads));
        expect(checkpointed.random.getState()).toBe(plain.random.getState());
      }
      expect(plain.lora!.grads.some((g) => g !== 0)).toBe(true);
    });
  }

  it("gives the same logits for a forward pass without targets", () => {
    const { plain, checkpointed } = pair(referenceKernels);
    plain.training = checkpointed.training = false;
    const { tokens } = tinyBatch(B, T, config.vocabSize);
    plain.forward({ tokens }, B, T);
    checkpointed.forward({ tokens }, B, T);
    expect(bits(checkpointed.logits)).toEqual(bits(plain.logits));
  });

  it("holds one layer's activations instead of one per layer (memoryBytes)", () => {
    const { plain, checkpointed } = pair(referenceKernels);
    const batch = tinyBatch(B, T, config.vocabSize);
    for (const model of [plain, checkpointed]) {
      model.forward(batch, B, T);
      model.backward();
    }
    const kept = plain.memoryBytes().activations, shrunk = checkpointed.memoryBytes().activations;
    const N = B * T, C = config.dim, V = config.vocabSize;
    // what both keep: the residual stream (nLayers + 1 rows of [N, C]) and the head's buffers
    const shared = 4 * ((config.nLayers + 1) * N * C + N * C + N + N * V + N * C + N + T * config.ropeDim) + 8 * N;
    const perLayer = (kept - shared) / config.nLayers;
    expect(perLayer).toBeGreaterThan(0);
    expect(shrunk).toBe(shared + perLayer);
    expect(checkpointed.memoryBytes().total).toBeLessThan(plain.memoryBytes().total);
  });
});
