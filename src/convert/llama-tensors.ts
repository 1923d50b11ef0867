// Hugging Face LLaMA tensors → llama.cpp tensors: names (gguf-py tensor_mapping.py for MODEL_ARCH.LLAMA),
// the shape each must have given config.json, the Q/K row permutation for RoPE (LlamaModel.permute), and
// the ggml type each gets for an output type (ModelBase.prepare_tensors).
import { permuteQkRows } from "./lora/qk-permutation.js";
import type { GgmlTypeName } from "../gguf/index.js";
import { HfCheckpointError } from "./errors.js";
import type { LlamaHparams } from "./hf-config.js";

export const OUTPUT_TYPES = ["f32", "f16", "q8_0", "q4_0"] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

/** general.file_type (llama.cpp's LLAMA_FTYPE) for each output type. */
export const FILE_TYPE: Record<OutputType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

const MATRIX_TYPE: Record<OutputType, GgmlTypeName> = { f32: "F32", f16: "F16", q8_0: "Q8_0", q4_0: "Q4_0" };
const BLOCK_SIZE: Partial<Record<GgmlTypeName, number>> = { Q8_0: 32, Q4_0: 32 };

/** Tensors the converter drops, as convert_hf_to_gguf.py does (RoPE tables transformers may save). */
const SKIPPED_SUFFIXES = [".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq"];

const LAYER_TENSORS: Record<string, string> = {
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  "mlp.gate_proj": "ffn_gate",
  "mlp.up_proj": "ffn_up",
  "mlp.down_proj": "ffn_down",
  input_layernorm: "attn_norm",
  post_attention_layernorm: "ffn_norm",
};

const GLOBAL_TENSORS: Record<string, string> = {
  "model.embed_tokens": "token_embd",
  "model.norm": "output_norm",
  lm_head: "output",
};

export type RopePermutation = { heads: number };

export interface PlannedTensor {
  hfName: string;
  name: string;
  /** PyTorch order ([out, in] for a matrix). */
  shape: number[];
  type: GgmlTypeName;
  /** Rows regrouped per head so llama.cpp's RoPE (adjacent pairs) matches transformers' (halves). */
  permute?: RopePermutation;
}

export function isSkippedTensor(name: string): boolean {
  return SKIPPED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** The GGUF name of an HF tensor, or undefined when llama.cpp's LLaMA map does not know it. */
export function ggufTensorName(hfName: string, layers: number): string | undefined {
  const suffix = hfName.endsWith(".weight") ? ".weight" : hfName.endsWith(".bias") ? ".bias" : undefined;
  if (!suffix) return undefined;
  const base = hfName.slice(0, -suffix.length);
  if (Object.hasOwn(GLOBAL_TENSORS, base)) return GLOBAL_TENSORS[base] + suffix;
  const match = /^model\.layers\.(\d+)\.(.+)$/.exec(base);
  if (!match || !Object.hasOwn(LAYER_TENSORS, match[2])) return undefined;
  const layer = Number(match[1]);
  // tensor_mapping.py builds its map for block_count layers: a layer beyond it does not map
  if (String(layer) !== match[1] || layer >= layers) return undefined;
  return `blk.${layer}.${LAYER_TENSORS[match[2]]}${suffix}`;
}

/** The shape config.json implies for a GGUF-named tensor (PyTorch order). */
export function expectedShape(name: string, hparams: LlamaHparams): number[] | undefined {
  const { hiddenSize, intermediateSize, vocabSize, heads, kvHeads, headDim } = hparams;
  const isBias = name.endsWith(".bias");
  const kind = name.replace(/^blk\.\d+\./, "").replace(/\.(weight|bias)$/, "");
  const matrix = (rows: number, columns: number) => (isBias ? [rows] : [rows, columns]);
  switch (kind) {
    case "token_embd":
    case "output":
      return matrix(vocabSize, hiddenSize);
    case "output_norm":
    case "attn_norm":
    case "ffn_norm":
      return [hiddenSize];
    case "attn_q":
      return matrix(heads * headDim, hiddenSize);
    case "attn_k":
    case "attn_v":
      return matrix(kvHeads * headDim, hiddenSize);
    case "attn_output":
      return matrix(hiddenSize, heads * headDim);
    case "ffn_gate":
    case "ffn_up":
      return matrix(intermediateSize, hiddenSize);
    case "ffn_down":
      return matrix(hiddenSize, intermediateSize);
    default:
      return undefined;
  }
}

/** ModelBase.prepare_tensors' choice: 1-D tensors, norms and biases stay F32; weights take the output type. */
export function tensorType(name: string, shape: readonly number[], outputType: OutputType): GgmlTypeName {
  if (shape.length <= 1 || name.endsWith("_norm.weight") || !name.endsWith(".weight")) return "F32";
  const type = MATRIX_TYPE[outputType];
  const block = BLOCK_SIZE[type];
  // gguf-py raises QuantError for rows that are not whole blocks, and the converter falls back to F16
  if (block !== undefined && shape[shape.length - 1] % block !== 0) return "F16";
  return type;
}

/** Plans every checkpoint tensor; throws a HfCheckpointError naming the first that cannot be converted. */
export function planLlamaTensors(
  tensors: readonly { name: string; shape: number[] }[],
  hparams: LlamaHparams,
  outputType: OutputType,
): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  for (const tensor of tensors) {
    if (isSkippedTensor(tensor.name)) continue;
    // convert_hf_to_gguf.py: a bare LlamaModel's tensors lack the "model." prefix
    const hfName = hparams.architecture === "LlamaModel" && !tensor.name.startsWith("model.") ? `model.${tensor.name}` : tensor.name;
    const name = ggufTensorName(hfName, hparams.layers);
    if (!name) throw new HfCheckpointError("unmapped_tensor", tensor.name, `cannot map tensor ${tensor.name} to a llama.cpp LLaMA tensor`);
    const shape = expectedShape(name, hparams);
    if (!shape || shape.length !== tensor.shape.length || shape.some((dim, i) => dim !== tensor.shape[i])) {
      throw new HfCheckpointError(
        "shape_mismatch",
        tensor.name,
        `tensor ${tensor.name} has shape [${tensor.shape.join(", ")}] but config.json implies [${shape?.join(", ") ?? "?"}]`,
      );
    }
    const permute = name.includes(".attn_q.") ? { heads: hparams.heads } : name.includes(".attn_k.") ? { heads: hparams.kvHeads } : undefined;
    planned.push({ hfName: tensor.name, name, shape: tensor.shape, type: tensorType(name, tensor.shape, outputType), ...(permute ? { permute } : {}) });
  }
  const names = new Set(planned.map((tensor) => tensor.name));
  const required = ["token_embd.weight", "output_norm.weight"];
  for (let layer = 0; layer < hparams.layers; layer++) {
    for (const kind of Object.values(LAYER_TENSORS)) required.push(`blk.${layer}.${kind}.weight`);
  }
  for (const name of required) {
    if (!names.has(name)) throw new HfCheckpointError("missing_tensor", name, `the checkpoint has no tensor for ${name} (config.json says ${hparams.layers} layers)`);
  }
  return planned;
}

/**
 * LlamaModel.permute: weights.reshape(heads, 2, rows/heads/2, …).swapaxes(1, 2).reshape(…), i.e. within
 * each head, row i of the first half and row i of the second half become rows 2i and 2i+1 (one
 * implementation, shared with LoRA conversion, which also needs the inverse).
 */
export function permuteRopeRows(values: Float32Array, rows: number, heads: number): Float32Array {
  return permuteQkRows(values, rows, values.length / rows, heads, "to-gguf");
}
