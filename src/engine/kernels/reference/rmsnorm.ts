// RMSNorm as in LLaMA: y = x / sqrt(mean(x^2) + eps) * w. Shapes: inp/out [N, C], weight [C], rstd [N].

/** Writes out and the per-row reciprocal RMS (kept for the backward pass). out may not alias inp. */
export function rmsnormForward(
  out: Float32Array,
  rstd: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  N: number,
  C: number,
  eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let sumSquares = 0;
    for (let c = 0; c < C; c++) sumSquares += inp[row + c] * inp[row + c];
    const s = 1 / Math.sqrt(sumSquares / C + eps);
    rstd[n] = s;
    for (let c = 0; c < C; c++) out[row + c] = inp[row + c] * s * weight[c];
  }
}

/**
 * dinp += dL/dx; dweight += dL/dw when given (null for frozen norms: the common LoRA case).
 * With g = w * dy: dx_i = s * g_i - s^3 * x_i * sum_j(g_j x_j) / C.
 */
export function rmsnormBackward(
  dinp: Float32Array,
  dweight: Float32Array | null,
  dout: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const s = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += weight[c] * dout[row + c] * inp[row + c];
    const k = (s * s * s * dot) / C;
    for (let c = 0; c < C; c++) {
      dinp[row + c] += s * weight[c] * dout[row + c] - k * inp[row + c];
    }
    if (dweight) {
      for (let c = 0; c < C; c++) dweight[c] += dout[row + c] * inp[row + c] * s;
    }
  }
}
