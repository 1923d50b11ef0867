import type { AttentionLayout } from "./attention-simd-kernel.js";

// The JS side of the SIMD attention: for each (batch, key/value head) unit handed out by a shared
// counter, copy the unit's k/v rows into the kernel's memory (k as panels in forward, v as panels in
// backward: see ./attention-simd-kernel.ts), then per query head of the group copy its q (and dout)
// rows in, run the head, and copy the results out (out + att rows, or dq += and finally dk/dv +=).
// A unit owns its query heads' rows of out/att/dq and its key/value head's rows of dk/dv, so two
// threads taking different units never write the same memory.
// These two functions are self-contained (no outer references, no nested functions) on purpose: the
// helper thread of ../parallel-attention.ts compiles their source text.

export interface AttentionHeadKernel {
  forwardHead(): void;
  backwardHead(): void;
}

/** out [B, T, NH, HS] and att [B, NH, T, T] of the units taken from counter[counterAt] until B * NKV. */
export function simdForwardUnits(
  kernel: AttentionHeadKernel, heap: Float32Array, L: AttentionLayout,
  out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  B: number, T: number, NH: number, NKV: number, counter: Int32Array, counterAt: number,
): void {
  const HS = L.HS, Tp = L.Tp, group = NH / NKV, units = B * NKV;
  const qStride = NH * HS, kvStride = NKV * HS, scale = 1 / Math.sqrt(HS);
  for (let unit = Atomics.add(counter, counterAt, 1); unit < units; unit = Atomics.add(counter, counterAt, 1)) {
    const b = Math.floor(unit / NKV), kvh = unit % NKV;
    const kvBase = b * T * kvStride + kvh * HS;
    for (let t = 0; t < T; t++) {
      const src = kvBase + t * kvStride, panel = L.kPanel + (t >> 3) * HS * 8 + (t & 7), natural = L.vNatural + t * HS;
      for (let i = 0; i < HS; i++) {
        heap[panel + i * 8] = k[src + i];
        heap[natural + i] = v[src + i];
      }
    }
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const qBase = b * T * qStride + h * HS;
      for (let t = 0; t < T; t++) {
        const src = qBase + t * qStride, dst = L.q + t * HS;
        for (let i = 0; i < HS; i++) heap[dst + i] = q[src + i] * scale;
      }
      kernel.forwardHead();
      for (let t = 0; t < T; t++) {
        const dst = qBase + t * qStride, src = L.out + t * HS;
        for (let i = 0; i < HS; i++) out[dst + i] = heap[src + i];
      }
      const attBase = (b * NH + h) * T * T;
      if (T === Tp) att.set(heap.subarray(L.probs, L.probs + T * T), attBase);
      else for (let t = 0; t < T; t++) att.set(heap.subarray(L.probs + t * Tp, L.probs + t * Tp + T), attBase + t * T);
    }
  }
}

/** dq, dk, dv += the gradients of the units taken from counter[counterAt] until B * NKV. */
export function simdBackwardUnits(
  kernel: AttentionHeadKernel, heap: Float32Array, L: AttentionLayout,
  dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array,
  B: number, T: number, NH: number, NKV: number, counter: Int32Array, counterAt: number,
): void {
  const HS = L.HS, Tp = L.Tp, group = NH / NKV, units = B * NKV;
  const qStride = NH * HS, kvStride = NKV * HS;
  for (let unit = Atomics.add(counter, counterAt, 1); unit < units; unit = Atomics.add(counter, counterAt, 1)) {
    const b = Math.floor(unit / NKV), kvh = unit % NKV;
    const kvBase = b * T * kvStride + kvh * HS;
    for (let t = 0; t < T; t++) {
      const src = kvBase + t * kvStride, natural = L.kNatural + t * HS, panel = L.vPanel + (t >> 3) * HS * 8 + (t & 7);
      for (let i = 0; i < HS; i++) {
        heap[natural + i] = k[src + i];
        heap[panel + i * 8] = v[src + i];
      }
    }
    heap.fill(0, L.dk, L.dk + T * HS);
    heap.fill(0, L.dv, L.dv + T * HS);
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const qBase = b * T * qStride + h * HS;
      for (let t = 0; t < T; t++) {
        const src = qBase + t * qStride, at = t * HS;
        for (let i = 0; i < HS; i++) {
          heap[L.q + at + i] = q[src + i];
          heap[L.dout + at + i] = dout[src + i];
        }
      }
      const attBase = (b * NH + h) * T * T;
      if (T === Tp) heap.set(att.subarray(attBase, attBase + T * T), L.probs);
      else for (let t = 0; t < T; t++) heap.set(att.subarray(attBase + t * T, attBase + (t + 1) * T), L.probs + t * Tp);
      kernel.backwardHead();
      for (let t = 0; t < T; t++) {
        const dst = qBase + t * qStride, src = L.out + t * HS;
        for (let i = 0; i < HS; i++) dq[dst + i] += heap[src + i];
      }
    }
    for (let t = 0; t < T; t++) {
      const dst = kvBase + t * kvStride, src = t * HS;
      for (let i = 0; i < HS; i++) {
        dk[dst + i] += heap[L.dk + src + i];
        dv[dst + i] += heap[L.dv + src + i];
      }
    }
  }
}
