import { expNonPositive } from "./fast-exp.js";

// Softmax cross-entropy with a loss mask; the loss is the mean over unmasked positions.
// Shapes: logits/probs [N, V], targets [N], mask [N] (1 = counts toward the loss), losses [N].
// probs may alias logits and dlogits may alias probs, so the [N, V] buffer exists once: at a
// 32000-token vocabulary it is the largest activation.

/**
 * Writes per-position losses (0 where masked) and probabilities (untouched where masked), and returns
 * the masked mean. With no unmasked position the loss is 0 rather than NaN.
 */
export function crossEntropyForward(
  losses: Float32Array,
  probs: Float32Array,
  logits: Float32Array,
  targets: Int32Array,
  mask: Uint8Array,
  N: number,
  V: number,
): number {
  let total = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    if (!mask[n]) {
      losses[n] = 0;
      continue;
    }
    const row = n * V;
    let maxLogit = -Infinity;
    for (let v = 0; v < V; v++) if (logits[row + v] > maxLogit) maxLogit = logits[row + v];
    // log-sum-exp from the target's logit read before the row is overwritten: exact even when its
    // probability underflows
    const targetLogit = logits[row + targets[n]];
    let sum = 0;
    for (let v = 0; v < V; v++) {
      const e = expNonPositive(logits[row + v] - maxLogit);
      probs[row + v] = e;
      sum += e;
    }
    const loss = Math.log(sum) + maxLogit - targetLogit;
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) probs[row + v] *= inv;
    losses[n] = loss;
    total += loss;
    count++;
  }
  return count === 0 ? 0 : total / count;
}

/** Number of positions that count toward the loss. */
export function countUnmasked(mask: Uint8Array, N: number): number {
  let count = 0;
  for (let n = 0; n < N; n++) if (mask[n]) count++;
  return count;
}

/** dlogits = (probs - onehot(target)) / count on unmasked rows, 0 on masked rows. */
export function crossEntropyBackward(
  dlogits: Float32Array,
  probs: Float32Array,
  targets: Int32Array,
  mask: Uint8Array,
  N: number,
  V: number,
): void {
  const count = countUnmasked(mask, N);
  const weight = count === 0 ? 0 : 1 / count;
  for (let n = 0; n < N; n++) {
    const row = n * V;
    if (!mask[n] || weight === 0) {
      for (let v = 0; v < V; v++) dlogits[row + v] = 0;
      continue;
    }
    for (let v = 0; v < V; v++) dlogits[row + v] = probs[row + v] * weight;
    dlogits[row + targets[n]] -= weight;
  }
}

/**
 * dlogits = (probs - onehot(target)) * weights[n] on every row: the gradient of sum_n weights[n] * loss[n]
 * (per-token loss weights, such as DPO's dL/dlogp of each token's sequence, negated). dlogits may alias probs.
 */
export function crossEntropyBackwardWeighted(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, weights: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * V, weight = weights[n];
    for (let v = 0; v < V; v++) dlogits[row + v] = probs[row + v] * weight;
    dlogits[row + targets[n]] -= weight;
  }
}
