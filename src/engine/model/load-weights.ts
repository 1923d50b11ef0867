import { ModelLoadError } from "../../errors/index.js";
import type { LlamaConfig } from "../config.js";
import type { LoraWeights } from "../lora/lora-weights.js";
import { targetMatrix, type LoraTarget } from "../lora/lora-config.js";
import { allocateBaseWeights, layerMatrices, type BaseWeights, type LayerMatrix } from "./base-weights.js";

// Tensor names as llama.cpp's GGUF files spell them; the loaders take any lookup by name so the same
// mapping serves GGUF files, golden files and adapters.

/** Returns the tensor's values as float32 (dequantised if needed), or undefined when absent. */
export type TensorLookup = (name: string) => Float32Array | undefined;

export const ggufMatrixNames: Record<LayerMatrix, string> = {
  wq: "attn_q",
  wk: "attn_k",
  wv: "attn_v",
  wo: "attn_output",
  wGate: "ffn_gate",
  wUp: "ffn_up",
  wDown: "ffn_down",
};

/** The base tensor a layer's LoRA pair adapts (`blk.N.attn_q.weight`). */
export const loraBaseTensorName = (layer: number, target: LoraTarget) => `blk.${layer}.${ggufMatrixNames[targetMatrix[target]]}.weight`;

export const loraTensorName = (layer: number, target: LoraTarget, part: "a" | "b") => `${loraBaseTensorName(layer, target)}.lora_${part}`;

/** The output head's adapter tensors (also for a head tied to token_embd: llama.cpp applies them to the output matmul). */
export const OUTPUT_HEAD_LORA_TENSOR = "output.weight";

function copyTensor(source: string, lookup: TensorLookup, name: string, into: Float32Array): void {
  const values = lookup(name);
  if (!values) throw new ModelLoadError(source, `${source}: tensor ${name} is missing`);
  if (values.length !== into.length) {
    throw new ModelLoadError(source, `${source}: tensor ${name} has ${values.length} values, the config expects ${into.length}`);
  }
  into.set(values);
}

/** Every base tensor's GGUF name with the view it is loaded into (the output head only when untied). */
export function baseWeightTensors(config: LlamaConfig, weights: BaseWeights): [string, Float32Array][] {
  const list: [string, Float32Array][] = [["token_embd.weight", weights.tokenEmbedding]];
  for (let l = 0; l < config.nLayers; l++) {
    const layer = weights.layers[l];
    list.push([`blk.${l}.attn_norm.weight`, layer.attnNorm], [`blk.${l}.ffn_norm.weight`, layer.ffnNorm]);
    for (const matrix of layerMatrices) list.push([`blk.${l}.${ggufMatrixNames[matrix]}.weight`, layer[matrix]]);
  }
  list.push(["output_norm.weight", weights.finalNorm]);
  if (!config.tiedOutput) list.push(["output.weight", weights.output]);
  return list;
}

/** Allocates the base weights and fills them from GGUF-named tensors. */
export function loadBaseWeights(config: LlamaConfig, lookup: TensorLookup, source: string): BaseWeights {
  const weights = allocateBaseWeights(config);
  for (const [name, view] of baseWeightTensors(config, weights)) copyTensor(source, lookup, name, view);
  return weights;
}

/** Fills LoRA A/B from tensors named as in llama.cpp adapters (`blk.N.attn_q.weight.lora_a`). */
export function loadLoraWeights(lora: LoraWeights, lookup: TensorLookup, source: string): void {
  lora.layers.forEach((pairs, l) => {
    for (const [target, pair] of pairs) {
      copyTensor(source, lookup, loraTensorName(l, target, "a"), pair.a);
      copyTensor(source, lookup, loraTensorName(l, target, "b"), pair.b);
    }
  });
  if (lora.head) {
    copyTensor(source, lookup, `${OUTPUT_HEAD_LORA_TENSOR}.lora_a`, lora.head.a);
    copyTensor(source, lookup, `${OUTPUT_HEAD_LORA_TENSOR}.lora_b`, lora.head.b);
  }
}
