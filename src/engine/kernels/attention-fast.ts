import { attentionBackward, attentionForward, type AttentionShape } from "./attention.js";
import { expNonPositive } from "./fast-exp.js";

// The same causal GQA attention as ./attention.ts, restructured for V8: dot products unrolled by 4,
// the weighted sum of values accumulated in locals four dimensions at a time (instead of a load and
// store of out per key), and a table-based exp. Head sizes that are not a multiple of 4 use the
// reference kernel. Checked against the reference in test/engine.

export function attentionForwardFast(
  out: Float32Array,
  att: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
): void {
  const { B, T, NH, NKV, HS } = shape;
  if (HS % 4 !== 0) return attentionForward(out, att, q, k, v, shape);
  const group = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  const qStride = NH * HS, kvStride = NKV * HS;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvOffset = b * T * kvStride + Math.floor(h / group) * HS;
      for (let t = 0; t < T; t++) {
        const qBase = (b * T + t) * qStride + h * HS;
        const attRow = ((b * NH + h) * T + t) * T;
        let maxScore = -Infinity;
        for (let t2 = 0, kBase = kvOffset; t2 <= t; t2++, kBase += kvStride) {
          let dot = 0;
          for (let i = 0; i < HS; i += 4) {
            dot += q[qBase + i] * k[kBase + i] + q[qBase + i + 1] * k[kBase + i + 1] + q[qBase + i + 2] * k[kBase + i + 2] + q[qBase + i + 3] * k[kBase + i + 3];
          }
          dot *= scale;
          att[attRow + t2] = dot;
          if (dot > maxScore) maxScore = dot;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = expNonPositive(att[attRow + t2] - maxScore);
          att[attRow + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let t2 = 0; t2 <= t; t2++) att[attRow + t2] *= inv;
        for (let i = 0; i < HS; i += 4) {
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          for (let t2 = 0, vBase = kvOffset + i; t2 <= t; t2++, vBase += kvStride) {
            const p = att[attRow + t2];
            a0 += p * v[vBase];
            a1 += p * v[vBase + 1];
            a2 += p * v[vBase + 2];
            a3 += p * v[vBase + 3];
          }
          out[qBase + i] = a0;
          out[qBase + i + 1] = a1;
          out[qBase + i + 2] = a2;
          out[qBase + i + 3] = a3;
        }
      }
    }
  }
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
  const group = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  const qStride = NH * HS, kvStride = NKV * HS;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvOffset = b * T * kvStride + Math.floor(h / group) * HS;
      for (let t = 0; t < T; t++) {
        const qBase = (b * T + t) * qStride + h * HS;
        const attRow = ((b * NH + h) * T + t) * T;
        // datt[t2] = dout . v[t2]; dv[t2] += att[t2] * dout
        let weighted = 0;
        for (let t2 = 0, vBase = kvOffset; t2 <= t; t2++, vBase += kvStride) {
          const p = att[attRow + t2];
          let dot = 0;
          for (let i = 0; i < HS; i += 4) {
            const g0 = dout[qBase + i], g1 = dout[qBase + i + 1], g2 = dout[qBase + i + 2], g3 = dout[qBase + i + 3];
            dot += g0 * v[vBase + i] + g1 * v[vBase + i + 1] + g2 * v[vBase + i + 2] + g3 * v[vBase + i + 3];
            dv[vBase + i] += p * g0;
            dv[vBase + i + 1] += p * g1;
            dv[vBase + i + 2] += p * g2;
            dv[vBase + i + 3] += p * g3;
          }
          scratch[t2] = dot;
          weighted += p * dot;
        }
        // softmax backward into scratch, then dq (in locals) and dk
        for (let t2 = 0; t2 <= t; t2++) scratch[t2] = att[attRow + t2] * (scratch[t2] - weighted) * scale;
        for (let i = 0; i < HS; i += 4) {
          const q0 = q[qBase + i], q1 = q[qBase + i + 1], q2 = q[qBase + i + 2], q3 = q[qBase + i + 3];
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          for (let t2 = 0, kBase = kvOffset + i; t2 <= t; t2++, kBase += kvStride) {
            const d = scratch[t2];
            a0 += d * k[kBase];
            a1 += d * k[kBase + 1];
            a2 += d * k[kBase + 2];
            a3 += d * k[kBase + 3];
            dk[kBase] += d * q0;
            dk[kBase + 1] += d * q1;
            dk[kBase + 2] += d * q2;
            dk[kBase + 3] += d * q3;
          }
          dq[qBase + i] += a0;
          dq[qBase + i + 1] += a1;
          dq[qBase + i + 2] += a2;
          dq[qBase + i + 3] += a3;
        }
      }
    }
  }
}
