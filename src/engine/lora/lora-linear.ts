import type { KernelSet } from "../kernels/kernel-set.js";
import { transposeInto } from "../kernels/reference/matmul.js";
import { dropoutBackward, dropoutForward } from "./dropout.js";
import type { LoraPair } from "./lora-weights.js";

// The LoRA branch added to a frozen linear layer: y += scale * (dropout(x) @ A^T) @ B^T.
// Shapes: x [N, in], y [N, out], A [r, in], B [out, r], h [N, r] (stored already scaled).

export interface LoraBranchActivations {
  /** scale * dropout(x) @ A^T, kept for dB. [N, r] */
  h: Float32Array;
  /** dropout(x) [N, in] and its keep mask; null when dropout is 0 (x itself is used). */
  dropped: Float32Array | null;
  keep: Uint8Array | null;
}

/** Scratch shared by every branch during the backward pass (sized for the largest target). */
export interface LoraScratch {
  dh: Float32Array; // [N, r]
  bT: Float32Array; // [r, out]
  dDropped: Float32Array; // [N, in] (only used with dropout)
}

export function loraForward(
  kernels: KernelSet,
  y: Float32Array,
  x: Float32Array,
  pair: LoraPair,
  acts: LoraBranchActivations,
  N: number,
  rank: number,
  scale: number,
  dropout: number,
): void {
  const { inFeatures: C, outFeatures: OC } = pair;
  let source = x;
  // dropout 0 (eval mode, or no dropout configured) uses x itself
  if (dropout > 0 && acts.dropped && acts.keep) {
    dropoutForward(acts.dropped, x, acts.keep, N * C, dropout);
    source = acts.dropped;
  }
  kernels.matmulForward(acts.h, source, pair.a, N, C, rank);
  for (let i = 0; i < N * rank; i++) acts.h[i] *= scale;
  kernels.matmulForward(y, acts.h, pair.b, N, rank, OC, true);
}

/** Accumulates dA, dB into the pair's gradients and dx += the branch's input gradient. */
export function loraBackward(
  kernels: KernelSet,
  dx: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  pair: LoraPair,
  acts: LoraBranchActivations,
  scratch: LoraScratch,
  N: number,
  rank: number,
  scale: number,
  dropout: number,
): void {
  const { inFeatures: C, outFeatures: OC } = pair;
  const dropped = dropout > 0 && acts.dropped && acts.keep ? acts.dropped : null;
  const source = dropped ?? x;
  kernels.matmulBackwardWeight(pair.gradB, dy, acts.h, N, rank, OC);
  // dh = scale * dy @ B, computed as a row-dot-row matmul against B^T [r, out]
  // (scratch buffers are larger than needed; every kernel here bounds itself by the sizes it is given)
  const { bT, dh } = scratch;
  transposeInto(bT, pair.b, OC, rank);
  kernels.matmulForward(dh, dy, bT, N, OC, rank);
  for (let i = 0; i < N * rank; i++) dh[i] *= scale;
  kernels.matmulBackwardWeight(pair.gradA, dh, source, N, C, rank);
  if (dropped && acts.keep) {
    const { dDropped } = scratch;
    dDropped.fill(0, 0, N * C);
    kernels.matmulBackwardInput(dDropped, dh, pair.a, N, C, rank);
    dropoutBackward(dx, dDropped, acts.keep, N * C, dropout);
  } else {
    kernels.matmulBackwardInput(dx, dh, pair.a, N, C, rank);
  }
}
