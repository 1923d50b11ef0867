import { attentionBackward, attentionForward, type AttentionShape } from "./attention.js";
import { attentionBackwardFast, attentionForwardFast } from "./attention-fast.js";
import { matmulBackwardInput, matmulBackwardWeight, matmulForward, transposeInto } from "./matmul.js";
import { matmulBackwardInputFast, matmulBackwardWeightFast, matmulForwardFast } from "./matmul-fast.js";
import { availableParallelism } from "node:os";
import { SimdMatmul, simdAvailable } from "./wasm/matmul-simd.js";
import { ParallelSimdMatmul, threadsAvailable } from "./wasm/parallel-matmul.js";
import { ParallelAttention } from "./parallel-attention.js";

/**
 * The kernels whose speed matters, behind one interface so the model runs on the reference (oracle)
 * set or the fast set unchanged; the tests run both and compare.
 */
export interface KernelSet {
  name: string;
  /** out[N, OC] = inp[N, C] @ weight[OC, C]^T (+= when accumulate). */
  matmulForward(out: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number, accumulate?: boolean): void;
  /** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a frozen weight whose transpose weightT [C, OC] is kept. */
  matmulBackwardInputFrozen(dinp: Float32Array, dout: Float32Array, weight: Float32Array, weightT: Float32Array, N: number, C: number, OC: number): void;
  /** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small, changing weight (a LoRA A). */
  matmulBackwardInput(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number): void;
  /** dweight[OC, C] += dout[N, OC]^T @ inp[N, C]. */
  matmulBackwardWeight(dweight: Float32Array, dout: Float32Array, inp: Float32Array, N: number, C: number, OC: number): void;
  attentionForward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void;
  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape): void;
}

export const referenceKernels: KernelSet = {
  name: "reference",
  matmulForward,
  matmulBackwardInputFrozen: (dinp, dout, weight, _weightT, N, C, OC) => matmulBackwardInput(dinp, dout, weight, N, C, OC),
  matmulBackwardInput,
  matmulBackwardWeight,
  attentionForward,
  attentionBackward,
};

/** The plain-JS fast kernels (blocked loops); used where WebAssembly SIMD is unavailable. */
export const fastJsKernels: KernelSet = {
  name: "fast-js",
  matmulForward: matmulForwardFast,
  matmulBackwardInputFrozen: (dinp, dout, _weight, weightT, N, C, OC) => matmulForwardFast(dinp, dout, weightT, N, OC, C, true),
  matmulBackwardInput: matmulBackwardInputFast,
  matmulBackwardWeight: matmulBackwardWeightFast,
  attentionForward: attentionForwardFast,
  attentionBackward: attentionBackwardFast,
};

/** Two threads unless CAMELID_ENGINE_THREADS=1, the machine has one core, or shared memory is missing. */
export function engineThreads(): number {
  return process.env.CAMELID_ENGINE_THREADS !== "1" && availableParallelism() >= 2 && threadsAvailable() ? 2 : 1;
}

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

const simdForward: KernelSet["matmulForward"] = (out, inp, weight, N, C, OC, accumulate) => {
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
const simdBackwardWeight: KernelSet["matmulBackwardWeight"] = (dweight, dout, inp, N, C, OC) => {
  if (N % 4 !== 0 || OC < 2 || C < 4) return matmulBackwardWeightFast(dweight, dout, inp, N, C, OC);
  simdForward(dweight, transposed("a", dout, N, OC), transposed("b", inp, N, C), OC, N, C, true);
};

/** dinp[N, C] += dout[N, OC] @ weight[OC, C] for a small weight (a LoRA A): the SIMD matmul against weight^T. */
const simdBackwardInput: KernelSet["matmulBackwardInput"] = (dinp, dout, weight, N, C, OC) => {
  if (OC % 4 !== 0) return matmulBackwardInputFast(dinp, dout, weight, N, C, OC);
  simdForward(dinp, dout, transposed("a", weight, OC, C), N, OC, C, true);
};

let attentionThreads: ParallelAttention | null | undefined;
/**
 * The two-thread attention when it applies: two threads available,
 * at least two units to split, enough work to pay for the hand-over, and every operand in shared memory.
 */
function parallelAttentionFor(shape: AttentionShape, arrays: Float32Array[]): ParallelAttention | null {
  const { B, T, NKV, NH, HS } = shape;
  if (B * NKV < 2 || B * NH * T * T * HS < 1 << 16 || !ParallelAttention.canShare(...arrays)) return null;
  if (attentionThreads === undefined) attentionThreads = engineThreads() === 2 ? new ParallelAttention() : null;
  return attentionThreads;
}

/** The default: WebAssembly SIMD matmuls (JS fallback), LoRA gradients on them too, attention on two threads. */
export const fastKernels: KernelSet = {
  ...fastJsKernels,
  name: "fast",
  matmulForward: simdForward,
  matmulBackwardInputFrozen: (dinp, dout, _weight, weightT, N, C, OC) => simdForward(dinp, dout, weightT, N, OC, C, true),
  matmulBackwardWeight: simdBackwardWeight,
  matmulBackwardInput: simdBackwardInput,
  attentionForward: (out, att, q, k, v, shape) => {
    const threads = parallelAttentionFor(shape, [out, att, q, k, v]);
    if (threads) threads.forward(out, att, q, k, v, shape);
    else attentionForwardFast(out, att, q, k, v, shape);
  },
  attentionBackward: (dq, dk, dv, scratch, dout, q, k, v, att, shape) => {
    const threads = parallelAttentionFor(shape, [dq, dk, dv, dout, q, k, v, att]);
    if (threads) threads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape);
    else attentionBackwardFast(dq, dk, dv, scratch, dout, q, k, v, att, shape);
  },
};
