import { transposeInto } from "./matmul.js";
import { matmulBackwardInputFast, matmulBackwardWeightFast, matmulForwardFast } from "./matmul-fast.js";
import { engineThreads } from "./engine-threads.js";
import type { KernelSet } from "./kernel-set.js";
import { SimdMatmul, simdAvailable } from "./wasm/matmul-simd.js";
import { ParallelSimdMatmul } from "./wasm/parallel-matmul.js";

// The fast set's matmuls: WebAssembly SIMD (on two threads when available), JS fallback.

let simd: SimdMatmul | null | undefined;
/**
 * One SIMD kernel (and its WebAssembly memory) per process, created on first use: on two threads when
 * the machine has two cores and shared memory works (CAMELID_ENGINE_THREADS=1 keeps it on one).
 */
function simdMatmul(): SimdMatmul | null {
  if (simd === undefined) {
    const twoThreads = engineThreads() === 2;
    simd = !simdAvailable() ? null : twoThreads ? new ParallelSimdMatmul() : new SimdMatmul();
  }
  return simd;
}

export const simdForward: KernelSet["matmulForward"] = (out, inp, weight, N, C, OC, accumulate, frozen) => {
  const kernel = simdMatmul();
  if (kernel) kernel.forward(out, inp, weight, N, C, OC, accumulate, frozen);
  else matmulForwardFast(out, inp, weight, N, C, OC, accumulate);
};

// dout transposed for the LoRA weight gradients below, grown as needed and reused.
let transposedDout = new Float32Array(0);

/**
 * dweight[OC, C] += dout[N, OC]^T @ inp[N, C] on the SIMD matmul: as doutT[OC, N] @ (inp^T)^T, the
 * reduction over the batch running along contiguous memory; inp is packed from its stored layout, so
 * only dout is transposed (O(N*OC) against O(N*OC*C) of arithmetic).
 */
export const simdBackwardWeight: KernelSet["matmulBackwardWeight"] = (dweight, dout, inp, N, C, OC) => {
  const kernel = simdMatmul();
  if (!kernel) return matmulBackwardWeightFast(dweight, dout, inp, N, C, OC);
  if (transposedDout.length < N * OC) transposedDout = new Float32Array(N * OC);
  transposeInto(transposedDout, dout, N, OC);
  kernel.backwardInput(dweight, transposedDout, inp, OC, C, N);
};

/** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small, changing weight (a LoRA A). */
export const simdBackwardInput: KernelSet["matmulBackwardInput"] = (dinp, dout, weight, N, C, OC) => {
  const kernel = simdMatmul();
  if (kernel) kernel.backwardInput(dinp, dout, weight, N, C, OC);
  else matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
};

/** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a frozen weight: its packed panels are kept. */
export const simdBackwardInputFrozen: KernelSet["matmulBackwardInputFrozen"] = (dinp, dout, weight, N, C, OC) => {
  const kernel = simdMatmul();
  if (kernel) kernel.backwardInput(dinp, dout, weight, N, C, OC, true);
  else matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
};

/** A buffer inside the SIMD matmul's memory, which its matmuls read and write in place (see SimdMatmul.allocateResident). */
export const simdAllocateResident: NonNullable<KernelSet["allocateResident"]> = (floats) => simdMatmul()?.allocateResident(floats) ?? null;
