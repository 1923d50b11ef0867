// Causal self-attention with grouped-query heads (reference). Query head h reads key/value head
// floor(h / (NH / NKV)), as llama.cpp and Hugging Face's repeat_kv do.
// Shapes: q/out [B, T, NH, HS], k/v [B, T, NKV, HS], att [B, NH, T, T] (softmax probabilities; only
// t2 <= t is written and read), scratch [T].

export interface AttentionShape {
  B: number;
  T: number;
  NH: number;
  NKV: number;
  HS: number;
}

export function attentionForward(
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
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qBase = ((b * T + t) * NH + h) * HS;
        const attRow = ((b * NH + h) * T + t) * T;
        let maxScore = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const kBase = ((b * T + t2) * NKV + kvh) * HS;
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
        for (let t2 = 0; t2 <= t; t2++) att[attRow + t2] *= inv;
        for (let i = 0; i < HS; i++) out[qBase + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vBase = ((b * T + t2) * NKV + kvh) * HS;
          const p = att[attRow + t2];
          for (let i = 0; i < HS; i++) out[qBase + i] += p * v[vBase + i];
        }
      }
    }
  }
}

/** dq, dk, dv += gradients; scratch [T] holds one row of dL/datt. */
export function attentionBackward(
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
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qBase = ((b * T + t) * NH + h) * HS;
        const attRow = ((b * NH + h) * T + t) * T;
        // out = sum_t2 att[t2] v[t2]  =>  datt[t2] = dout . v[t2], dv[t2] += att[t2] dout
        let weighted = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vBase = ((b * T + t2) * NKV + kvh) * HS;
          const p = att[attRow + t2];
          let dot = 0;
          for (let i = 0; i < HS; i++) {
            dot += dout[qBase + i] * v[vBase + i];
            dv[vBase + i] += p * dout[qBase + i];
          }
          scratch[t2] = dot;
          weighted += p * dot;
        }
        // softmax backward, then the scaled dot product q . k[t2]
        for (let t2 = 0; t2 <= t; t2++) {
          const kBase = ((b * T + t2) * NKV + kvh) * HS;
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
