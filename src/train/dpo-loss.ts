import { InvalidArgumentError } from "../errors/index.js";
import type { DpoSettings } from "./export-preference-recipes.js";

/**
 * The log-probabilities of one batch of pairs, as trl's DPOTrainer.concatenated_forward returns them:
 * for each pair, the sum of log p(token) over the answer's tokens of the chosen and the rejected
 * sequence, under the policy (adapter on) and the reference (adapter off), and how many tokens each sum has.
 */
export interface PairLogProbs {
  policyChosen: Float64Array;
  policyRejected: Float64Array;
  referenceChosen: Float64Array;
  referenceRejected: Float64Array;
  chosenTokens: Float64Array;
  rejectedTokens: Float64Array;
}

/** trl's per-step DPO metrics (DPOTrainer.get_batch_loss_metrics), means over the batch's pairs. */
export interface DpoMetrics {
  "rewards/chosen": number;
  "rewards/rejected": number;
  "rewards/accuracies": number;
  "rewards/margins": number;
  "logps/chosen": number;
  "logps/rejected": number;
}
export const dpoMetricNames = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"] as const satisfies readonly (keyof DpoMetrics)[];

export interface DpoLossResult {
  /** The mean loss over the pairs (trl: losses.mean()). */
  loss: number;
  /** dLoss/d(policy's log-prob sum) of each pair's chosen and rejected sequence (the reference's get none). */
  dPolicyChosen: Float64Array;
  dPolicyRejected: Float64Array;
  metrics: DpoMetrics;
}

/** log σ(x) without overflow: min(x, 0) − log(1 + e^(−|x|)). */
export function logSigmoid(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * trl's DPOTrainer.dpo_loss for loss_type "sigmoid" (with label_smoothing ε: the conservative DPO of
 * cDPO) and "ipo", and its gradient. With h = (πc − πr) − (refc − refr):
 *   sigmoid: −log σ(β·h)·(1 − ε) − log σ(−β·h)·ε
 *   ipo:     (h − 1/(2β))², where every log-prob is the mean over its sequence's answer tokens
 *            (concatenated_forward divides by size_completion for ipo), the sum for sigmoid.
 * rewards are β·(policy − reference) log-probs of each side (after that normalisation), as trl logs them.
 */
export function dpoLoss(logps: PairLogProbs, settings: DpoSettings): DpoLossResult {
  const pairs = logps.policyChosen.length;
  if (pairs === 0) throw new InvalidArgumentError("pairs", "a DPO batch needs at least one pair");
  const { beta, labelSmoothing } = settings;
  const ipo = settings.lossType === "ipo";
  const dPolicyChosen = new Float64Array(pairs), dPolicyRejected = new Float64Array(pairs);
  let loss = 0;
  const sums = { chosenReward: 0, rejectedReward: 0, accurate: 0, margin: 0, chosenLogp: 0, rejectedLogp: 0 };
  for (let i = 0; i < pairs; i++) {
    // ipo's length normalisation; a side with no answer token would divide by zero, so it counts as one
    const chosenScale = ipo ? 1 / Math.max(1, logps.chosenTokens[i]) : 1;
    const rejectedScale = ipo ? 1 / Math.max(1, logps.rejectedTokens[i]) : 1;
    const pc = logps.policyChosen[i] * chosenScale, pr = logps.policyRejected[i] * rejectedScale;
    const rc = logps.referenceChosen[i] * chosenScale, rr = logps.referenceRejected[i] * rejectedScale;
    const h = pc - pr - (rc - rr);
    let dh: number;
    if (ipo) {
      const offset = h - 1 / (2 * beta);
      loss += offset * offset;
      dh = 2 * offset;
    } else {
      const z = beta * h;
      loss += -logSigmoid(z) * (1 - labelSmoothing) - logSigmoid(-z) * labelSmoothing;
      // d/dz of −log σ(z) is −σ(−z); of −log σ(−z) it is σ(z)
      dh = beta * (-(1 - labelSmoothing) * sigmoid(-z) + labelSmoothing * sigmoid(z));
    }
    dPolicyChosen[i] = (dh / pairs) * chosenScale;
    dPolicyRejected[i] = (-dh / pairs) * rejectedScale;
    const chosenReward = beta * (pc - rc), rejectedReward = beta * (pr - rr);
    sums.chosenReward += chosenReward;
    sums.rejectedReward += rejectedReward;
    sums.accurate += chosenReward > rejectedReward ? 1 : 0;
    sums.margin += chosenReward - rejectedReward;
    sums.chosenLogp += pc;
    sums.rejectedLogp += pr;
  }
  return {
    loss: loss / pairs,
    dPolicyChosen,
    dPolicyRejected,
    metrics: {
      "rewards/chosen": sums.chosenReward / pairs,
      "rewards/rejected": sums.rejectedReward / pairs,
      "rewards/accuracies": sums.accurate / pairs,
      "rewards/margins": sums.margin / pairs,
      "logps/chosen": sums.chosenLogp / pairs,
      "logps/rejected": sums.rejectedLogp / pairs,
    },
  };
}
