import { GgufReader, metadataNumber, metadataString, type GgufMetadata } from "../../gguf/index.js";
import { ModelLoadError, UnsupportedFeatureError } from "../../errors/index.js";
import { parseLlamaConfig, type LlamaConfig } from "../config.js";
import { loraTensorName, ggufMatrixNames, OUTPUT_HEAD_LORA_TENSOR } from "./load-weights.js";
import { allocateBaseWeights, layerMatrices, matrixShape, type BaseWeights, type LayerMatrix } from "./base-weights.js";
import { baseWeightTensors } from "./load-weights.js";
import { quantizedMatrix, type QuantizedMatrix } from "./quantized-matrix.js";
import type { QuantizedBaseWeights } from "./quantized-weights.js";
import type { LoraWeights } from "../lora/lora-weights.js";

/**
 * The model config from a GGUF file's `llama.*` metadata (llama.cpp's defaults where a key is absent:
 * RoPE base 10000, epsilon 1e-5, rotated dims = head size). Only the `llama` architecture is supported.
 */
export function llamaConfigFromGguf(metadata: GgufMetadata, tensorNames: ReadonlySet<string>, embeddingDims: readonly number[], source: string): LlamaConfig {
  const architecture = metadataString(metadata, "general.architecture");
  if (architecture !== "llama") {
    throw new UnsupportedFeatureError(`${source}: architecture "${architecture ?? "(none)"}" is not supported by the training engine (only "llama")`);
  }
  const need = (key: string) => {
    const value = metadataNumber(metadata, `llama.${key}`);
    if (value === undefined) throw new ModelLoadError(source, `${source}: GGUF metadata llama.${key} is missing`);
    return value;
  };
  const dim = need("embedding_length");
  const nHeads = need("attention.head_count");
  const scalingType = metadataString(metadata, "llama.rope.scaling.type");
  let ropeFreqScale = 1;
  if (scalingType === "linear") ropeFreqScale = 1 / (metadataNumber(metadata, "llama.rope.scaling.factor") ?? 1);
  else if (scalingType !== undefined && scalingType !== "none") {
    throw new UnsupportedFeatureError(`${source}: RoPE scaling "${scalingType}" is not supported (only linear)`);
  }
  const legacyScale = metadataNumber(metadata, "llama.rope.scale_linear");
  if (scalingType === undefined && legacyScale) ropeFreqScale = 1 / legacyScale;
  return parseLlamaConfig({
    vocabSize: metadataNumber(metadata, "llama.vocab_size") ?? embeddingDims[1],
    dim,
    hiddenDim: need("feed_forward_length"),
    nLayers: need("block_count"),
    nHeads,
    nKvHeads: metadataNumber(metadata, "llama.attention.head_count_kv") ?? nHeads,
    ropeDim: metadataNumber(metadata, "llama.rope.dimension_count") ?? dim / nHeads,
    ropeTheta: metadataNumber(metadata, "llama.rope.freq_base") ?? 10000,
    ropeFreqScale,
    normEps: metadataNumber(metadata, "llama.attention.layer_norm_rms_epsilon") ?? 1e-5,
    tiedOutput: !tensorNames.has("output.weight"),
    contextLength: need("context_length"),
  });
}

/**
 * How the frozen base weights are held: decoded to float32 on load (fastest; 8 bytes per weight with
 * the transposed copy backward uses), or kept in the file's encoding and decoded one matrix at a
 * time just before use (resident memory about the file size, for a decode per matmul).
 */
export const weightStorages = ["dequantized", "quantized"] as const;
export type WeightStorage = (typeof weightStorages)[number];

export interface LoadLlamaOptions {
  weightStorage?: WeightStorage;
}

/**
 * Reads a LLaMA GGUF (F32, F16, BF16, Q8_0 or Q4_0 tensors) into the engine's frozen base weights.
 * Tensors are read one at a time, so peak memory is the weights plus one tensor.
 */
