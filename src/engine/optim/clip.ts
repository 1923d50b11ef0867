/**
 * Clips gradients by their global L2 norm, as torch.nn.utils.clip_grad_norm_: when the norm exceeds
 * maxNorm every gradient is scaled by maxNorm / (norm + 1e-6). Returns the norm before clipping
 * (NaN/Inf pass through so the training loop can stop on them).
 */
export function clipGradientNorm(grads: Float32Array, maxNorm: number): number {
  return clipGradientNormOf([grads], maxNorm);
}

/** clipGradientNorm over several gradient buffers taken together (LoRA and a reward head): one global norm. */
export function clipGradientNormOf(buffers: readonly Float32Array[], maxNorm: number): number {
  let sumSquares = 0;
  for (const grads of buffers) for (let i = 0; i < grads.length; i++) sumSquares += grads[i] * grads[i];
  const norm = Math.sqrt(sumSquares);
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient < 1) for (const grads of buffers) for (let i = 0; i < grads.length; i++) grads[i] *= coefficient;
  return norm;
}
