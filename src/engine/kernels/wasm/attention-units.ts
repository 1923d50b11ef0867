import type { AttentionLayout } from "./attention-simd-kernel.js";

// The JS side of the SIMD attention. A unit is a batch element, or, when there are fewer than 4 batch
// elements, a range of its key/value heads (so both threads have work at B = 1), handed out by a
// shared counter. A batch element is contiguous in every operand (q/out/dq [T, NH * HS], k/v/dk/dv
// [T, NKV * HS], att [NH, T, T]), so its blocks go into the kernel's memory with one memcpy each, the
// module computes the unit's heads (./attention-simd-kernel.ts), and the results come back the same
// way, or row by row for a range of heads (dq/dk/dv are copied in too, so the module accumulates onto
// them). Units never write the same memory, so two threads can take different ones.
// These two functions are self-contained (no outer references, no nested functions) on purpose: the
// helper thread of ../parallel-attention.ts compiles their source text.

export interface AttentionUnitKernel {
  /** Key/value heads [kvFirst, kvEnd) and their query heads of the batch element in memory. */
  forwardUnit(kvFirst: number, kvEnd: number): void;
  backwardUnit(kvFirst: number, kvEnd: number): void;
}

/** out [B, T, NH, HS] and att [B, NH, T, T] of the units taken from counter[counterAt]; returns how many it took. */
export function simdForwardUnits(
  kernel: AttentionUnitKernel, heap: Float32Array, L: AttentionLayout,
  out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  B: number, counter: Int32Array, counterAt: number,
): number {
  const T = L.T, Tp = L.Tp, NH = L.NH, NKV = L.NKV, HS = L.HS, C = NH * HS, KVC = NKV * HS, group = NH / NKV;
  const parts = B >= 4 ? 1 : Math.min(NKV, Math.ceil(4 / B));
  let taken = 0;
  for (let unit = Atomics.add(counter, counterAt, 1); unit < B * parts; unit = Atomics.add(counter, counterAt, 1), taken++) {
    const b = Math.floor(unit / parts), part = unit % parts;
    const kvFirst = Math.floor((part * NKV) / parts), kvEnd = Math.floor(((part + 1) * NKV) / parts);
    const h0 = kvFirst * group, h1 = kvEnd * group, rows = b * T * C;
    heap.set(q.subarray(rows, rows + T * C), L.q);
    heap.set(k.subarray(b * T * KVC, (b + 1) * T * KVC), L.k);
    heap.set(v.subarray(b * T * KVC, (b + 1) * T * KVC), L.v);
    kernel.forwardUnit(kvFirst, kvEnd);
    if (parts === 1) out.set(heap.subarray(L.out, L.out + T * C), rows);
    else for (let t = 0; t < T; t++) out.set(heap.subarray(L.out + t * C + h0 * HS, L.out + t * C + h1 * HS), rows + t * C + h0 * HS);
    const attBase = b * NH * T * T;
    if (T === Tp) att.set(heap.subarray(L.att + h0 * T * T, L.att + h1 * T * T), attBase + h0 * T * T);
    else {
      for (let row = h0 * T; row < h1 * T; row++) {
        const from = L.att + (Math.floor(row / T) * Tp + (row % T)) * Tp;
        att.set(heap.subarray(from, from + T), attBase + row * T);
      }
    }
  }
  return taken;
}

/** dq, dk, dv += the gradients of the units taken from counter[counterAt]; returns how many it took. */
export function simdBackwardUnits(
  kernel: AttentionUnitKernel, heap: Float32Array, L: AttentionLayout,
  dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array,
  B: number, counter: Int32Array, counterAt: number,
): number {
  const T = L.T, Tp = L.Tp, NH = L.NH, NKV = L.NKV, HS = L.HS, C = NH * HS, KVC = NKV * HS, group = NH / NKV;
  const parts = B >= 4 ? 1 : Math.min(NKV, Math.ceil(4 / B));
  let taken = 0;
  for (let unit = Atomics.add(counter, counterAt, 1); unit < B * parts; unit = Atomics.add(counter, counterAt, 1), taken++) {
    const b = Math.floor(unit / parts), part = unit % parts;
    const kvFirst = Math.floor((part * NKV) / parts), kvEnd = Math.floor(((part + 1) * NKV) / parts);
    const h0 = kvFirst * group, h1 = kvEnd * group, rows = b * T * C, kvRows = b * T * KVC;
    heap.set(q.subarray(rows, rows + T * C), L.q);
    heap.set(dout.subarray(rows, rows + T * C), L.dout);
    heap.set(dq.subarray(rows, rows + T * C), L.out);
    heap.set(k.subarray(kvRows, kvRows + T * KVC), L.k);
    heap.set(v.subarray(kvRows, kvRows + T * KVC), L.v);
    heap.set(dk.subarray(kvRows, kvRows + T * KVC), L.dk);
    heap.set(dv.subarray(kvRows, kvRows + T * KVC), L.dv);
    const attBase = b * NH * T * T;
    if (T === Tp) heap.set(att.subarray(attBase + h0 * T * T, attBase + h1 * T * T), L.att + h0 * T * T);
    else {
      for (let row = h0 * T; row < h1 * T; row++) {
        const to = L.att + (Math.floor(row / T) * Tp + (row % T)) * Tp;
        heap.set(att.subarray(attBase + row * T, attBase + (row + 1) * T), to);
      }
    }
    kernel.backwardUnit(kvFirst, kvEnd);
    if (parts === 1) {
      dq.set(heap.subarray(L.out, L.out + T * C), rows);
      dk.set(heap.subarray(L.dk, L.dk + T * KVC), kvRows);
      dv.set(heap.subarray(L.dv, L.dv + T * KVC), kvRows);
    } else {
      for (let t = 0; t < T; t++) {
        dq.set(heap.subarray(L.out + t * C + h0 * HS, L.out + t * C + h1 * HS), rows + t * C + h0 * HS);
        dk.set(heap.subarray(L.dk + t * KVC + kvFirst * HS, L.dk + t * KVC + kvEnd * HS), kvRows + t * KVC + kvFirst * HS);
        dv.set(heap.subarray(L.dv + t * KVC + kvFirst * HS, L.dv + t * KVC + kvEnd * HS), kvRows + t * KVC + kvFirst * HS);
      }
    }
  }
  return taken;
}
