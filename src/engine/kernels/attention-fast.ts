import { attentionBackward, attentionForward, type AttentionShape } from "./attention.js";
import { attentionBackwardRange, attentionForwardRange, buildExpTable } from "./attention-range.js";

// The same causal GQA attention as ./attention.ts, restructured for V8 (see ./attention-range.ts) and
// run over every unit on this thread. Head sizes that are not a multiple of 4 use the reference
// kernel. Checked against the reference in test/engine.

const expTable = buildExpTable();

export function attentionForwardFast(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void {
  const { B, T, NH, NKV, HS } = shape;
  if (HS % 4 !== 0) return attentionForward(out, att, q, k, v, shape);
  attentionForwardRange(out, att, q, k, v, B, T, NH, NKV, HS, 0, B * NKV, expTable);
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
  if (HS % 4 !== 0) return attentionBackward(dq, dk, dv, scratch, dout, q, k, v, att, shape);
  attentionBackwardRange(dq, dk, dv, scratch, dout, q, k, v, att, B, T, NH, NKV, HS, 0, B * NKV);
}
