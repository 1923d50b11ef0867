import { attentionBackward, attentionForward, type AttentionShape } from "./attention.js";
import { attentionBackwardFast, attentionForwardFast } from "./attention-fast.js";
import { crossEntropyBackward, crossEntropyBackwardWeighted, crossEntropyForward } from "./cross-entropy.js";
import { fastAttentionBackward, fastAttentionForward } from "./fast-attention-bindings.js";
import { fastCrossEntropyBackward, fastCrossEntropyBackwardWeighted, fastCrossEntropyForward, fastCrossEntropyForwardBackward, fastSwigluBackward, fastSwigluBackwardOverwrite, fastSwigluForward } from "./fast-pointwise-bindings.js";
import { fastRmsnormBackward, fastRmsnormForward, fastRopeBackward, fastRopeForward } from "./fast-pointwise-bindings.js";
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from "./matmul.js";
import { matmulBackwardInputFast, matmulBackwardWeightFast, matmulForwardFast } from "./matmul-fast.js";
import { simdAllocateResident, simdKeptWeightBytes, simdBackwardInput, simdBackwardInputFrozen, simdBackwardWeight, simdForward } from "./simd-matmul-bindings.js";
import { rmsnormBackward, rmsnormForward } from "./rmsnorm.js";
import { ropeBackward, ropeForward } from "./rope.js";
import { swigluBackward, swigluForward } from "./swiglu.js";

export { engineThreads } from "./engine-threads.js";

/**
 * The kernels whose speed matters, behind one interface so the model runs on the reference (oracle)
 * set or the fast set unchanged; the tests run both and compare. Each fast family lives in its own
 * bindings module (simd-matmul-, fast-attention-, fast-pointwise-bindings.ts).
 */
