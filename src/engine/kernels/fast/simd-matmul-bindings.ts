import { transposeInto } from "../reference/matmul.js";
import { matmulBackwardInputFast, matmulBackwardWeightFast, matmulForwardFast } from "./matmul-fast.js";
import { engineThreads } from "./engine-threads.js";
import { useResidentMemory as useResidentMemoryForAttention } from "./fast-attention-bindings.js";
import { useResidentMemory as useResidentMemoryForPointwise } from "./fast-pointwise-bindings.js";
import type { KernelSet } from "../kernel-set.js";
import { SimdMatmul, simdAvailable } from "./matmul-simd.js";
import { ParallelSimdMatmul } from "./parallel-matmul.js";

// The fast set's matmuls: WebAssembly SIMD (on two threads when available), JS fallback.

let simd: SimdMatmul | null | undefined;
/**
 * One SIMD kernel (and its WebAssembly memory) per process, created on first use: on two threads when
 * the machine has two cores and shared memory works (CAMELID_ENGINE_THREADS=1 keeps it on one).
 */
function simdMatmul(): SimdMatmul | null {
  if (simd === undefined) {
    const twoThreads = engineThreads() === 2;
    const shared = simdAvailable() && twoThreads ? new ParallelSimdMatmul() : null;
    simd = shared ?? (simdAvailable() ? new SimdMatmul() : null);
    // the model's activations and gradient scratch are allocated in the shared memory
    // (simdAllocateResident): the attention and element-wise kernels (cross-entropy, SwiGLU, RMSNorm, RoPE) then run on them in place too
    if (shared) {
      useResidentMemoryForAttention(shared);
      useResidentMemoryForPointwise(shared);
    }
  }
  return simd;
}

export const simdForward: KernelSet["matmulForward"] = (out, inp, weight, N, C, OC, accumulate, frozen) => {
  const kernel = simdMatmul();
  if (kernel) kernel.forward(out, inp, weight, N, C, OC, accumulate, frozen);
  else matmulForwardFast(out, inp, weight, N, C, OC, accumulate);
};

// Transposed operands and a result for the LoRA weight gradients below, grown as needed and reused.
let transposedOperand: Float32Array = new Float32Array(0), transposedResult: Float32Array = new Float32Array(0);
function scratch(current: Float32Array, size: number): Float32Array {
  return current.length >= size ? current : new Float32Array(size);
}

/**
 * dweight[OC, C] += dout[N, OC]^T @ inp[N, C] on the SIMD matmul, the reduction over the batch N
 * running along contiguous memory. Whichever of dout, inp is wider is packed from its stored layout,
 * and only the narrow one (a LoRA rank wide) is transposed: for a LoRA B (C = rank) the kernel
 * computes dweight^T[C, OC] = inp^T @ dout and adds it back transposed (C * OC floats); for a LoRA A
 * (OC = rank) it computes doutT[OC, N] @ (inp^T)^T straight into dweight.
 */
export const simdBackwardWeight: KernelSet["matmulBackwardWeight"] = (dweight, dout, inp, N, C, OC) => {
  const kernel = simdMatmul();
  if (!kernel) return matmulBackwardWeightFast(dweight, dout, inp, N, C, OC);
  if (OC > C) {
    transposedOperand = scratch(transposedOperand, N * C);
    transposeInto(transposedOperand, inp, N, C);
    transposedResult = scratch(transposedResult, C * OC);
    const result = transposedResult.subarray(0, C * OC).fill(0);
    kernel.backwardInput(result, transposedOperand, dout, C, OC, N);
    for (let c = 0; c < C; c++) for (let o = 0; o < OC; o++) dweight[o * C + c] += result[c * OC + o];
    return;
  }
  transposedOperand = scratch(transposedOperand, N * OC);
  transposeInto(transposedOperand, dout, N, OC);
  kernel.backwardInput(dweight, transposedOperand, inp, OC, C, N);
};

/** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small, changing weight (a LoRA A). */
export const simdBackwardInput: KernelSet["matmulBackwardInput"] = (dinp, dout, weight, N, C, OC) => {
  const kernel = simdMatmul();
  if (kernel) kernel.backwardInput(dinp, dout, weight, N, C, OC);
  else matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
};

/** dinp[N, C] (+)= dout[N, OC] @ weight[OC, C] for a frozen weight: its packed panels are kept. */
export const simdBackwardInputFrozen: KernelSet["matmulBackwardInputFrozen"] = (dinp, dout, weight, N, C, OC, accumulate = true) => {
  const kernel = simdMatmul();
  if (kernel) return kernel.backwardInput(dinp, dout, weight, N, C, OC, true, accumulate);
  if (!accumulate) dinp.fill(0, 0, N * C);
  matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
};

/** Bytes of frozen-weight panels the SIMD matmul keeps. */
export const simdKeptWeightBytes: NonNullable<KernelSet["keptWeightBytes"]> = () => simd?.keptWeightBytes ?? 0;

/** A buffer inside the SIMD matmul's memory, which its matmuls read and write in place (see SimdMatmul.allocateResident). */
export const simdAllocateResident: NonNullable<KernelSet["allocateResident"]> = (floats) => simdMatmul()?.allocateResident(floats) ?? null;
