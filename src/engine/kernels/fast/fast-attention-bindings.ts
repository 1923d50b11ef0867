import type { AttentionShape } from "../reference/attention.js";
import { attentionBackwardFast, attentionForwardFast } from "./attention-fast.js";
import { engineThreads } from "./engine-threads.js";
import type { KernelSet } from "../kernel-set.js";
import { ParallelAttention } from "./parallel-attention.js";
import { SimdAttentionThread } from "./attention-simd.js";
import { ResidentAttention } from "./attention-resident.js";
import type { ResidentMemory } from "./resident-memory.js";

// The fast set's attention: on two threads when it pays, one thread otherwise; WebAssembly SIMD kernels
// where they apply (head size a multiple of 4), the generated JS kernels otherwise.
// CAMELID_ENGINE_ATTENTION=js keeps the JS kernels everywhere (an escape hatch, and the same-tree
// reference for benchmarks).
// When a shared memory is registered (useResidentMemory: the SIMD matmul's, where the model keeps its
// activations and gradient scratch) and every operand of a call lives in it, the kernels run there in
// place, nothing copied (./attention-resident.ts).

const simdAllowed = process.env.CAMELID_ENGINE_ATTENTION !== "js";

let attentionThreads: ParallelAttention | null | undefined;
/**
 * The two-thread attention when it applies: two threads available,
 * at least two units to split, enough work to pay for the hand-over, and every operand in shared memory.
 */
function parallelAttentionFor(shape: AttentionShape, arrays: Float32Array[]): ParallelAttention | null {
  const { B, T, NKV, NH, HS } = shape;
  if (B * NKV < 2 || B * NH * T * T * HS < 1 << 16 || !ParallelAttention.canShare(...arrays)) return null;
  if (attentionThreads === undefined) attentionThreads = engineThreads() === 2 ? new ParallelAttention({ simd: simdAllowed }) : null;
  return attentionThreads;
}

const oneThread = new SimdAttentionThread();

let resident: ResidentAttention | null = null;
/** Registers the shared memory whose operands the attention uses in place (null: none; always copies). */
export function useResidentMemory(memory: ResidentMemory | null): void {
  resident = memory && simdAllowed ? new ResidentAttention(memory) : null;
}

/** The operands' addresses in the registered memory when the in-place kernels take this call, else null. */
function residentAddresses(shape: AttentionShape, arrays: Float32Array[]): number[] | null {
  return resident && ResidentAttention.applies(shape) ? resident.addresses(arrays) : null;
}

/** Runs the call in place on two threads when they pay, else on this one; false when the in-place kernels cannot be had. */
function runResident(shape: AttentionShape, arrays: Float32Array[], forward: boolean): boolean {
  const at = residentAddresses(shape, arrays);
  if (!at || !resident) return false;
  const threads = parallelAttentionFor(shape, arrays);
  if (threads) return forward ? threads.forwardResident(resident, at, shape) : threads.backwardResident(resident, at, shape);
  return forward ? resident.forward(at, shape) : resident.backward(at, shape);
}

export const fastAttentionForward: KernelSet["attentionForward"] = (out, att, q, k, v, shape) => {
  if (runResident(shape, [out, att, q, k, v], true)) return;
  const threads = parallelAttentionFor(shape, [out, att, q, k, v]);
  if (threads) threads.forward(out, att, q, k, v, shape);
  else if (!simdAllowed || !oneThread.forward(out, att, q, k, v, shape)) attentionForwardFast(out, att, q, k, v, shape);
};

export const fastAttentionBackward: KernelSet["attentionBackward"] = (dq, dk, dv, scratch, dout, q, k, v, att, shape) => {
  if (runResident(shape, [dq, dk, dv, dout, q, k, v, att], false)) return;
  const threads = parallelAttentionFor(shape, [dq, dk, dv, dout, q, k, v, att]);
  if (threads) threads.backward(dq, dk, dv, scratch, dout, q, k, v, att, shape);
  else if (!simdAllowed || !oneThread.backward(dq, dk, dv, dout, q, k, v, att, shape)) attentionBackwardFast(dq, dk, dv, scratch, dout, q, k, v, att, shape);
};
