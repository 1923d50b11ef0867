// Reference matmuls (the oracle): a linear layer without bias, as in PyTorch and GGUF.
// Shapes: inp [N, C], weight [OC, C] (row-major, one output channel per row), out [N, OC].

/** out = inp @ weight^T (or out += … when accumulate). */
export function matmulForward(
  out: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  N: number,
  C: number,
  OC: number,
  accumulate = false,
): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += inp[n * C + c] * weight[o * C + c];
      out[n * OC + o] = accumulate ? out[n * OC + o] + sum : sum;
    }
  }
}

/** dinp += dout @ weight. dout [N, OC], dinp [N, C]. */
export function matmulBackwardInput(
  dinp: Float32Array,
  dout: Float32Array,
  weight: Float32Array,
  N: number,
  C: number,
  OC: number,
): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let o = 0; o < OC; o++) sum += dout[n * OC + o] * weight[o * C + c];
      dinp[n * C + c] += sum;
    }
  }
}

/** dweight += dout^T @ inp. dweight [OC, C]. */
export function matmulBackwardWeight(
  dweight: Float32Array,
  dout: Float32Array,
  inp: Float32Array,
  N: number,
  C: number,
  OC: number,
): void {
  for (let o = 0; o < OC; o++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += dout[n * OC + o] * inp[n * C + c];
      dweight[o * C + c] += sum;
    }
  }
}

/** weightT[c, o] = weight[o, c]: frozen weights are transposed once so the input gradient is a forward matmul. */
export function transposeInto(weightT: Float32Array, weight: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) weightT[c * rows + r] = weight[r * cols + c];
  }
}
