import type { LlamaModel } from "../engine/index.js";
import { allocateBatch, fillBatch, type BatchBuffers } from "./batches.js";
import { dpoLoss, dpoMetricNames, type DpoLossResult, type PairLogProbs } from "./dpo-loss.js";
import type { DpoSettings } from "./export-preference-recipes.js";
import type { TokenizedPreferencePair } from "./preference-tokens.js";
import type { TrainingObjective, ValidationFigures } from "./training-loop.js";

/** Positions a pair's longest sequence needs (its tokens but the last, which is only a target). */
export function pairSequenceLength(pairs: readonly TokenizedPreferencePair[]): number {
  let longest = 1;
  for (const { chosen, rejected } of pairs) longest = Math.max(longest, chosen.tokens.length - 1, rejected.tokens.length - 1);
  return longest;
}

/** [2P, T] buffers for P pairs: the chosen sequences in rows 0..P-1, the rejected ones in P..2P-1 (trl's concatenated_inputs). */
export function allocatePairBatch(pairs: number, T: number): BatchBuffers {
  return allocateBatch(2 * pairs, T);
}

/** Writes the pairs into the batch (missing pairs are padding); returns the positions read. */
export function fillPairBatch(batch: BatchBuffers, pairs: readonly (TokenizedPreferencePair | undefined)[]): number {
  const P = batch.B / 2;
  fillBatch(batch, [...Array.from({ length: P }, (_, i) => pairs[i]?.chosen), ...Array.from({ length: P }, (_, i) => pairs[i]?.rejected)]);
  let positions = 0;
  for (const pair of pairs) if (pair) positions += Math.min(batch.T, pair.chosen.tokens.length - 1) + Math.min(batch.T, pair.rejected.tokens.length - 1);
  return positions;
}

/**
 * The log-probabilities of the first `pairs` pairs of a filled pair batch: the reference's first, with
 * the adapter disabled and no gradient (trl's null_ref_context: the base model is the reference, no
 * second copy of it), then the policy's, whose probabilities backward reuses.
 */
export function pairLogProbs(model: LlamaModel, batch: BatchBuffers, pairs: number): PairLogProbs {
  const rows = batch.B, P = rows / 2, T = batch.T;
  const reference = new Float64Array(rows), policy = new Float64Array(rows), tokens = new Float64Array(rows);
  for (let n = 0; n < rows * T; n++) tokens[Math.floor(n / T)] += batch.lossMask[n];
  model.adapterEnabled = false;
  try {
    model.sequenceLogProbs(batch, rows, T, reference);
  } finally {
    model.adapterEnabled = true;
  }
  model.sequenceLogProbs(batch, rows, T, policy);
  return {
    policyChosen: policy.slice(0, pairs),
    policyRejected: policy.slice(P, P + pairs),
    referenceChosen: reference.slice(0, pairs),
    referenceRejected: reference.slice(P, P + pairs),
    chosenTokens: tokens.slice(0, pairs),
    rejectedTokens: tokens.slice(P, P + pairs),
  };
}

/**
 * One DPO micro-batch on a filled pair batch of `pairs` pairs: reference and policy log-probs, trl's
 * loss, and its gradient accumulated into the LoRA gradients (one backward pass over all 2P sequences).
 */
export function dpoMicroBatch(model: LlamaModel, batch: BatchBuffers, pairs: number, settings: DpoSettings): DpoLossResult {
  const result = dpoLoss(pairLogProbs(model, batch, pairs), settings);
  if (!Number.isFinite(result.loss)) return result;
  const P = batch.B / 2;
  const dLogProbs = new Float64Array(batch.B);
  dLogProbs.set(result.dPolicyChosen, 0);
  dLogProbs.set(result.dPolicyRejected, P);
  model.backwardFromSequenceLogProbs(dLogProbs);
  return result;
}

/**
 * DPO as the training loop's objective: `pairsPerBatch` pairs per micro-batch (2× as many sequences),
 * trl's loss and metrics; validation reports the same loss and metrics on the held-out pairs.
 */
export function dpoObjective(model: LlamaModel, train: readonly TokenizedPreferencePair[], validation: readonly TokenizedPreferencePair[], options: { pairsPerBatch: number; sequenceLength: number; dpo: DpoSettings }): TrainingObjective {
  const P = options.pairsPerBatch;
  const batch = allocatePairBatch(P, options.sequenceLength);
  return {
    trainCount: train.length,
    microBatch(items) {
      const tokens = fillPairBatch(batch, items.map((i) => train[i]));
      const result = dpoMicroBatch(model, batch, P, options.dpo);
      return { loss: result.loss, weight: P, tokens, metrics: { ...result.metrics } };
    },
    validate(): ValidationFigures | null {
      if (validation.length === 0) return null;
      const wasTraining = model.training;
      model.training = false;
      const sums: Record<string, number> = { loss: 0 };
      let pairs = 0, tokens = 0;
      try {
        for (let start = 0; start < validation.length; start += P) {
          const chunk = validation.slice(start, start + P);
          tokens += fillPairBatch(batch, chunk);
          const result = dpoLoss(pairLogProbs(model, batch, chunk.length), options.dpo);
          sums.loss += result.loss * chunk.length;
          for (const name of dpoMetricNames) sums[name] = (sums[name] ?? 0) + result.metrics[name] * chunk.length;
          pairs += chunk.length;
        }
      } finally {
        model.training = wasTraining;
      }
      const figures: ValidationFigures = { loss: sums.loss / pairs, tokens };
      for (const name of dpoMetricNames) figures[name] = sums[name] / pairs;
      return figures;
    },
  };
}
