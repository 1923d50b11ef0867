// Rotary position embedding in llama.cpp's NORM layout (the `llama` architecture): adjacent pairs
// (x[2i], x[2i+1]) of each head rotate by pos * freqScale * theta^(-2i/nRot). Hugging Face rotates
// (x[i], x[i + d/2]) instead; GGUF converters permute the Q/K weight rows so that NORM on GGUF weights
// equals rotate_half on HF weights. Shapes: x [B, T, nHeads, headSize], tables [T, nRot/2].

/** Fills cos/sin tables once per sequence length (computed in float64, stored as float32). */
export function ropeTables(
  cos: Float32Array,
  sin: Float32Array,
  T: number,
  nRot: number,
  theta: number,
  freqScale: number,
): void {
  const half = nRot / 2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * freqScale * Math.pow(theta, (-2 * i) / nRot);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
}

/** out = rope(inp); out may alias inp. Positions are 0..T-1 within each sequence of the batch. */
export function ropeForward(
  out: Float32Array,
  inp: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  B: number,
  T: number,
  nHeads: number,
  headSize: number,
  nRot: number,
): void {
  const half = nRot / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const table = t * half;
      for (let h = 0; h < nHeads; h++) {
        const base = ((b * T + t) * nHeads + h) * headSize;
        for (let i = 0; i < half; i++) {
          const c = cos[table + i], s = sin[table + i];
          const x0 = inp[base + 2 * i], x1 = inp[base + 2 * i + 1];
          out[base + 2 * i] = x0 * c - x1 * s;
          out[base + 2 * i + 1] = x0 * s + x1 * c;
        }
        if (out !== inp) for (let d = nRot; d < headSize; d++) out[base + d] = inp[base + d];
      }
    }
  }
}

/** The rotation is orthogonal, so the backward is the inverse rotation: dinp = rope^-1(dout); may alias. */
export function ropeBackward(
  dinp: Float32Array,
  dout: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  B: number,
  T: number,
  nHeads: number,
  headSize: number,
  nRot: number,
): void {
  const half = nRot / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const table = t * half;
      for (let h = 0; h < nHeads; h++) {
        const base = ((b * T + t) * nHeads + h) * headSize;
        for (let i = 0; i < half; i++) {
          const c = cos[table + i], s = sin[table + i];
          const g0 = dout[base + 2 * i], g1 = dout[base + 2 * i + 1];
          dinp[base + 2 * i] = g0 * c + g1 * s;
          dinp[base + 2 * i + 1] = -g0 * s + g1 * c;
        }
        if (dinp !== dout) for (let d = nRot; d < headSize; d++) dinp[base + d] = dout[base + d];
      }
    }
  }
}
