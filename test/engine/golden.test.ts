import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseLlamaConfig } from "../../src/engine/config.js";
import { fastKernels, referenceKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { loadBaseWeights, loadLoraWeights, loraTensorName } from "../../src/engine/model/load-weights.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { clipGradientNorm } from "../../src/engine/optim/clip.js";
import { readGoldenFiles, goldenTensorIndex } from "../support/golden-files.js";
import { repoRoot } from "../support/shared-data.js";
import { relativeError } from "./gradient-check.js";

// llm.c test_gpt2.c, for our LoRA engine: PyTorch (float64, HF-style RoPE on HF-layout weights,
// exported with llama.cpp's Q/K permutation) computed logits, loss, every LoRA gradient and 10 AdamW
// steps for one batch; scripts/golden/make_lora_golden.py wrote them.

const goldenDir = join(repoRoot, "test/engine/golden");
const goldenSchema = z.object({
  config: z.unknown(),
  lora: z.unknown(),
  optimizer: z.object({ learningRate: z.number(), beta1: z.number(), beta2: z.number(), eps: z.number(), weightDecay: z.number(), maxGradNorm: z.number(), steps: z.number().int() }),
  B: z.number().int(),
  T: z.number().int(),
  tokens: z.array(z.number().int()),
  targets: z.array(z.number().int()),
  lossMask: z.array(z.number().int()),
  expectedLoss: z.number(),
  expectedTrajectory: z.array(z.number()),
  expectedGradNorms: z.array(z.number()),
  tensors: goldenTensorIndex,
});

function loadGolden() {
  return readGoldenFiles(join(goldenDir, "lora-golden"), goldenSchema);
}

function goldenModel(kernels: KernelSet) {
  const { meta, tensor } = loadGolden();
  const config = parseLlamaConfig(meta.config);
  const lora = parseLoraConfig(meta.lora);
  const model = new LlamaModel(config, loadBaseWeights(config, tensor, "lora-golden"), { kernels, lora });
  loadLoraWeights(model.lora!, tensor, "lora-golden");
  const batch = { tokens: Int32Array.from(meta.tokens), targets: Int32Array.from(meta.targets), lossMask: Uint8Array.from(meta.lossMask) };
  return { meta, tensor, config, model, batch };
}

describe.each([referenceKernels, fastKernels])("golden test against PyTorch ($name kernels)", (kernels) => {
  it("logits, masked loss and every LoRA gradient match", () => {
    const { meta, tensor, model, batch } = goldenModel(kernels);
    model.forward({ tokens: batch.tokens }, meta.B, meta.T);
    expect(relativeError(model.logits, tensor("expected.logits")!)).toBeLessThan(1e-5);
    model.zeroGradients();
    const loss = model.forward(batch, meta.B, meta.T);
    expect(Math.abs(loss - meta.expectedLoss)).toBeLessThan(1e-5);
    model.backward();
    let checked = 0;
    model.lora!.layers.forEach((pairs, l) => {
      for (const [target, pair] of pairs) {
        for (const [part, grad] of [["a", pair.gradA], ["b", pair.gradB]] as const) {
          const expected = tensor(`expected.grad.${loraTensorName(l, target, part)}`)!;
          const error = relativeError(grad, expected);
          if (error >= 1e-4) throw new Error(`gradient of ${loraTensorName(l, target, part)} differs from PyTorch: relative error ${error}`);
          checked++;
        }
      }
    });
    expect(checked).toBe(28);
  });

  it("a 10-step AdamW + clipping loss trajectory matches", () => {
    const { meta, model, batch } = goldenModel(kernels);
    const { optimizer: o } = meta;
    const lora = model.lora!;
    const adamw = new AdamW(lora.params, lora.grads, { learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
    const losses: number[] = [], norms: number[] = [];
    for (let step = 0; step < o.steps; step++) {
      model.zeroGradients();
      losses.push(model.forward(batch, meta.B, meta.T));
      model.backward();
      norms.push(clipGradientNorm(lora.grads, o.maxGradNorm));
      adamw.update();
    }
    for (let i = 0; i < o.steps; i++) {
      expect(Math.abs(losses[i] - meta.expectedTrajectory[i])).toBeLessThan(1e-4);
      expect(Math.abs(norms[i] - meta.expectedGradNorms[i]) / meta.expectedGradNorms[i]).toBeLessThan(1e-4);
    }
    expect(losses[o.steps - 1]).toBeLessThan(losses[0] - 1); // it really trains
  });
});
