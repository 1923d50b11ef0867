import { z } from "zod";
import type { LoraWeights } from "../../src/engine/lora/lora-weights.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { clipGradientNorm } from "../../src/engine/optim/clip.js";

// What PyTorch goldens share beyond their files (golden-files.ts reads those): the optimizer settings of a
// recorded trajectory, a batch's fields, and the trajectory replayed on camelid's engine.

/** The AdamW + clipping settings a golden trajectory was trained with (torch.optim.AdamW, clip_grad_norm_). */
export const goldenOptimizerSchema = z.object({ learningRate: z.number(), beta1: z.number(), beta2: z.number(), eps: z.number(), weightDecay: z.number(), maxGradNorm: z.number(), steps: z.number().int() });

/** A golden batch as the engine takes it: [rows, T] tokens, next-token targets and the loss mask, flattened. */
export const goldenBatchFields = {
  T: z.number().int(),
  tokens: z.array(z.number().int()),
  targets: z.array(z.number().int()),
  lossMask: z.array(z.number().int()),
};

/**
 * A golden trajectory replayed: per step, zeroed gradients, `lossAndBackward` (the loss before the update,
 * gradients accumulated), clipping, AdamW; the losses and the gradient norms before clipping.
 */
export function replayTrajectory(lora: LoraWeights, o: z.infer<typeof goldenOptimizerSchema>, lossAndBackward: () => number): { losses: number[]; norms: number[] } {
  const adamw = new AdamW(lora.params, lora.grads, { learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
  const losses: number[] = [], norms: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    lora.grads.fill(0);
    losses.push(lossAndBackward());
    norms.push(clipGradientNorm(lora.grads, o.maxGradNorm));
    adamw.update();
  }
  return { losses, norms };
}
