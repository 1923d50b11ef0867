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

export const simdForward: KernelSet["matmulForward"] = (out, inp, weight, N, C, OC, accumulate) => {
  const kernel = simdMatmul();
  if (kernel) kernel.forward(out, inp, weight, N, C, OC, accumulate);
  else matmulForwardFast(out, inp, weight, N, C, OC, accumulate);
};

// Transposed operands for the LoRA gradients below, grown as needed and reused.
let transposedA = new Float32Array(0), transposedB = new Float32Array(0);
function transposed(which: "a" | "b", source: Float32Array, rows: number, cols: number): Float32Array {
  if (which === "a" && transposedA.length < rows * cols) transposedA = new Float32Array(rows * cols);
  if (which === "b" && transposedB.length < rows * cols) transposedB = new Float32Array(rows * cols);
  const target = which === "a" ? transposedA : transposedB;
  transposeInto(target, source, rows, cols);
  return target;
}

/**
 * dweight[OC, C] += dout[N, OC]^T @ inp[N, C] on the SIMD matmul: as doutT[OC, N] @ inpT[C, N]^T, the
 * reduction over the batch running along contiguous memory. The transposes cost O(N*(OC+C)) against
 * O(N*OC*C) of arithmetic.
 */
export const simdBackwardWeight: KernelSet["matmulBackwardWeight"] = (dweight, dout, inp, N, C, OC) => {
  if (N % 4 !== 0 || OC < 2 || C < 4) return matmulBackwardWeightFast(dweight, dout, inp, N, C, OC);
  simdForward(dweight, transposed("a", dout, N, OC), transposed("b", inp, N, C), OC, N, C, true);
};

/** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small weight (a LoRA A): the SIMD matmul against weight^T. */
export const simdBackwardInput: KernelSet["matmulBackwardInput"] = (dinp, dout, weight, N, C, OC) => {
  if (OC % 4 !== 0) return matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
  simdForward(dinp, dout, transposed("a", weight, OC, C), N, OC, C, true);
};

/** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a frozen weight, as a forward matmul against its kept transpose. */
export const simdBackwardInputFrozen: KernelSet["matmulBackwardInputFrozen"] = (dinp, dout, _weight, weightT, N, C, OC) =>
  simdForward(dinp, dout, weightT, N, OC, C, true);
