import { describe, expect, it } from "vitest";
import { engineThreads, createFastKernels, referenceKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { PointwiseSimd } from "../../src/engine/kernels/fast/pointwise-runner.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { relativeError } from "./gradient-check.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// The fast set as the model uses it: with two threads the set's shared workspace holds the
// activations, gradient scratch and logits, where the set's element-wise kernels work, so the
// cross-entropy, every RMSNorm, RoPE and SwiGLU must run in place, forward and backward, and give the
// loss and LoRA gradients of the copying kernels bit for bit (and the reference's within rounding).
// (The copying run uses a second set, created with inPlace: false.)

describe("the fast kernel set's cross-entropy, RMSNorm, RoPE and SwiGLU in a whole model", () => {
  it("run in place on the resident activations (two threads) and equal the copying kernels bit for bit", () => {
    const config = tinyConfig({ vocabSize: 64, dim: 32, nHeads: 4, nKvHeads: 2 }); // rows of 64 floats: whole blocks
    const lora = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "k", "v", "o"] });
    const B = 3, T = 16, batch = tinyBatch(B, T, config.vocabSize);
    const step = (kernels: KernelSet) => {
      const model = tinyModel(config, kernels, lora);
      model.zeroGradients();
      const loss = model.forward(batch, B, T);
      model.backward();
      return { loss, grads: Float32Array.from(model.lora!.grads) };
    };
    const before = PointwiseSimd.callsInPlace;
    const inPlace = step(fastKernels);
    const L = config.nLayers;
    // RMSNorm forward and backward (two a layer and the final one; the first layer's attention norm has
    // no input gradient to pass on, the embeddings being frozen), RoPE of q and k both ways, the loss,
    // SwiGLU both ways
    if (engineThreads() === 2) expect(PointwiseSimd.callsInPlace - before).toBe(2 * (2 * L + 1) - 1 + 4 * L + 1 + 2 * L);
    // a set that hands out no workspace buffers: the activations live outside, so every kernel copies
    const copying = step(createFastKernels({ inPlace: false }));
    const reference = step(referenceKernels);
    expect(inPlace.loss).toBe(copying.loss);
    expect(inPlace.grads.findIndex((g, i) => !Object.is(g, copying.grads[i]))).toBe(-1);
    expect(Math.abs(inPlace.loss - reference.loss)).toBeLessThan(1e-5 * Math.abs(reference.loss));
    expect(relativeError(inPlace.grads, reference.grads)).toBeLessThan(1e-4);
  });
});
