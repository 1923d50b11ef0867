// Two float32 computations of llama.cpp's CPU backend (ggml-cpu as node-llama-cpp ships it for x86,
// AVX2/AVX-512 builds) step by step, for the tests that hold our engine's logits to llama.cpp's.
// Both matter because Q4_0 models put matmul inputs on exact rounding ties (see roundAsX86Q8_0).
import { ModelLoadError } from "../../src/errors/index.js";
import { floatToHalf, GgufReader, halfToFloat, metadataNumber } from "../../src/gguf/index.js";

const fround = Math.fround;
const QK8_0 = 32;

/** Round half to even, as _mm256_round_ps(_MM_ROUND_NEAREST) does. */
function roundHalfToEven(x: number): number {
  const nearest = Math.round(x);
  return nearest - x === 0.5 && nearest % 2 !== 0 ? nearest - 1 : nearest;
}

/**
 * Values as ggml-cpu's x86 Q8_0 activation quantizers leave them, decoded back to float32: per block
 * of 32, d = amax/127 stored as F16, q = round(x * (127/amax)) with halves to even. That is
 * quantize_row_q8_0 and ggml_quantize_mat_q8_0_4x8 in ggml/src/ggml-cpu/arch/x86 (the rows of a Q4_0
 * matmul go through the second when repacked to q4_0_8x8, four rows at a time, and the first
 * otherwise: the same arithmetic). It is not ggml's reference quantize_row_q8_0_ref (and not our
 * quantizeQ8_0, which follows that one): 1/d against 127/amax and halves away from zero against to
 * even. The two agree except on exact ties, which are rare for float activations but common where
 * the input is a Q4_0 embedding row after RMSNorm: its values are small multiples of one step, and
 * 127/8 makes x * 127/amax land on k + 0.5.
 */
export function roundAsX86Q8_0(values: Float32Array): Float32Array {
  if (values.length % QK8_0 !== 0) throw new RangeError(`Q8_0 rounding needs whole blocks of ${QK8_0}, got ${values.length} values`);
  const out = new Float32Array(values.length);
  for (let block = 0; block < values.length; block += QK8_0) {
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(values[block + j]));
    const d = halfToFloat(floatToHalf(fround(amax / 127)));
    const inverse = amax !== 0 ? fround(127 / amax) : 0;
    for (let j = 0; j < QK8_0; j++) out[block + j] = roundHalfToEven(fround(values[block + j] * inverse)) * d;
  }
  return out;
}

/**
 * RMSNorm times its weight in ggml's float32 steps (ggml_compute_forward_rms_norm_f32, fused with the
 * MUL): sum of float32 squares in double, mean and scale in float32, y = (x * scale) * w. Our engine
 * keeps the scale in double, which moves some outputs by an ulp: harmless, except on the ties above.
 */
export function ggmlRmsNormMul(x: Float32Array, weight: Float32Array, rows: number, C: number, eps: number): Float32Array {
  const out = new Float32Array(rows * C);
  for (let row = 0; row < rows; row++) {
    const at = row * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += fround(x[at + c] * x[at + c]);
    const mean = fround(sum / C);
    const scale = fround(1 / fround(Math.sqrt(fround(mean + fround(eps)))));
    for (let c = 0; c < C; c++) out[at + c] = fround(fround(x[at + c] * scale) * weight[c]);
  }
  return out;
}

/**
 * llama.cpp's input to layer 0's q, k and v projections for these tokens: the embedding rows after
 * blk.0.attn_norm, in ggml's arithmetic (bit for bit: nothing before it rounds differently).
 */
export async function llamaCppFirstAttentionInput(modelPath: string, tokens: number[]): Promise<Float32Array> {
  const reader = await GgufReader.open(modelPath);
  try {
    const embeddingInfo = reader.tensors.find((tensor) => tensor.name === "token_embd.weight");
    if (!embeddingInfo) throw new ModelLoadError(modelPath, `${modelPath} has no token_embd.weight`);
    const dim = embeddingInfo.dims[0];
    // the default loadLlamaGguf gives a file without the key
    const eps = metadataNumber(reader.metadata, "llama.attention.layer_norm_rms_epsilon") ?? 1e-5;
    const embedding = await reader.tensorFloats("token_embd.weight");
    const rows = new Float32Array(tokens.length * dim);
    tokens.forEach((token, row) => rows.set(embedding.subarray(token * dim, (token + 1) * dim), row * dim));
    return ggmlRmsNormMul(rows, await reader.tensorFloats("blk.0.attn_norm.weight"), tokens.length, dim, eps);
  } finally {
    await reader.close();
  }
}
