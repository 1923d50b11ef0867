// The fast causal GQA attention of ./attention-fast.ts over a RANGE of (batch, key/value head) units,
// so two threads can split one call: a unit owns its query heads' rows of out/att/dq and its key/value
// head's rows of dk/dv, so units never write the same memory. Dot products are unrolled by 4, the
// weighted sums kept in locals four dimensions at a time, and exp is the table-based expNonPositive of
// ./fast-exp.ts inlined. Self-contained on purpose (no outer references, no inner functions): the
// source text of these functions also runs inside the helper thread (./parallel-attention.ts).
// Needs HS % 4 === 0; callers use the reference kernel otherwise.

/** e^(-k/64) for k = 0..88*64, the table expNonPositive uses (passed in so the worker can build its own). */
export function buildExpTable(): Float64Array {
  const table = new Float64Array(88 * 64 + 1);
  for (let k = 0; k < table.length; k++) table[k] = Math.exp(-k / 64);
  return table;
}

export function attentionForwardRange(
  out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  B: number, T: number, NH: number, NKV: number, HS: number, unitStart: number, unitEnd: number, expTable: Float64Array,
): void {
  const group = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  const qStride = NH * HS, kvStride = NKV * HS;
  const limit = 88 * 64;
  for (let unit = unitStart; unit < unitEnd; unit++) {
    const b = Math.floor(unit / NKV), kvh = unit % NKV;
    const kvOffset = b * T * kvStride + kvh * HS;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
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
          // expNonPositive(att - max), inlined
          const y = -(att[attRow + t2] - maxScore) * 64;
          let e: number;
          if (!(y < limit)) e = y === y ? 0 : Number.NaN;
          else {
            const j = y | 0;
            const r = (y - j) * (1 / 64);
            e = expTable[j] * (1 - r * (1 - r * (0.5 - r * (1 / 6 - r * (1 / 24)))));
          }
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

/** dq, dk, dv += the attention's input gradients for units [unitStart, unitEnd); scratch holds T floats. */
export function attentionBackwardRange(
  dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array,
  B: number, T: number, NH: number, NKV: number, HS: number, unitStart: number, unitEnd: number,
): void {
  const group = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  const qStride = NH * HS, kvStride = NKV * HS;
  for (let unit = unitStart; unit < unitEnd; unit++) {
    const b = Math.floor(unit / NKV), kvh = unit % NKV;
    const kvOffset = b * T * kvStride + kvh * HS;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
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
