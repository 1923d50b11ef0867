import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createFastKernels, referenceKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { loadLlamaGguf } from "../../src/engine/model/gguf-model.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { loadLoraWeights, loraTensorName } from "../../src/engine/model/load-weights.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { dpoLossTypes } from "../../src/train/export-preference-recipes.js";
import { dpoMicroBatch } from "../../src/train/dpo-objective.js";
import { dpoMetricNames } from "../../src/train/dpo-loss.js";
import { relativeError } from "../engine/gradient-check.js";
import { readGoldenFiles, goldenTensorIndex } from "../support/golden-files.js";
import { goldenBatchFields, goldenOptimizerSchema, replayTrajectory } from "../support/golden-trajectory.js";
import { repoRoot, stories260KPath } from "../support/shared-data.js";

const fastKernels = createFastKernels();

// trl's DPOTrainer formulas (get_batch_logps, ipo's length normalisation, dpo_loss with label smoothing,
// the adapter-disabled reference, its rewards/logps metrics) in plain PyTorch on stories260K, float64:
// scripts/golden/make_dpo_golden.py wrote the figures; no Python runs here.

const goldenDir = join(repoRoot, "test/train/golden");
const variantSchema = z.object({
  name: z.string(),
  beta: z.number(),
  lossType: z.enum(dpoLossTypes),
  labelSmoothing: z.number(),
  expectedLoss: z.number(),
  expectedMetrics: z.record(z.string(), z.number()),
  expectedTrajectory: z.array(z.number()),
  expectedGradNorms: z.array(z.number()),
});
const goldenSchema = z.object({
  lora: z.unknown(),
  optimizer: goldenOptimizerSchema,
  pairs: z.number().int(),
  ...goldenBatchFields,
  variants: z.array(variantSchema),
  tensors: goldenTensorIndex,
});

const { meta, tensor } = readGoldenFiles(join(goldenDir, "dpo-golden"), goldenSchema);

async function goldenModel(kernels: KernelSet, checkpointActivations = false) {
  const { config, weights } = await loadLlamaGguf(stories260KPath());
  const model = new LlamaModel(config, weights, { kernels, lora: parseLoraConfig(meta.lora), checkpointActivations });
  loadLoraWeights(model.lora!, tensor, "dpo-golden");
  const B = 2 * meta.pairs, T = meta.T;
  const batch = { B, T, tokens: Int32Array.from(meta.tokens), targets: Int32Array.from(meta.targets), lossMask: Uint8Array.from(meta.lossMask) };
  return { model, batch };
}

const settingsOf = (variant: z.infer<typeof variantSchema>) => ({ beta: variant.beta, lossType: variant.lossType, labelSmoothing: variant.labelSmoothing });

describe.each([referenceKernels, fastKernels])("DPO golden test against PyTorch on stories260K ($name kernels)", (kernels) => {
  it.each(meta.variants.map((variant) => [variant.name, variant] as const))("%s: the loss, trl's metrics and every LoRA gradient match", async (_, variant) => {
    const { model, batch } = await goldenModel(kernels);
    model.zeroGradients();
    const result = dpoMicroBatch(model, batch, meta.pairs, settingsOf(variant));
    expect(Math.abs(result.loss - variant.expectedLoss) / Math.abs(variant.expectedLoss)).toBeLessThan(1e-4);
    for (const name of dpoMetricNames) {
      const expected = variant.expectedMetrics[name];
      expect(Math.abs(result.metrics[name] - expected), name).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(expected)));
    }
    let checked = 0;
    model.lora!.layers.forEach((pairs, l) => {
      for (const [target, pair] of pairs) {
        for (const [part, grad] of [["a", pair.gradA], ["b", pair.gradB]] as const) {
          const name = loraTensorName(l, target, part);
          const error = relativeError(grad, tensor(`expected.${variant.name}.grad.${name}`)!);
          if (!(error < 1e-4)) throw new Error(`${variant.name}: gradient of ${name} differs from PyTorch: relative error ${error}`);
          checked++;
        }
      }
    });
    expect(checked).toBe(model.config.nLayers * 7 * 2);
  });

  it("with activation checkpointing (layers recomputed in backward, adapter on): the same gradients bit for bit", async () => {
    const settings = settingsOf(meta.variants[0]);
    const [plain, checkpointed] = [await goldenModel(kernels), await goldenModel(kernels, true)];
    const losses = [plain, checkpointed].map(({ model, batch }) => {
      model.zeroGradients();
      return dpoMicroBatch(model, batch, meta.pairs, settings).loss;
    });
    expect(losses[1]).toBe(losses[0]);
    expect(checkpointed.model.lora!.grads).toEqual(plain.model.lora!.grads);
  });

  it.each(meta.variants.map((variant) => [variant.name, variant] as const))("%s: a 10-step AdamW + clipping trajectory matches", async (_, variant) => {
    const { model, batch } = await goldenModel(kernels);
    const { losses, norms } = replayTrajectory(model.lora!, meta.optimizer, () => dpoMicroBatch(model, batch, meta.pairs, settingsOf(variant)).loss);
    for (let i = 0; i < meta.optimizer.steps; i++) {
      expect(Math.abs(losses[i] - variant.expectedTrajectory[i]), `loss at step ${i + 1}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(variant.expectedTrajectory[i])));
      expect(Math.abs(norms[i] - variant.expectedGradNorms[i]) / variant.expectedGradNorms[i], `gradient norm at step ${i + 1}`).toBeLessThan(1e-4);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.8); // it really trains
  });
});
