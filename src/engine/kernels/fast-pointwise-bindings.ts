import { crossEntropyBackward, crossEntropyForward } from "./cross-entropy.js";
import { engineThreads } from "./engine-threads.js";
import { rmsnormBackward, rmsnormForward } from "./rmsnorm.js";
import { ropeBackward, ropeForward } from "./rope.js";
import type { KernelSet } from "./kernel-set.js";
import { swigluBackward, swigluForward } from "./swiglu.js";
import { ParallelPointwise } from "./wasm/parallel-pointwise.js";
import type { ResidentMemory } from "./wasm/resident-memory.js";
import { PointwiseSimd } from "./wasm/pointwise-runner.js";
import { pointwiseSimdAvailable } from "./wasm/pointwise-simd.js";

// The fast set's element-wise kernels (softmax cross-entropy over the vocabulary, SwiGLU, RMSNorm, RoPE): WebAssembly
// SIMD with a vectorised exp, on two threads when the operands are in shared memory; the JS reference
// kernels where WebAssembly SIMD is missing.

let pointwise: PointwiseSimd | null | undefined;
/** One instance per process, created on first use (CAMELID_ENGINE_THREADS=1 keeps it on one thread). */
function pointwiseSimd(): PointwiseSimd | null {
  if (pointwise === undefined) pointwise = !pointwiseSimdAvailable() ? null : engineThreads() === 2 ? new ParallelPointwise() : new PointwiseSimd();
  return pointwise;
}

/**
 * Registers the shared memory (the SIMD matmul's, where the model keeps its activations, gradient
 * scratch and logits) in which the cross-entropy, SwiGLU, RMSNorm and RoPE run in place, on both threads, when
 * all their operands live there; null: none.
 */
export function useResidentMemory(memory: ResidentMemory | null): void {
  pointwiseSimd()?.useResidentMemory(memory);
}

export const fastCrossEntropyForward: KernelSet["crossEntropyForward"] = (losses, probs, logits, targets, mask, N, V) => {
  const kernels = pointwiseSimd();
  return kernels ? kernels.crossEntropyForward(losses, probs, logits, targets, mask, N, V) : crossEntropyForward(losses, probs, logits, targets, mask, N, V);
};

export const fastCrossEntropyBackward: KernelSet["crossEntropyBackward"] = (dlogits, probs, targets, mask, N, V) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.crossEntropyBackward(dlogits, probs, targets, mask, N, V);
  else crossEntropyBackward(dlogits, probs, targets, mask, N, V);
};

/**
 * crossEntropyBackwardWeighted on the SIMD backward: with every row counted it gives (probs - onehot) / N,
 * then each row is scaled to its own weight.
 */
export const fastCrossEntropyBackwardWeighted: KernelSet["crossEntropyBackwardWeighted"] = (dlogits, probs, targets, weights, N, V) => {
  fastCrossEntropyBackward(dlogits, probs, targets, new Uint8Array(N).fill(1), N, V);
  for (let n = 0; n < N; n++) {
    const row = n * V, scale = weights[n] * N;
    for (let v = 0; v < V; v++) dlogits[row + v] *= scale;
  }
};

export const fastSwigluForward: KernelSet["swigluForward"] = (out, gate, up, size) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.swigluForward(out, gate, up, size);
  else swigluForward(out, gate, up, size);
};

export const fastSwigluBackward: KernelSet["swigluBackward"] = (dgate, dup, dout, gate, up, size) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.swigluBackward(dgate, dup, dout, gate, up, size);
  else swigluBackward(dgate, dup, dout, gate, up, size);
};

/**
 * crossEntropyForward then crossEntropyBackward as one pass (writes the loss gradient, never the
 * probabilities): half the memory traffic over the [N, V] logits. The fast set's
 * crossEntropyForwardBackward, which a training step calls instead of the two.
 */
export function fastCrossEntropyForwardBackward(losses: Float32Array, dlogits: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number {
  const kernels = pointwiseSimd();
  if (kernels) return kernels.crossEntropyForwardBackward(losses, dlogits, logits, targets, mask, N, V);
  const loss = crossEntropyForward(losses, dlogits, logits, targets, mask, N, V);
  crossEntropyBackward(dlogits, dlogits, targets, mask, N, V);
  return loss;
}

export const fastSwigluBackwardOverwrite: KernelSet["swigluBackwardOverwrite"] = (dgate, dup, dout, gate, up, size) => {
  const kernels = pointwiseSimd();
  if (kernels) return kernels.swigluBackwardOverwrite(dgate, dup, dout, gate, up, size);
  dgate.fill(0, 0, size);
  dup.fill(0, 0, size);
  swigluBackward(dgate, dup, dout, gate, up, size);
};

export const fastRmsnormForward: KernelSet["rmsnormForward"] = (out, rstd, inp, weight, N, C, eps) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.rmsnormForward(out, rstd, inp, weight, N, C, eps);
  else rmsnormForward(out, rstd, inp, weight, N, C, eps);
};

export const fastRmsnormBackward: KernelSet["rmsnormBackward"] = (dinp, dweight, dout, inp, weight, rstd, N, C) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
  else rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
};

export const fastRopeForward: KernelSet["ropeForward"] = (out, inp, cos, sin, B, T, nHeads, headSize, nRot) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.ropeForward(out, inp, cos, sin, B, T, nHeads, headSize, nRot);
  else ropeForward(out, inp, cos, sin, B, T, nHeads, headSize, nRot);
};

export const fastRopeBackward: KernelSet["ropeBackward"] = (dinp, dout, cos, sin, B, T, nHeads, headSize, nRot) => {
  const kernels = pointwiseSimd();
  if (kernels) kernels.ropeBackward(dinp, dout, cos, sin, B, T, nHeads, headSize, nRot);
  else ropeBackward(dinp, dout, cos, sin, B, T, nHeads, headSize, nRot);
};
