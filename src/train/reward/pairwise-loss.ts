/**
 * The reward model's binary ranking loss (LLaMA-2 §3.2.2, eq. 2; trl's RewardTrainer.compute_loss):
 * L = mean over pairs of −log σ(r_c − r_r − m), m the pair's margin (0 without one). Also its gradient
 * with respect to each reward, the pair accuracy (share with r_c > r_r among the pairs that do not
 * tie: trl's compute_accuracy leaves ties out; 0 when every pair ties) and the mean reward margin r_c − r_r.
 */
export interface PairwiseLoss {
  loss: number;
  dChosen: Float64Array;
  dRejected: Float64Array;
  accuracy: number;
  /** Pairs ranked right (r_c > r_r) and pairs that tie (r_c = r_r), for accuracies over several batches. */
  correct: number;
  ties: number;
  margin: number;
}

/** correct / (pairs − ties), trl's rule; 0 when every pair ties (trl's mean of nothing would be NaN). */
export const pairAccuracy = (correct: number, pairs: number, ties: number): number => (pairs > ties ? correct / (pairs - ties) : 0);

/** −log σ(x) = softplus(−x), computed without overflow for large |x|. */
export function negativeLogSigmoid(x: number): number {
  return Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function pairwiseRewardLoss(chosen: ArrayLike<number>, rejected: ArrayLike<number>, margins: ArrayLike<number>): PairwiseLoss {
  const P = chosen.length;
  const dChosen = new Float64Array(P), dRejected = new Float64Array(P);
  let loss = 0, correct = 0, ties = 0, marginSum = 0;
  for (let p = 0; p < P; p++) {
    const difference = chosen[p] - rejected[p];
    const x = difference - margins[p];
    loss += negativeLogSigmoid(x);
    // d(−log σ(x))/dx = −σ(−x); averaged over the pairs
    const g = -sigmoid(-x) / P;
    dChosen[p] = g;
    dRejected[p] = -g;
    if (difference > 0) correct++;
    else if (difference === 0) ties++;
    marginSum += difference;
  }
  return { loss: loss / P, dChosen, dRejected, accuracy: pairAccuracy(correct, P, ties), correct, ties, margin: marginSum / P };
}
