// SwiGLU gate of the LLaMA MLP: h = silu(gate) * up, silu(x) = x * sigmoid(x). All shapes [N*H].

export function swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    out[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

/** dgate += dout * up * silu'(gate); dup += dout * silu(gate). silu'(x) = s * (1 + x * (1 - s)). */
export function swigluBackward(
  dgate: Float32Array,
  dup: Float32Array,
  dout: Float32Array,
  gate: Float32Array,
  up: Float32Array,
  size: number,
): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] += dout[i] * g * s;
  }
}
