// llama.cpp's converters reorder the rows of every Q and K head (convert_hf_to_gguf.py LlamaModel.permute:
// reshape(heads, 2, head_dim / 2, cols).swapaxes(1, 2)) so that its NORM RoPE, which rotates adjacent
// pairs, computes what Hugging Face's rotate_half computes on the two halves of each head. A LoRA B
// matrix of q_proj/k_proj is an output-side factor of the same weight, so its rows move the same way
// (convert_lora_to_gguf.py's LoraTorchTensor.permute applies the permutation to B only).

/** Which way the rows move: Hugging Face (halves) → GGUF (interleaved pairs), or back. */
export type QkPermutationDirection = "to-gguf" | "to-hugging-face";

/**
 * The rows of a row-major [rows, cols] matrix moved for RoPE; `heads` is the attention head count for
 * Q and the KV head count for K. Returns a new array.
 */
export function permuteQkRows(values: Float32Array, rows: number, cols: number, heads: number, direction: QkPermutationDirection): Float32Array {
  if (rows % (heads * 2) !== 0 || values.length !== rows * cols) {
    throw new RangeError(`cannot permute a [${rows}, ${cols}] matrix (${values.length} values) for RoPE over ${heads} heads`);
  }
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(values.length);
  for (let head = 0; head < heads; head++) {
    for (let i = 0; i < half; i++) {
      for (let pair = 0; pair < 2; pair++) {
        const halves = head * headDim + pair * half + i; // Hugging Face row
        const interleaved = head * headDim + 2 * i + pair; // GGUF row
        const [from, to] = direction === "to-gguf" ? [halves, interleaved] : [interleaved, halves];
        out.set(values.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}
