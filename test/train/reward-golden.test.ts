import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AdamW, clipGradientNormOf, fastKernels, LlamaModel, loadLlamaGguf, loadLoraWeights, parseLoraConfig, referenceKernels, type KernelSet } from "../../src/engine/index.js";
import { REWARD_HEAD_TENSOR } from "../../src/train/reward/reward-gguf.js";
import { RewardModel, type RewardPair } from "../../src/train/reward/reward-model.js";
import { readGoldenFiles, goldenTensorIndex } from "../support/golden-files.js";
import { repoRoot, stories260KPath } from "../support/shared-data.js";
import { relativeError } from "../engine/gradient-check.js";

// The reward model against PyTorch (scripts/golden/make_reward_golden.py, float64, Meta's reference
// LLaMA on stories260K's GGUF weights, trl's RewardTrainer loss): rewards, the loss with and without
// margins, every LoRA and head gradient of both, and 10 AdamW steps with clipping.

const goldenDir = join(repoRoot, "test/train/golden");
const resultSchema = z.object({ loss: z.number(), chosen: z.array(z.number()), rejected: z.array(z.number()) });
const goldenSchema = z.object({
  lora: z.unknown(),
  optimizer: z.object({ learningRate: z.number(), beta1: z.number(), beta2: z.number(), eps: z.number(), weightDecay: z.number(), maxGradNorm: z.number(), steps: z.number().int() }),
  pairs: z.array(z.object({ chosen: z.array(z.number().int()), rejected: z.array(z.number().int()), margin: z.number() })),
  T: z.number().int(),
  expected: z.object({ margins: resultSchema, noMargins: resultSchema }),
  expectedTrajectory: z.array(z.number()),
  expectedGradNorms: z.array(z.number()),
  expectedFinalLoss: z.number(),
  tensors: goldenTensorIndex,
});

function loadGolden() {
  return readGoldenFiles(join(goldenDir, "reward-golden"), goldenSchema);
}

async function goldenReward(kernels: KernelSet) {
  const { meta, tensor } = loadGolden();
  const { config, weights } = await loadLlamaGguf(stories260KPath());
  const model = new LlamaModel(config, weights, { kernels, lora: parseLoraConfig(meta.lora) });
  loadLoraWeights(model.lora!, tensor, "reward-golden");
  const reward = new RewardModel(model, Float32Array.from(tensor(REWARD_HEAD_TENSOR)!));
  const pairs = (withMargins: boolean): RewardPair[] => meta.pairs.map((pair) => ({ chosen: Int32Array.from(pair.chosen), rejected: Int32Array.from(pair.rejected), margin: withMargins ? pair.margin : 0 }));
  /** The golden gradients in the engine's layout (loadLoraWeights reads them by the parameters' names). */
  const expectedGrads = (label: string) => {
    const grads = new LlamaModel(config, weights, { kernels: referenceKernels, lora: parseLoraConfig(meta.lora) }).lora!;
    loadLoraWeights(grads, (name) => tensor(`grad.${label}.${name}`), "reward-golden");
    return { lora: grads.params, head: tensor(`grad.${label}.${REWARD_HEAD_TENSOR}`)! };
  };
  return { meta, model, reward, pairs, expectedGrads };
}

describe("reward model vs PyTorch (stories260K)", () => {
  for (const [name, kernels] of [["reference", referenceKernels], ["fast", fastKernels]] as const) {
    it(`rewards, loss with and without margins, every LoRA and head gradient match to 1e-4 (${name} kernels)`, async () => {
      const { meta, model, reward, pairs, expectedGrads } = await goldenReward(kernels);
      for (const [label, withMargins] of [["margins", true], ["noMargins", false]] as const) {
        reward.zeroGradients();
        const result = reward.pairs(pairs(withMargins), meta.T, { backward: true });
        const expected = meta.expected[label];
        expect(Math.abs(result.loss - expected.loss) / expected.loss, label).toBeLessThan(1e-4);
        expect(relativeError(result.chosen, expected.chosen)).toBeLessThan(1e-4);
        expect(relativeError(result.rejected, expected.rejected)).toBeLessThan(1e-4);
        const grads = expectedGrads(label);
        expect(relativeError(model.lora!.grads, grads.lora), `${label}: LoRA gradients`).toBeLessThan(1e-4);
        expect(relativeError(reward.headGrad, grads.head), `${label}: head gradient`).toBeLessThan(1e-4);
        // every LoRA pair, not only the largest gradients
        for (const [l, layer] of model.lora!.layers.entries()) {
          for (const [target, pair] of layer) {
            for (const [part, values] of [["A", pair.gradA], ["B", pair.gradB]] as const) {
              const offset = (values.byteOffset - model.lora!.grads.byteOffset) / 4;
              expect(relativeError(values, grads.lora.subarray(offset, offset + values.length)), `${label}: layer ${l} ${target} ${part}`).toBeLessThan(1e-4);
            }
          }
        }
      }
    }, 60_000);

    it(`a 10-step AdamW trajectory with clipping matches (${name} kernels)`, async () => {
      const { meta, model, reward, pairs } = await goldenReward(kernels);
      const options = { learningRate: meta.optimizer.learningRate, beta1: meta.optimizer.beta1, beta2: meta.optimizer.beta2, eps: meta.optimizer.eps, weightDecay: meta.optimizer.weightDecay };
      const lora = new AdamW(model.lora!.params, model.lora!.grads, options), head = new AdamW(reward.head, reward.headGrad, options);
      const losses: number[] = [], norms: number[] = [];
      for (let step = 0; step < meta.optimizer.steps; step++) {
        reward.zeroGradients();
        losses.push(reward.pairs(pairs(true), meta.T, { backward: true }).loss);
        norms.push(clipGradientNormOf([model.lora!.grads, reward.headGrad], meta.optimizer.maxGradNorm));
        lora.update();
        head.update();
      }
      const finalLoss = reward.pairs(pairs(true), meta.T, { backward: false }).loss;
      for (let step = 0; step < losses.length; step++) {
        expect(Math.abs(losses[step] - meta.expectedTrajectory[step]) / meta.expectedTrajectory[step], `step ${step + 1}`).toBeLessThan(1e-4);
        expect(Math.abs(norms[step] - meta.expectedGradNorms[step]) / meta.expectedGradNorms[step], `norm ${step + 1}`).toBeLessThan(1e-4);
      }
      expect(Math.abs(finalLoss - meta.expectedFinalLoss) / meta.expectedFinalLoss).toBeLessThan(1e-4);
      expect(losses.at(-1)!).toBeLessThan(losses[0]);
    }, 60_000);
  }
});
