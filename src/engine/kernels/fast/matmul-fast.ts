// Fast matmuls in plain JS: 4x4 register blocks so each loaded value feeds four multiply-adds.
// Same shapes and semantics as ../reference/matmul.ts (the oracle); test/engine checks they agree.

/** out[N, OC] = inp[N, C] @ weight[OC, C]^T, or out += … when accumulate. */
export function matmulForwardFast(
  out: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  N: number,
  C: number,
  OC: number,
  accumulate = false,
): void {
  const N4 = N - (N % 4);
  const O4 = OC - (OC % 4);
  for (let n = 0; n < N4; n += 4) {
    const i0 = n * C, i1 = i0 + C, i2 = i1 + C, i3 = i2 + C;
    for (let o = 0; o < O4; o += 4) {
      const w0 = o * C, w1 = w0 + C, w2 = w1 + C, w3 = w2 + C;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let c = 0; c < C; c++) {
        const x0 = inp[i0 + c], x1 = inp[i1 + c], x2 = inp[i2 + c], x3 = inp[i3 + c];
        const a = weight[w0 + c], b = weight[w1 + c], d = weight[w2 + c], e = weight[w3 + c];
        s00 += x0 * a; s01 += x0 * b; s02 += x0 * d; s03 += x0 * e;
        s10 += x1 * a; s11 += x1 * b; s12 += x1 * d; s13 += x1 * e;
        s20 += x2 * a; s21 += x2 * b; s22 += x2 * d; s23 += x2 * e;
        s30 += x3 * a; s31 += x3 * b; s32 += x3 * d; s33 += x3 * e;
      }
      const r0 = n * OC + o, r1 = r0 + OC, r2 = r1 + OC, r3 = r2 + OC;
      if (accumulate) {
        out[r0] += s00; out[r0 + 1] += s01; out[r0 + 2] += s02; out[r0 + 3] += s03;
        out[r1] += s10; out[r1 + 1] += s11; out[r1 + 2] += s12; out[r1 + 3] += s13;
        out[r2] += s20; out[r2 + 1] += s21; out[r2 + 2] += s22; out[r2 + 3] += s23;
        out[r3] += s30; out[r3 + 1] += s31; out[r3 + 2] += s32; out[r3 + 3] += s33;
      } else {
        out[r0] = s00; out[r0 + 1] = s01; out[r0 + 2] = s02; out[r0 + 3] = s03;
        out[r1] = s10; out[r1 + 1] = s11; out[r1 + 2] = s12; out[r1 + 3] = s13;
        out[r2] = s20; out[r2 + 1] = s21; out[r2 + 2] = s22; out[r2 + 3] = s23;
        out[r3] = s30; out[r3 + 1] = s31; out[r3 + 2] = s32; out[r3 + 3] = s33;
      }
    }
    for (let o = O4; o < OC; o++) {
      for (let r = n; r < n + 4; r++) dotInto(out, inp, weight, r, o, C, OC, accumulate);
    }
  }
  for (let n = N4; n < N; n++) {
    for (let o = 0; o < OC; o++) dotInto(out, inp, weight, n, o, C, OC, accumulate);
  }
}

function dotInto(
  out: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  n: number,
  o: number,
  C: number,
  OC: number,
  accumulate: boolean,
): void {
  const i = n * C, w = o * C;
  let sum = 0;
  for (let c = 0; c < C; c++) sum += inp[i + c] * weight[w + c];
  out[n * OC + o] = accumulate ? out[n * OC + o] + sum : sum;
}

/**
 * dinp[N, C] += dout[N, OC] @ weight[OC, C], as four-row axpys. Meant for small OC (a LoRA rank);
 * for large frozen weights use matmulForwardFast with the transposed weight instead.
 */
export function matmulBackwardInputFast(
  dinp: Float32Array,
  dout: Float32Array,
  weight: Float32Array,
  N: number,
  C: number,
  OC: number,
): void {
  const O4 = OC - (OC % 4);
  for (let n = 0; n < N; n++) {
    const d = n * OC, row = n * C;
    for (let o = 0; o < O4; o += 4) {
      const a0 = dout[d + o], a1 = dout[d + o + 1], a2 = dout[d + o + 2], a3 = dout[d + o + 3];
      const w0 = o * C, w1 = w0 + C, w2 = w1 + C, w3 = w2 + C;
      for (let c = 0; c < C; c++) {
        dinp[row + c] += a0 * weight[w0 + c] + a1 * weight[w1 + c] + a2 * weight[w2 + c] + a3 * weight[w3 + c];
      }
    }
    for (let o = O4; o < OC; o++) {
      const a = dout[d + o], w = o * C;
      for (let c = 0; c < C; c++) dinp[row + c] += a * weight[w + c];
    }
  }
}

/** dweight[OC, C] += dout[N, OC]^T @ inp[N, C], four rows of the batch at a time. */
export function matmulBackwardWeightFast(
  dweight: Float32Array,
  dout: Float32Array,
  inp: Float32Array,
  N: number,
  C: number,
  OC: number,
): void {
  const N4 = N - (N % 4);
  for (let n = 0; n < N4; n += 4) {
    const d0 = n * OC, d1 = d0 + OC, d2 = d1 + OC, d3 = d2 + OC;
    const i0 = n * C, i1 = i0 + C, i2 = i1 + C, i3 = i2 + C;
    for (let o = 0; o < OC; o++) {
      const a0 = dout[d0 + o], a1 = dout[d1 + o], a2 = dout[d2 + o], a3 = dout[d3 + o];
      const w = o * C;
      for (let c = 0; c < C; c++) {
        dweight[w + c] += a0 * inp[i0 + c] + a1 * inp[i1 + c] + a2 * inp[i2 + c] + a3 * inp[i3 + c];
      }
    }
  }
  for (let n = N4; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      const a = dout[n * OC + o], w = o * C, i = n * C;
      for (let c = 0; c < C; c++) dweight[w + c] += a * inp[i + c];
    }
  }
}
