import type { AttentionLayout } from "./attention-simd-kernel.js";

// The JS side of the SIMD attention: the units are batch elements, handed out by a shared counter.
// Each is contiguous in every operand (q/out/dq [T, NH * HS], k/v/dk/dv [T, NKV * HS], att
// [NH, T, T]), so its blocks go into the kernel's memory with one memcpy each, the module computes all
// heads (./attention-simd-kernel.ts), and the results come back the same way (dq/dk/dv are copied in
// too, so the module accumulates onto them). Units never write the same memory, so two threads can
// take different ones.
// These two functions are self-contained (no outer references, no nested functions) on purpose: the
// helper thread of ../parallel-attention.ts compiles their source text.

export interface AttentionUnitKernel {
  forwardUnit(): void;
  backwardUnit(): void;
}

/** out [B, T, NH, HS] and att [B, NH, T, T] of the batch elements taken from counter[counterAt] until B; returns how many it took. */
export function simdForwardUnits(
  kernel: AttentionUnitKernel, heap: Float32Array, L: AttentionLayout,
  out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  B: number, counter: Int32Array, counterAt: number,
): number {
  const T = L.T, Tp = L.Tp, NH = L.NH, C = NH * L.HS, KVC = L.NKV * L.HS;
  let taken = 0;
  for (let b = Atomics.add(counter, counterAt, 1); b < B; b = Atomics.add(counter, counterAt, 1), taken++) {
    heap.set(q.subarray(b * T * C, (b + 1) * T * C), L.q);
    heap.set(k.subarray(b * T * KVC, (b + 1) * T * KVC), L.k);
    heap.set(v.subarray(b * T * KVC, (b + 1) * T * KVC), L.v);
    kernel.forwardUnit();
    out.set(heap.subarray(L.out, L.out + T * C), b * T * C);
    const attBase = b * NH * T * T;
    if (T === Tp) att.set(heap.subarray(L.att, L.att + NH * T * T), attBase);
    else {
      for (let row = 0; row < NH * T; row++) {
        const from = L.att + (Math.floor(row / T) * Tp + (row % T)) * Tp;
        att.set(heap.subarray(from, from + T), attBase + row * T);
      }
    }
  }
  return taken;
}

/** dq, dk, dv += the gradients of the batch elements taken from counter[counterAt] until B; returns how many it took. */
export function simdBackwardUnits(
  kernel: AttentionUnitKernel, heap: Float32Array, L: AttentionLayout,
  dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array,
  B: number, counter: Int32Array, counterAt: number,
): number {
  const T = L.T, Tp = L.Tp, NH = L.NH, C = NH * L.HS, KVC = L.NKV * L.HS;
  let taken = 0;
  for (let b = Atomics.add(counter, counterAt, 1); b < B; b = Atomics.add(counter, counterAt, 1), taken++) {
    const rows = b * T * C, kvRows = b * T * KVC;
    heap.set(q.subarray(rows, rows + T * C), L.q);
    heap.set(dout.subarray(rows, rows + T * C), L.dout);
    heap.set(dq.subarray(rows, rows + T * C), L.out);
    heap.set(k.subarray(kvRows, kvRows + T * KVC), L.k);
    heap.set(v.subarray(kvRows, kvRows + T * KVC), L.v);
    heap.set(dk.subarray(kvRows, kvRows + T * KVC), L.dk);
    heap.set(dv.subarray(kvRows, kvRows + T * KVC), L.dv);
    const attBase = b * NH * T * T;
    if (T === Tp) heap.set(att.subarray(attBase, attBase + NH * T * T), L.att);
    else {
      for (let row = 0; row < NH * T; row++) {
        const to = L.att + (Math.floor(row / T) * Tp + (row % T)) * Tp;
        heap.set(att.subarray(attBase + row * T, attBase + (row + 1) * T), to);
      }
    }
    kernel.backwardUnit();
    dq.set(heap.subarray(L.out, L.out + T * C), rows);
    dk.set(heap.subarray(L.dk, L.dk + T * KVC), kvRows);
    dv.set(heap.subarray(L.dv, L.dv + T * KVC), kvRows);
  }
  return taken;
}
