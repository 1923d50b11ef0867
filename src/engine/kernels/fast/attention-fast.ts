import type { AttentionShape } from "../reference/attention.js";
import { attentionKernelsFor } from "./attention-codegen.js";
import { expTable } from "./fast-exp.js";

// The same causal GQA attention as ../reference/attention.ts on this thread, with the kernels generated for the
// head size (./attention-codegen.ts). Checked against the reference in test/engine.

export function attentionForwardFast(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void {
  const { B, T, NH, NKV, HS } = shape;
  attentionKernelsFor(HS).forward(out, att, q, k, v, B, T, NH, NKV, 0, B * NKV, expTable);
}

export function attentionBackwardFast(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  scratch: Float32Array,
  dout: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  att: Float32Array,
  shape: AttentionShape,
): void {
  const { B, T, NH, NKV, HS } = shape;
  attentionKernelsFor(HS).backward(dq, dk, dv, scratch, dout, q, k, v, att, B, T, NH, NKV, 0, B * NKV);
}
