// Random-weight Hugging Face LLaMA folders (config.json, generation_config.json, safetensors, tokenizer
// files copied from a folder): seeded, so tests, the golden script (which loads them into transformers)
// and benchmarks rebuild byte-identical checkpoints without Python.
import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { tensorRandom } from "../gguf/seeded-random.js";
import { writeSafetensors, writeShardedSafetensors, type FloatDtype, type SafetensorsTensorInput } from "../safetensors/index.js";

export interface RandomHfLlamaOptions {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  /** dtype the weights are stored in (config.json's torch_dtype says the same). */
  dtype: FloatDtype;
  seed: number;
  ropeTheta?: number;
  rmsNormEps?: number;
  maxPositionEmbeddings?: number;
  /** config.json's rope_scaling, written as given (e.g. {rope_type: "linear", factor: 2}). */
  ropeScaling?: Record<string, unknown>;
  /** Writes shards of at most this many bytes with model.safetensors.index.json, instead of one file. */
  maxShardBytes?: number;
  /** generation_config.json's contents; none is written when absent. */
  generationConfig?: Record<string, unknown>;
  /** Files copied into the folder (tokenizer.model, tokenizer.json, tokenizer_config.json …). */
  tokenizerFiles?: string[];
  bosTokenId?: number;
  eosTokenId?: number;
}

/** The checkpoint's tensors in Hugging Face naming and PyTorch shapes ([out, in] for matrices). */
export function randomHfLlamaTensors(options: RandomHfLlamaOptions): SafetensorsTensorInput[] {
  const { hiddenSize, intermediateSize, heads, kvHeads, vocabSize } = options;
  const headDim = hiddenSize / heads;
  const tensors: SafetensorsTensorInput[] = [];
  const matrix = (name: string, rows: number, columns: number, scale = 1) =>
    tensors.push({ name, dtype: options.dtype, shape: [rows, columns], data: () => uniform(name, rows * columns, scale / Math.sqrt(columns), 0, options.seed) });
  // Norm weights near 1 but not 1, so a norm written to the wrong place changes the logits.
  const norm = (name: string) => tensors.push({ name, dtype: options.dtype, shape: [hiddenSize], data: () => uniform(name, hiddenSize, 0.1, 1, options.seed) });
  matrix("model.embed_tokens.weight", vocabSize, hiddenSize, 1);
  for (let layer = 0; layer < options.layers; layer++) {
    const prefix = `model.layers.${layer}`;
    matrix(`${prefix}.self_attn.q_proj.weight`, heads * headDim, hiddenSize, 2);
    matrix(`${prefix}.self_attn.k_proj.weight`, kvHeads * headDim, hiddenSize, 2);
    matrix(`${prefix}.self_attn.v_proj.weight`, kvHeads * headDim, hiddenSize);
    matrix(`${prefix}.self_attn.o_proj.weight`, hiddenSize, heads * headDim);
    matrix(`${prefix}.mlp.gate_proj.weight`, intermediateSize, hiddenSize);
    matrix(`${prefix}.mlp.up_proj.weight`, intermediateSize, hiddenSize);
    matrix(`${prefix}.mlp.down_proj.weight`, hiddenSize, intermediateSize);
    norm(`${prefix}.input_layernorm.weight`);
    norm(`${prefix}.post_attention_layernorm.weight`);
  }
  norm("model.norm.weight");
  if (!options.tiedEmbeddings) matrix("lm_head.weight", vocabSize, hiddenSize, 3);
  return tensors;
}

/** Uniform values with standard deviation `std` around `center`, from a stream keyed by seed and tensor name. */
function uniform(name: string, count: number, std: number, center: number, seed: number): Float32Array {
  const random = tensorRandom(name, seed);
  const amplitude = std * Math.sqrt(3);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = center + (random() * 2 - 1) * amplitude;
  return values;
}

const TORCH_DTYPE: Record<FloatDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/** config.json as transformers' LlamaConfig writes the fields llama.cpp reads. */
export function randomHfLlamaConfig(options: RandomHfLlamaOptions): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: options.hiddenSize,
    intermediate_size: options.intermediateSize,
    num_hidden_layers: options.layers,
    num_attention_heads: options.heads,
    num_key_value_heads: options.kvHeads,
    vocab_size: options.vocabSize,
    max_position_embeddings: options.maxPositionEmbeddings ?? 2048,
    rms_norm_eps: options.rmsNormEps ?? 1e-5,
    rope_theta: options.ropeTheta ?? 10000,
    rope_scaling: options.ropeScaling ?? null,
    hidden_act: "silu",
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: options.tiedEmbeddings,
    bos_token_id: options.bosTokenId ?? 1,
    eos_token_id: options.eosTokenId ?? 2,
    torch_dtype: TORCH_DTYPE[options.dtype],
  };
}

/** Writes the folder; returns the weight files written. */
export async function writeRandomHfLlama(folder: string, options: RandomHfLlamaOptions): Promise<{ weightFiles: string[] }> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, "config.json"), JSON.stringify(randomHfLlamaConfig(options), null, 2) + "\n");
  if (options.generationConfig) await writeFile(join(folder, "generation_config.json"), JSON.stringify(options.generationConfig, null, 2) + "\n");
  for (const file of options.tokenizerFiles ?? []) {
    const target = join(folder, basename(file));
    await copyFile(file, target);
    await chmod(target, 0o644); // ../shared is read-only; the copy must stay writable (and removable)
  }
  const tensors = randomHfLlamaTensors(options);
  const metadata = { format: "pt" };
  if (options.maxShardBytes !== undefined) {
    // Shards in name order, so the converter meets the tensors in the order a single file gives them.
    const byName = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { files } = await writeShardedSafetensors(folder, byName, { maxShardBytes: options.maxShardBytes, metadata });
    return { weightFiles: files };
  }
  await writeSafetensors(join(folder, "model.safetensors"), tensors, metadata);
  return { weightFiles: ["model.safetensors"] };
}
