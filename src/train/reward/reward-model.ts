import type { LlamaModel } from "../../engine/index.js";
import { InvalidArgumentError } from "../../errors/index.js";
import { headRewards } from "./reward-head.js";
import { pairwiseRewardLoss, type PairwiseLoss } from "./pairwise-loss.js";

/** One preference pair as token sequences (prompt + answer each, scored on its last token). */
export interface RewardPair {
  chosen: Int32Array;
  rejected: Int32Array;
  margin: number;
}

/**
 * A LoRA-adapted LlamaModel with a scalar head on the last token's final-norm hidden state (Hugging
 * Face's LlamaForSequenceClassification with one label, last-token pooling). The head's weight and
 * gradient belong to this object; the LoRA ones to the model.
 */
export class RewardModel {
  readonly headGrad: Float32Array;
  private tokens = new Int32Array(0);

  constructor(
    readonly model: LlamaModel,
    readonly head: Float32Array,
  ) {
    if (head.length !== model.config.dim) throw new InvalidArgumentError("head", `the reward head has ${head.length} weights, the model's width is ${model.config.dim}`);
    this.headGrad = new Float32Array(head.length);
  }

  zeroGradients(): void {
    this.model.zeroGradients();
    this.headGrad.fill(0);
  }

  /**
   * Rewards of the sequences, run as one batch of `rows` (≥ sequences.length; the rest is padding) rows
   * of T positions, each sequence padded after its end: causal attention keeps the padding out of the
   * last token's state. A fixed batch shape keeps the model's activations allocated once.
   */
  rewards(sequences: readonly Int32Array[], T: number, rows = sequences.length): { rewards: Float64Array; hidden: Float32Array } {
    const S = sequences.length;
    if (rows < S) throw new InvalidArgumentError("rows", `a batch of ${rows} rows cannot hold ${S} sequences`);
    if (this.tokens.length !== rows * T) this.tokens = new Int32Array(rows * T);
    this.tokens.fill(0);
    const positions = new Int32Array(S);
    sequences.forEach((sequence, s) => {
      if (sequence.length < 1 || sequence.length > T) throw new InvalidArgumentError("sequence", `sequence ${s} has ${sequence.length} tokens; a batch row holds 1 to ${T}`);
      this.tokens.set(sequence, s * T);
      positions[s] = s * T + sequence.length - 1;
    });
    const hidden = this.model.forwardHidden(this.tokens, rows, T, positions);
    return { rewards: headRewards(hidden, this.head, S), hidden };
  }

  /** Scores sequences `batchSize` at a time (dropout off); each sequence's reward. */
  score(sequences: readonly Int32Array[], batchSize: number): Float64Array {
    const wasTraining = this.model.training;
    this.model.training = false;
    const scores = new Float64Array(sequences.length);
    const T = sequences.reduce((longest, sequence) => Math.max(longest, sequence.length), 1);
    const rows = Math.min(batchSize, sequences.length);
    try {
      for (let first = 0; first < sequences.length; first += batchSize) {
        scores.set(this.rewards(sequences.slice(first, first + batchSize), T, rows).rewards, first);
      }
    } finally {
      this.model.training = wasTraining;
    }
    return scores;
  }

  /**
   * One micro-batch of pairs: the loss and, with `backward`, its gradients accumulated (LoRA into the
   * model, the head here), each scaled by `gradientScale` (1 / gradient accumulation steps). The batch
   * holds the chosen sequences then the rejected ones, T positions each, padded to `batchPairs` pairs.
   */
  pairs(pairs: readonly RewardPair[], T: number, options: { backward: boolean; gradientScale?: number; batchPairs?: number }): PairwiseLoss & { chosen: Float64Array; rejected: Float64Array } {
    const P = pairs.length;
    const { rewards, hidden } = this.rewards([...pairs.map((pair) => pair.chosen), ...pairs.map((pair) => pair.rejected)], T, 2 * Math.max(P, options.batchPairs ?? P));
    const chosen = rewards.subarray(0, P), rejected = rewards.subarray(P);
    const result = pairwiseRewardLoss(chosen, rejected, pairs.map((pair) => pair.margin));
    if (options.backward) {
      const C = this.head.length, scale = options.gradientScale ?? 1;
      const dHidden = new Float32Array(2 * P * C);
      for (let s = 0; s < 2 * P; s++) {
        const dReward = (s < P ? result.dChosen[s] : result.dRejected[s - P]) * scale;
        for (let c = 0; c < C; c++) {
          this.headGrad[c] += dReward * hidden[s * C + c];
          dHidden[s * C + c] = dReward * this.head[c];
        }
      }
      this.model.backwardHidden(dHidden);
    }
    return { ...result, chosen: Float64Array.from(chosen), rejected: Float64Array.from(rejected) };
  }
}
