import { describe, expect, it } from "vitest";
import { createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { relativeError } from "./gradient-check.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// While training, the model takes the loss and its gradient from one fused pass over the logits;
// out of training (validation) it computes the loss alone and backward derives the gradient.
const lora = parseLoraConfig({ rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"] });
const B = 2, T = 5;

describe.each([referenceKernels, fastKernels])("the fused loss pass ($name kernels)", (kernels) => {
  it("gives the loss and LoRA gradients of the separate passes", () => {
    const config = tinyConfig();
    const batch = tinyBatch(B, T, config.vocabSize);
    const fused = tinyModel(config, kernels, lora), separate = tinyModel(config, kernels, lora);
    separate.training = false; // no dropout here, so only the loss path differs
    fused.zeroGradients();
    separate.zeroGradients();
    const fusedLoss = fused.forward(batch, B, T);
    const separateLoss = separate.forward(batch, B, T);
    expect(Math.abs(fusedLoss - separateLoss)).toBeLessThan(1e-6 * Math.abs(separateLoss));
    fused.backward();
    separate.backward();
    expect(fused.lora!.grads.some((g) => g !== 0)).toBe(true);
    expect(relativeError(fused.lora!.grads, separate.lora!.grads)).toBeLessThan(1e-6);
  });

  it("a forward pass is back-propagated once: a second backward() asks for a new forward", () => {
    const config = tinyConfig();
    const model = tinyModel(config, kernels, lora);
    model.forward(tinyBatch(B, T, config.vocabSize), B, T);
    model.backward();
    expect(() => model.backward()).toThrow(/forward pass with targets first/);
  });
});

describe("engine memory", () => {
  it("counts the frozen-weight panels the fast kernels keep, and none for the reference kernels", () => {
    const config = tinyConfig({ dim: 32, hiddenDim: 64, vocabSize: 48 });
    const batch = tinyBatch(B, T, config.vocabSize);
    const fast = tinyModel(config, fastKernels, lora), reference = tinyModel(config, referenceKernels, lora);
    for (const model of [fast, reference]) {
      model.forward(batch, B, T);
      model.backward();
    }
    const fastMemory = fast.memoryBytes(), referenceMemory = reference.memoryBytes();
    expect(referenceMemory.kernelWeights).toBe(0);
    // forward and input-gradient panels of every layer matrix and the head: at least the weights' own size
    expect(fastMemory.kernelWeights).toBeGreaterThanOrEqual(fastMemory.baseWeights - config.vocabSize * config.dim * 4);
    expect(fastMemory.total).toBe(fastMemory.baseWeights + fastMemory.dequantScratch + fastMemory.kernelWeights + fastMemory.lora + fastMemory.activations + fastMemory.gradientScratch);
  });
});