export async function loadLlamaGguf(path: string, options?: { weightStorage?: "dequantized" }): Promise<{ config: LlamaConfig; weights: BaseWeights }>;
export async function loadLlamaGguf(path: string, options: { weightStorage: "quantized" }): Promise<{ config: LlamaConfig; weights: QuantizedBaseWeights }>;
export async function loadLlamaGguf(path: string, options?: LoadLlamaOptions): Promise<{ config: LlamaConfig; weights: BaseWeights | QuantizedBaseWeights }>;
export async function loadLlamaGguf(path: string, options: LoadLlamaOptions = {}): Promise<{ config: LlamaConfig; weights: BaseWeights | QuantizedBaseWeights }> {
  const reader = await GgufReader.open(path);
  try {
    const names = new Set(reader.tensors.map((t) => t.name));
    if (!names.has("token_embd.weight")) throw new ModelLoadError(path, `${path}: tensor token_embd.weight is missing`);
    const config = llamaConfigFromGguf(reader.metadata, names, reader.tensorInfo("token_embd.weight").dims, path);
    if (options.weightStorage === "quantized") return { config, weights: await readEncodedWeights(reader, path, config) };
    const weights = allocateBaseWeights(config);
    for (const [name, view] of baseWeightTensors(config, weights)) await readTensorInto(reader, path, name, view);
    return { config, weights };
  } finally {
    await reader.close();
  }
}

async function readEncodedWeights(reader: GgufReader, path: string, config: LlamaConfig): Promise<QuantizedBaseWeights> {
  const C = config.dim, V = config.vocabSize;
  const norm = async (name: string) => {
    const view = new Float32Array(C);
    await readTensorInto(reader, path, name, view);
    return view;
  };
  const tokenEmbedding = await readEncodedMatrix(reader, path, "token_embd.weight", V, C);
  const layers: QuantizedBaseWeights["layers"] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const matrices = {} as Record<LayerMatrix, QuantizedMatrix>;
    for (const name of layerMatrices) {
      const [rows, cols] = matrixShape(config, name);
      matrices[name] = await readEncodedMatrix(reader, path, `blk.${l}.${ggufMatrixNames[name]}.weight`, rows, cols);
    }
    layers.push({ attnNorm: await norm(`blk.${l}.attn_norm.weight`), ffnNorm: await norm(`blk.${l}.ffn_norm.weight`), matrices });
  }
  const finalNorm = await norm("output_norm.weight");
  const output = config.tiedOutput ? tokenEmbedding : await readEncodedMatrix(reader, path, "output.weight", V, C);
  return { storage: "quantized", tokenEmbedding, layers, finalNorm, output };
}

async function readEncodedMatrix(reader: GgufReader, path: string, name: string, rows: number, cols: number): Promise<QuantizedMatrix> {
  if (!reader.hasTensor(name)) throw new ModelLoadError(path, `${path}: tensor ${name} is missing`);
  const info = reader.tensorInfo(name);
  if (info.dims.length !== 2 || info.dims[0] !== cols || info.dims[1] !== rows) {
    throw new ModelLoadError(path, `${path}: tensor ${name} has dims [${info.dims.join(", ")}], the model config expects [${cols}, ${rows}]`);
  }
  return quantizedMatrix(info.type, rows, cols, await reader.tensorBytes(name), `${path}: ${name}`);
}

/** Fills LoRA A/B from a llama.cpp LoRA adapter GGUF (tensors `blk.N.<proj>.weight.lora_a|b`). */
export async function loadLoraGguf(lora: LoraWeights, path: string): Promise<void> {
  const reader = await GgufReader.open(path);
  try {
    for (let l = 0; l < lora.layers.length; l++) {
      for (const [target, pair] of lora.layers[l]) {
        await readTensorInto(reader, path, loraTensorName(l, target, "a"), pair.a);
        await readTensorInto(reader, path, loraTensorName(l, target, "b"), pair.b);
      }
    }
    if (lora.head) {
      await readTensorInto(reader, path, `${OUTPUT_HEAD_LORA_TENSOR}.lora_a`, lora.head.a);
      await readTensorInto(reader, path, `${OUTPUT_HEAD_LORA_TENSOR}.lora_b`, lora.head.b);
    }
  } finally {
    await reader.close();
  }
}

async function readTensorInto(reader: GgufReader, path: string, name: string, view: Float32Array): Promise<void> {
  if (!reader.hasTensor(name)) throw new ModelLoadError(path, `${path}: tensor ${name} is missing`);
  const values = await reader.tensorFloats(name);
  if (values.length !== view.length) {
    throw new ModelLoadError(path, `${path}: tensor ${name} has ${values.length} values, the model config expects ${view.length}`);
  }
  view.set(values);
}
