import { describe, expect, it } from "vitest";
import { engineThreads, createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { ResidentAttention } from "../../src/engine/kernels/fast/attention-resident.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { relativeError } from "./gradient-check.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// The fast set as the model uses it: with two threads the SIMD matmul's shared memory holds the
// activations and gradient scratch and is registered with the attention, which must then run in place
// in every layer, forward and backward, and train to the reference kernels' loss and LoRA gradients.
// (Its own file: the registration is per process, and other tests register memories of their own.)

describe("the fast kernel set's attention in a whole model", () => {
  it("runs in place on the resident activations (two threads) and matches the reference kernels", () => {
    const config = tinyConfig({ dim: 32, nHeads: 4, nKvHeads: 2 }); // head size 8, groups of 2
    const lora = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "k", "v", "o"] });
    const B = 3, T = 16, batch = tinyBatch(B, T, config.vocabSize);
    const [fast, reference] = [tinyModel(config, fastKernels, lora), tinyModel(config, referenceKernels, lora)];
    const before = ResidentAttention.callsInPlace;
    const losses = [fast, reference].map((model) => {
      model.zeroGradients();
      const loss = model.forward(batch, B, T);
      model.backward();
      return loss;
    });
    if (engineThreads() === 2) expect(ResidentAttention.callsInPlace - before).toBe(2 * config.nLayers);
    expect(Math.abs(losses[0] - losses[1])).toBeLessThan(1e-5 * Math.abs(losses[1]));
    expect(relativeError(fast.lora!.grads, reference.lora!.grads)).toBeLessThan(1e-4);
  });
});
