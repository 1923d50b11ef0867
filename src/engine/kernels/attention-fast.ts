import type { AttentionShape } from "./attention.js";

// The same causal GQA attention as ./attention.ts with the index arithmetic hoisted out of the inner
// loops and the query head's row kept in locals' reach; checked against the reference in test/engine.

export function attentionForwardFast(
  out: Float32Array,
  att: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  shape: AttentionShape,
): void {
  const { B, T, NH, NKV, HS } = shape;
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
        let kBase = kvOffset;
        for (let t2 = 0; t2 <= t; t2++, kBase += kvStride) {
          let dot = 0;
          for (let i = 0; i < HS; i++) dot += q[qBase + i] * k[kBase + i];
          dot *= scale;
          att[attRow + t2] = dot;
          if (dot > maxScore) maxScore = dot;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(att[attRow + t2] - maxScore);
          att[attRow + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let i = 0; i < HS; i++) out[qBase + i] = 0;
        let vBase = kvOffset;
        for (let t2 = 0; t2 <= t; t2++, vBase += kvStride) {
          const p = att[attRow + t2] * inv;
          att[attRow + t2] = p;
          for (let i = 0; i < HS; i++) out[qBase + i] += p * v[vBase + i];
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
  const group = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  const qStride = NH * HS, kvStride = NKV * HS;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvOffset = b * T * kvStride + Math.floor(h / group) * HS;
      for (let t = 0; t < T; t++) {
        const qBase = (b * T + t) * qStride + h * HS;
        const attRow = ((b * NH + h) * T + t) * T;
        let weighted = 0;
        let vBase = kvOffset;
        for (let t2 = 0; t2 <= t; t2++, vBase += kvStride) {
          const p = att[attRow + t2];
          let dot = 0;
          for (let i = 0; i < HS; i++) {
            const g = dout[qBase + i];
            dot += g * v[vBase + i];
            dv[vBase + i] += p * g;
          }
          scratch[t2] = dot;
          weighted += p * dot;
        }
        let kBase = kvOffset;
        for (let t2 = 0; t2 <= t; t2++, kBase += kvStride) {
          const dscore = att[attRow + t2] * (scratch[t2] - weighted) * scale;
          for (let i = 0; i < HS; i++) {
            dq[qBase + i] += dscore * k[kBase + i];
            dk[kBase + i] += dscore * q[qBase + i];
          }
        }
      }
    }
  }
}
