import type { AttentionLayout } from "./attention-simd-kernel.js";

// The JS side of the SIMD attention. A unit is a batch element, or, when there are fewer than 4 batch
// elements, a range of its key/value heads (so both threads have work at B = 1), handed out by a
// shared counter. A batch element is contiguous in every operand (q/out/dq [T, NH * HS], k/v/dk/dv
// [T, NKV * HS], att [NH, T, T]), so its blocks go into the kernel's memory with one memcpy each, the
// module computes the unit's heads (./attention-simd-kernel.ts), and the results come back the same
// way, or row by row for a range of heads (dq/dk/dv are copied in too, so the module accumulates onto
// them). Units never write the same memory, so two threads can take different ones. Each block sits
// in its region at its array's address modulo 8 (V8 copies shared memory byte by byte, 5x slower,
// when the two ends are aligned differently); with T not a multiple of 8 the padding rows after a
// block are zeroed, since a block may sit one float off from where the last one did.
// These two functions are self-contained (no outer references, no nested functions) on purpose: the
// helper thread of ../parallel-attention.ts compiles their source text.

export interface AttentionUnitKernel {
  /** Key/value heads [kvFirst, kvEnd) and their query heads of the batch element in memory; then the regions' byte addresses. */
  forwardUnit(kvFirst: number, kvEnd: number, q: number, k: number, v: number, out: number, att: number): void;
  backwardUnit(kvFirst: number, kvEnd: number, q: number, dout: number, dq: number, k: number, v: number, dk: number, dv: number, att: number): void;
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
    const h0 = kvFirst * group, h1 = kvEnd * group, rows = b * T * C, kvRows = b * T * KVC;
    const qAt = L.q + ((q.byteOffset & 4) >> 2), kAt = L.k + ((k.byteOffset & 4) >> 2), vAt = L.v + ((v.byteOffset & 4) >> 2);
    const outAt = L.out + ((out.byteOffset & 4) >> 2), attAt = L.att + ((att.byteOffset & 4) >> 2);
    heap.set(q.subarray(rows, rows + T * C), qAt);
    heap.set(k.subarray(kvRows, kvRows + T * KVC), kAt);
    heap.set(v.subarray(kvRows, kvRows + T * KVC), vAt);
    if (T !== Tp) {
      heap.fill(0, qAt + T * C, qAt + Tp * C);
      heap.fill(0, kAt + T * KVC, kAt + Tp * KVC);
      heap.fill(0, vAt + T * KVC, vAt + Tp * KVC);
    }
    kernel.forwardUnit(kvFirst, kvEnd, qAt * 4, kAt * 4, vAt * 4, outAt * 4, attAt * 4);
    if (parts === 1) out.set(heap.subarray(outAt, outAt + T * C), rows);
    else for (let t = 0; t < T; t++) out.set(heap.subarray(outAt + t * C + h0 * HS, outAt + t * C + h1 * HS), rows + t * C + h0 * HS);
    const attBase = b * NH * T * T;
    if (T === Tp) att.set(heap.subarray(attAt + h0 * T * T, attAt + h1 * T * T), attBase + h0 * T * T);
    else {
      for (let row = h0 * T; row < h1 * T; row++) {
        const from = attAt + (Math.floor(row / T) * Tp + (row % T)) * Tp;
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
    const qAt = L.q + ((q.byteOffset & 4) >> 2), doutAt = L.dout + ((dout.byteOffset & 4) >> 2), dqAt = L.out + ((dq.byteOffset & 4) >> 2);
    const kAt = L.k + ((k.byteOffset & 4) >> 2), vAt = L.v + ((v.byteOffset & 4) >> 2);
    const dkAt = L.dk + ((dk.byteOffset & 4) >> 2), dvAt = L.dv + ((dv.byteOffset & 4) >> 2), attAt = L.att + ((att.byteOffset & 4) >> 2);
    heap.set(q.subarray(rows, rows + T * C), qAt);
    heap.set(dout.subarray(rows, rows + T * C), doutAt);
    heap.set(dq.subarray(rows, rows + T * C), dqAt);
    heap.set(k.subarray(kvRows, kvRows + T * KVC), kAt);
    heap.set(v.subarray(kvRows, kvRows + T * KVC), vAt);
    heap.set(dk.subarray(kvRows, kvRows + T * KVC), dkAt);
    heap.set(dv.subarray(kvRows, kvRows + T * KVC), dvAt);
    if (T !== Tp) {
      heap.fill(0, qAt + T * C, qAt + Tp * C);
      heap.fill(0, doutAt + T * C, doutAt + Tp * C);
      heap.fill(0, kAt + T * KVC, kAt + Tp * KVC);
      heap.fill(0, vAt + T * KVC, vAt + Tp * KVC);
    }
    const attBase = b * NH * T * T;
    if (T === Tp) heap.set(att.subarray(attBase + h0 * T * T, attBase + h1 * T * T), attAt + h0 * T * T);
    else {
      for (let row = h0 * T; row < h1 * T; row++) {
        const to = attAt + (Math.floor(row / T) * Tp + (row % T)) * Tp;
        heap.set(att.subarray(attBase + row * T, attBase + (row + 1) * T), to);
      }
    }
    kernel.backwardUnit(kvFirst, kvEnd, qAt * 4, doutAt * 4, dqAt * 4, kAt * 4, vAt * 4, dkAt * 4, dvAt * 4, attAt * 4);
    if (parts === 1) {
      dq.set(heap.subarray(dqAt, dqAt + T * C), rows);
      dk.set(heap.subarray(dkAt, dkAt + T * KVC), kvRows);
      dv.set(heap.subarray(dvAt, dvAt + T * KVC), kvRows);
    } else {
      for (let t = 0; t < T; t++) {
        dq.set(heap.subarray(dqAt + t * C + h0 * HS, dqAt + t * C + h1 * HS), rows + t * C + h0 * HS);
        dk.set(heap.subarray(dkAt + t * KVC + kvFirst * HS, dkAt + t * KVC + kvEnd * HS), kvRows + t * KVC + kvFirst * HS);
        dv.set(heap.subarray(dvAt + t * KVC + kvFirst * HS, dvAt + t * KVC + kvEnd * HS), kvRows + t * KVC + kvFirst * HS);
      }
    }
  }
  return taken;
}

/**
 * The in-place variant of simdForwardUnits and simdBackwardUnits (./attention-resident.ts): every
 * operand already lives in the kernel's shared memory, so a unit is one call on byte addresses, nothing
 * copied. `at` holds the operands' byte addresses (forward: out, att, q, k, v; backward: dq, dk, dv,
 * dout, q, k, v, att, which the kernel adds onto); the layout has T rows and no padding. With nothing to copy, a
 * key/value head range costs no more than a whole batch element, so units are head ranges whenever that
 * makes at least 16 of them (B 8 x 6 heads: 16 units of 3 heads): a thread that loses its core for a
 * while (a busy machine) holds up the other for half a batch element at most. Self-contained too.
 */
export function residentUnits(
  kernel: AttentionUnitKernel, L: AttentionLayout, backward: boolean, at: ArrayLike<number>, B: number, counter: Int32Array, counterAt: number,
): number {
  const UNITS_IN_PLACE = 16; // at least this many units where the heads allow (see above)
  const T = L.T, NH = L.NH, NKV = L.NKV, rowBytes = T * L.NH * L.HS * 4, kvRowBytes = T * L.NKV * L.HS * 4, attBytes = NH * T * T * 4;
  const parts = Math.min(NKV, Math.ceil(UNITS_IN_PLACE / B));
  let taken = 0;
  for (let unit = Atomics.add(counter, counterAt, 1); unit < B * parts; unit = Atomics.add(counter, counterAt, 1), taken++) {
    const b = Math.floor(unit / parts), part = unit % parts;
    const kvFirst = Math.floor((part * NKV) / parts), kvEnd = Math.floor(((part + 1) * NKV) / parts);
    const rows = b * rowBytes, kvRows = b * kvRowBytes, atts = b * attBytes;
    // backward: dq, dk, dv, dout, q, k, v, att; forward: out, att, q, k, v
    if (backward) kernel.backwardUnit(kvFirst, kvEnd, at[4] + rows, at[3] + rows, at[0] + rows, at[5] + kvRows, at[6] + kvRows, at[1] + kvRows, at[2] + kvRows, at[7] + atts);
    else kernel.forwardUnit(kvFirst, kvEnd, at[2] + rows, at[3] + kvRows, at[4] + kvRows, at[0] + rows, at[1] + atts);
  }
  return taken;
}
