// Llama-3 RoPE scaling: llama.cpp stores the per-frequency factors as a rope_freqs tensor, computed as
// convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors does, in torch float32 (hence the frounds).
import type { LlamaHparams } from "./hf-config.js";

const f = Math.fround;

/** The rope_freqs.weight values for a `rope_type: "llama3"` config, or undefined for any other RoPE. */
export function llama3RopeFactors(hparams: LlamaHparams): Float32Array | undefined {
  const rope = hparams.rope;
  if (rope.ropeType?.toLowerCase() !== "llama3") return undefined;
  // transformers ≥ 5 mirrors rope_theta into rope_parameters, which is where the converter reads it
  const base = hparams.ropeTheta;
  const dim = hparams.headDim;
  const factor = rope.factor ?? 8;
  const lowFreqFactor = rope.low_freq_factor ?? 1;
  const highFreqFactor = rope.high_freq_factor ?? 4;
  const oldContextLength = rope.original_max_position_embeddings ?? 8192;
  const lowFreqWavelength = oldContextLength / lowFreqFactor;
  const highFreqWavelength = oldContextLength / highFreqFactor;
  const twoPi = f(2 * Math.PI);
  const factors = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const frequency = f(1 / f(Math.pow(f(base), f((2 * i) / dim))));
    const wavelength = f(twoPi / frequency);
    if (wavelength < f(highFreqWavelength)) factors[i] = 1;
    else if (wavelength > f(lowFreqWavelength)) factors[i] = factor;
    else {
      const smooth = f(f(f(oldContextLength / wavelength) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
      factors[i] = f(1 / f(f(f(1 - smooth) / factor) + smooth));
    }
  }
  return factors;
}
