// Token embedding: a row gather. Shapes: tokens [N], table [V, C], out [N, C] (N = B*T).

/** out[n, :] = table[tokens[n], :]. Token ids are checked once at the model edge, not here. */
export function embeddingForward(
  out: Float32Array,
  tokens: Int32Array,
  table: Float32Array,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const src = tokens[n] * C;
    const dst = n * C;
    for (let c = 0; c < C; c++) out[dst + c] = table[src + c];
  }
}

/** dtable[tokens[n], :] += dout[n, :]. Only needed if the embedding were trainable; kept for the pair. */
export function embeddingBackward(
  dtable: Float32Array,
  dout: Float32Array,
  tokens: Int32Array,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const dst = tokens[n] * C;
    const src = n * C;
    for (let c = 0; c < C; c++) dtable[dst + c] += dout[src + c];
  }
}