export interface KernelSet {
  name: string;
  /**
   * out[N, OC] = inp[N, C] @ weight[OC, C]^T (+= when accumulate). `frozen` promises the weight never
   * changes (a base weight), so a kernel may keep a prepared copy of it.
   */
  matmulForward(out: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate?: boolean, frozen?: boolean): void;
  /**
   * dinp[N, C] += dout[N, OC] @ weight[OC, C] for a frozen weight (never changes: a kernel may keep a
   * prepared copy); with accumulate false, = instead of += (no zeroing of dinp needed first).
   */
  matmulBackwardInputFrozen(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate?: boolean): void;
  /** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small, changing weight (a LoRA A). */
  matmulBackwardInput(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number): void;
  /** dweight[OC, C] += dout[N, OC]^T @ inp[N, C]. */
  matmulBackwardWeight(dweight: Float32Array, dout: Float32Array, inp: Float32Array, N: number, C: number, OC: number): void;
  attentionForward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void;
  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape): void;
  /** Same contract as crossEntropyForward in ./cross-entropy.ts (probs may alias logits). */
  crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number;
  /** Same contract as crossEntropyBackward in ./cross-entropy.ts (dlogits may alias probs). */
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): void;
  /**
   * crossEntropyForward then crossEntropyBackward in one pass: returns the masked mean loss and writes
   * dlogits (which may alias logits) without keeping the probabilities.
   */
  crossEntropyForwardBackward(losses: Float32Array, dlogits: Float32Array, logits: Float32Array, targets: Int32Array, mask: Uint8Array, N: number, V: number): number;
  /** Same contract as crossEntropyBackwardWeighted in ./cross-entropy.ts: per-row loss weights instead of a mean. */
  crossEntropyBackwardWeighted(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, weights: Float32Array, N: number, V: number): void;
  /**
   * Optional: a zeroed buffer the matmuls use in place, for a large activation such as the logits
   * (null, or no method, when the set has none; the caller then allocates its own).
   */
  allocateResident?(floats: number): Float32Array | null;
  /** Optional: bytes of prepared copies of frozen weights the set keeps (0, or no method, when none). */
  keptWeightBytes?(): number;
  /** Same contract as swigluForward in ./swiglu.ts. */
  swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, size: number): void;
  /** Same contract as swigluBackward in ./swiglu.ts. */
  swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void;
  /**
   * swigluBackward into gradients it writes instead of adding to (the caller need not zero them first):
   * the same values as swigluBackward on zeroed dgate and dup.
   */
  swigluBackwardOverwrite(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void;
  /** Same contract as rmsnormForward in ./rmsnorm.ts. */
  rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void;
  /** Same contract as rmsnormBackward in ./rmsnorm.ts. */
  rmsnormBackward(dinp: Float32Array, dweight: Float32Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array, rstd: Float32Array, N: number, C: number): void;
  /** Same contract as ropeForward in ./rope.ts. */
  ropeForward(out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void;
  /** Same contract as ropeBackward in ./rope.ts. */
  ropeBackward(dinp: Float32Array, dout: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): void;
}

export const referenceKernels: KernelSet = {
  name: "reference",
  matmulForward: (out, inp, weight, N, C, OC, accumulate) => matmulForward(out, inp, weight, N, C, OC, accumulate),
  matmulBackwardInputFrozen: (dinp, dout, weight, N, C, OC, accumulate = true) => {
    if (!accumulate) dinp.fill(0, 0, N * C);
    matmulBackwardInput(dinp, dout, weight, N, C, OC);
  },
  matmulBackwardInput,
  matmulBackwardWeight,
  attentionForward,
  attentionBackward,
  crossEntropyForward,
  crossEntropyBackward,
  crossEntropyBackwardWeighted,
  crossEntropyForwardBackward: (losses, dlogits, logits, targets, mask, N, V) => {
    const loss = crossEntropyForward(losses, dlogits, logits, targets, mask, N, V);
    crossEntropyBackward(dlogits, dlogits, targets, mask, N, V);
    return loss;
  },
  swigluForward,
  swigluBackward,
  swigluBackwardOverwrite: (dgate, dup, dout, gate, up, size) => {
    dgate.fill(0, 0, size);
    dup.fill(0, 0, size);
    swigluBackward(dgate, dup, dout, gate, up, size);
  },
  rmsnormForward,
  rmsnormBackward,
  ropeForward,
  ropeBackward,
};

/** The plain-JS fast kernels (blocked loops); used where WebAssembly SIMD is unavailable. */
export const fastJsKernels: KernelSet = {
  ...referenceKernels,
  name: "fast-js",
  matmulForward: (out, inp, weight, N, C, OC, accumulate) => matmulForwardFast(out, inp, weight, N, C, OC, accumulate),
  matmulBackwardInputFrozen: (dinp, dout, weight, N, C, OC, accumulate = true) => {
    if (!accumulate) dinp.fill(0, 0, N * C);
    matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
  },
  matmulBackwardInput: matmulBackwardInputFast,
  matmulBackwardWeight: matmulBackwardWeightFast,
  attentionForward: attentionForwardFast,
  attentionBackward: attentionBackwardFast,
};

/**
 * The default: WebAssembly SIMD matmuls (JS fallback), LoRA gradients on them too, attention on two
 * threads; the element-wise kernels (cross-entropy, SwiGLU, RMSNorm, RoPE) in SIMD, on two threads.
 */
export const fastKernels: KernelSet = {
  name: "fast",
  matmulForward: simdForward,
  matmulBackwardInputFrozen: simdBackwardInputFrozen,
  matmulBackwardWeight: simdBackwardWeight,
  matmulBackwardInput: simdBackwardInput,
  attentionForward: fastAttentionForward,
  attentionBackward: fastAttentionBackward,
  crossEntropyForward: fastCrossEntropyForward,
  crossEntropyBackward: fastCrossEntropyBackward,
  crossEntropyForwardBackward: fastCrossEntropyForwardBackward,
  crossEntropyBackwardWeighted: fastCrossEntropyBackwardWeighted,
  swigluForward: fastSwigluForward,
  swigluBackward: fastSwigluBackward,
  swigluBackwardOverwrite: fastSwigluBackwardOverwrite,
  rmsnormForward: fastRmsnormForward,
  rmsnormBackward: fastRmsnormBackward,
  ropeForward: fastRopeForward,
  ropeBackward: fastRopeBackward,
  allocateResident: simdAllocateResident,
  keptWeightBytes: simdKeptWeightBytes,
};
