import type { GgufMetadata, GgufTensorInput } from "../gguf/index.js";
import { loraAdapterTypeEntries, loraAlphaEntry, writeGgufReplacing } from "../gguf/index.js";
import { loraBaseTensorName, OUTPUT_HEAD_LORA_TENSOR, type LlamaConfig, type LoraPair, type LoraWeights } from "../engine/index.js";
import { AdapterExportError } from "./errors.js";

export interface AdapterExportInfo {
  /** Written as general.name. */
  name: string;
  /** The base model's general.architecture; llama.cpp refuses an adapter whose architecture differs. */
  architecture: string;
}

/**
 * The adapter's tensors in llama.cpp's layout (llama-adapter.cpp / convert_lora_to_gguf.py):
 * `blk.N.<proj>.weight.lora_a` with ggml dims [in, r] and `.lora_b` with dims [r, out], i.e. row-major
 * A [r, in] and B [out, r], exactly the engine's layout, so the data is written as it is.
 */
export function adapterTensors(lora: LoraWeights): GgufTensorInput[] {
  const tensors: GgufTensorInput[] = [];
  const { rank } = lora.config;
  for (const { name, pair } of namedPairs(lora)) {
    tensors.push({ name: `${name}.lora_a`, dims: [pair.inFeatures, rank], type: "F32", data: pair.a.slice() });
    tensors.push({ name: `${name}.lora_b`, dims: [rank, pair.outFeatures], type: "F32", data: pair.b.slice() });
  }
  return tensors;
}

/**
 * Every pair with the base tensor it adapts. The output head is `output.weight` even when the base
 * ties it to token_embd: llama.cpp applies an output.weight adapter to the output matmul only.
 */
export function namedPairs(lora: LoraWeights): { name: string; pair: LoraPair }[] {
  const named = lora.layers.flatMap((pairs, layer) => [...pairs].map(([target, pair]) => ({ name: loraBaseTensorName(layer, target), pair })));
  if (lora.head) named.push({ name: OUTPUT_HEAD_LORA_TENSOR, pair: lora.head });
  return named;
}

/**
 * Refuses adapters that would load but do nothing or do harm: no tensors, a B matrix that is all zero
 * (its update is zero: the training never reached it), or a non-finite value anywhere.
 */
export function checkAdapter(lora: LoraWeights, config: LlamaConfig): void {
  const pairs = namedPairs(lora);
  if (pairs.length === 0) throw new AdapterExportError("the adapter has no LoRA tensors");
  if (lora.layers.length !== config.nLayers) throw new AdapterExportError(`the adapter has ${lora.layers.length} layers, the model ${config.nLayers}`);
  for (const { name, pair } of pairs) {
    for (const [part, values] of [["a", pair.a], ["b", pair.b]] as const) {
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) throw new AdapterExportError(`${name}.lora_${part} holds a non-finite value at ${i}`);
      }
    }
    if (!pair.b.some((value) => value !== 0)) {
      throw new AdapterExportError(`${name}.lora_b is all zero: the adapter would change nothing (did training run any step?)`);
    }
  }
}

export function adapterMetadata(lora: LoraWeights, info: AdapterExportInfo): GgufMetadata {
  // key order as convert_lora_to_gguf.py writes it; alpha / rank is the engine's own scale
  return new Map([
    ["general.architecture", { type: "string", value: info.architecture }],
    ...loraAdapterTypeEntries(),
    ["general.name", { type: "string", value: info.name }],
    loraAlphaEntry(lora.config.alpha),
  ]);
}

/** Checks the adapter, then writes it as a llama.cpp LoRA adapter GGUF. Returns the tensor count. */
export async function writeLoraAdapterGguf(path: string, lora: LoraWeights, config: LlamaConfig, info: AdapterExportInfo): Promise<{ tensors: number; bytes: number }> {
  checkAdapter(lora, config);
  const tensors = adapterTensors(lora);
  const { bytes } = await writeGgufReplacing(path, { metadata: adapterMetadata(lora, info), tensors });
  return { tensors: tensors.length, bytes };
}
