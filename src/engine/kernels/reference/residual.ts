// Residual connection: out = a + b, all [N*C]. Backward is a copy of the gradient to both inputs,
// done by accumulating into the caller's gradient buffers.

export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array, size: number): void {
  for (let i = 0; i < size; i++) out[i] = a[i] + b[i];
}

/** da += dout; db += dout. */
export function residualBackward(da: Float32Array, db: Float32Array, dout: Float32Array, size: number): void {
  for (let i = 0; i < size; i++) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}
