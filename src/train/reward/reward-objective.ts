import { AdamW, type AdamWOptions } from "../../engine/index.js";
import type { MetricsLog } from "../metrics-log.js";
import { progressLine } from "../progress.js";
import type { LoopSummary, TrainingObjective, ValidationFigures } from "../training-loop.js";
import { pairAccuracy } from "./pairwise-loss.js";
import type { RewardModel, RewardPair } from "./reward-model.js";

export interface PairValidation {
  loss: number;
  accuracy: number;
  margin: number;
  pairs: number;
}

export interface RewardLoopSummary extends Omit<LoopSummary, "validation"> {
  /** The pair accuracy of the last step (pooled over its micro-batches). */
  finalAccuracy: number;
  validation: PairValidation | null;
}

/**
 * The reward model as the training loop's objective (SFT's loop for pairs): micro-batches of
 * `pairsPerBatch` pairs, whose loss is the mean over the pairs (micro-batches weigh alike), the gradient
 * scaled by 1 / micro-batches in the backward pass; the head trained beside the LoRA weights by its own
 * AdamW (per element, so the same as one over both), clipped with them to one global norm. A step logs
 * the pair accuracy pooled over its pairs (ties left out, trl's rule) and the mean margin.
 */
export function rewardObjective(reward: RewardModel, train: readonly RewardPair[], validation: readonly RewardPair[], options: { pairsPerBatch: number; sequenceLength: number; adamW: Partial<AdamWOptions> }): TrainingObjective {
  const { pairsPerBatch: B, sequenceLength: T } = options;
  return {
    trainCount: train.length,
    ownOptimizers: [new AdamW(reward.head, reward.headGrad, options.adamW)],
    scalesGradients: true,
    microBatch(items, gradientScale) {
      const pairs = items.map((i) => train[i]);
      let tokens = 0;
      for (const pair of pairs) tokens += pair.chosen.length + pair.rejected.length;
      const result = reward.pairs(pairs, T, { backward: true, gradientScale });
      return { loss: result.loss, weight: 1, tokens, metrics: { pairs: pairs.length, correct: result.correct, ties: result.ties, margin: result.margin } };
    },
    stepMetrics(results) {
      let pairs = 0, correct = 0, ties = 0, margin = 0;
      for (const { metrics } of results) [pairs, correct, ties, margin] = [pairs + metrics!.pairs, correct + metrics!.correct, ties + metrics!.ties, margin + metrics!.margin];
      return { accuracy: pairAccuracy(correct, pairs, ties), margin: margin / results.length };
    },
    progressLine: (state) => `${progressLine({ ...state, metrics: undefined })} | acc ${state.metrics!.accuracy.toFixed(3)} margin ${state.metrics!.margin.toFixed(4)}`,
    validate(): ValidationFigures | null {
      if (validation.length === 0) return null;
      const { loss, accuracy, margin, pairs } = validatePairs(reward, validation, B, T);
      return { loss, accuracy, margin, tokens: pairs };
    },
    validationLine: (figures) => `validation loss ${figures.loss.toFixed(4)}, pair accuracy ${figures.accuracy.toFixed(3)}, margin ${figures.margin.toFixed(4)} (${figures.tokens} pairs)`,
  };
}

/** The loop's summary as a reward run reports it: the last step's pair accuracy (from the log, so a resumed finished run has it too), validation in pairs. */
export function rewardSummary(summary: LoopSummary, metrics: MetricsLog): RewardLoopSummary {
  const lastStep = metrics.read().filter((record) => record.type === "train" && record.step <= summary.steps).at(-1);
  const { validation } = summary;
  return {
    startStep: summary.startStep,
    steps: summary.steps,
    stopped: summary.stopped,
    finalLoss: summary.finalLoss,
    finalAccuracy: lastStep?.accuracy ?? Number.NaN,
    validation: validation ? { loss: validation.loss, accuracy: validation.accuracy, margin: validation.margin, pairs: validation.tokens } : null,
    tokensPerSecond: summary.tokensPerSecond,
    elapsedSeconds: summary.elapsedSeconds,
    peakRssBytes: summary.peakRssBytes,
    engineMemory: summary.engineMemory,
  };
}

/** Pair-weighted loss, accuracy and margin over held-out pairs, B at a time, dropout off. */
export function validatePairs(reward: RewardModel, pairs: readonly RewardPair[], B: number, T: number): PairValidation {
  const wasTraining = reward.model.training;
  reward.model.training = false;
  let loss = 0, correct = 0, ties = 0, margin = 0;
  try {
    for (let first = 0; first < pairs.length; first += B) {
      const part = pairs.slice(first, first + B);
      const result = reward.pairs(part, T, { backward: false, batchPairs: B });
      loss += result.loss * part.length;
      correct += result.correct;
      ties += result.ties;
      margin += result.margin * part.length;
    }
  } finally {
    reward.model.training = wasTraining;
  }
  const n = pairs.length;
  return { loss: loss / n, accuracy: pairAccuracy(correct, n, ties), margin: margin / n, pairs: n };
}
