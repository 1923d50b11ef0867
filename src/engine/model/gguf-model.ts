import { GgufReader, metadataNumber, metadataString, type GgufMetadata } from "../../gguf/index.js";
import { ModelLoadError, UnsupportedFeatureError } from "../../errors/index.js";
import { parseLlamaConfig, type LlamaConfig } from "../config.js";
import { loraTensorName } from "./load-weights.js";
import { allocateBaseWeights, refreshTransposes, type BaseWeights } from "./base-weights.js";
import { baseWeightTensors } from "./load-weights.js";
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
 * Reads a LLaMA GGUF (F32, F16, BF16, Q8_0 or Q4_0 tensors, dequantised on load) into the engine's
 * frozen base weights. Tensors are read one at a time, so peak memory is the weights plus one tensor.
 */
export async function loadLlamaGguf(path: string): Promise<{ config: LlamaConfig; weights: BaseWeights }> {
  const reader = await GgufReader.open(path);
  try {
    const names = new Set(reader.tensors.map((t) => t.name));
    if (!names.has("token_embd.weight")) throw new ModelLoadError(path, `${path}: tensor token_embd.weight is missing`);
    const config = llamaConfigFromGguf(reader.metadata, names, reader.tensorInfo("token_embd.weight").dims, path);
    const weights = allocateBaseWeights(config);
    for (const [name, view] of baseWeightTensors(config, weights)) await readTensorInto(reader, path, name, view);
    refreshTransposes(config, weights);
    return { config, weights };
  } finally {
    await reader.close();
  }
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
