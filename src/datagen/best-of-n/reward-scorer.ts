import { basename } from "node:path";
import type { LoadedRewardModel } from "../../train/reward/load-reward-model.js";
import type { AnswerScore, AnswerScorer } from "./answer-scorer.js";

/**
 * A reward model (camelid train --method reward) as rejection sampling's scorer, as LLaMA-2 §3.2.3
 * scores its K samples: the prompt as one user turn and the answer rendered in the reward model's
 * prompt format, the reward of the last token. An answer that cannot be tokenized (or is longer than
 * the model's context) is unscored with why. Scoring is local and deterministic: no retries, no failures.
 */
export class RewardModelScorer implements AnswerScorer {
  readonly name: string;
  readonly fingerprint: string;

  constructor(
    private readonly reward: Pick<LoadedRewardModel, "fingerprint" | "tokenize" | "scoreTokens">,
    rewardPath: string,
  ) {
    this.name = `reward:${basename(rewardPath)}`;
    this.fingerprint = reward.fingerprint;
  }

  async score(prompt: string, answer: string): Promise<AnswerScore> {
    const tokenized = this.reward.tokenize([{ role: "user", content: prompt }], answer);
    if ("problem" in tokenized) return { kind: "unscored", reason: tokenized.problem };
    return { kind: "score", score: this.reward.scoreTokens([tokenized.tokens])[0] };
  }
}
