// `camelid convert --lora`: a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors) of a
// LlamaForCausalLM → the llama.cpp LoRA GGUF that llama.cpp's convert_lora_to_gguf.py writes for it:
// the same tensors in the same order, the same types, the same metadata. One tensor in memory at a time.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LORA_ADAPTER_KEYS, loraAdapterTypeEntries, loraAlphaEntry, writeGgufReplacing, type GgmlTypeName, type GgufTensorInput, type GgufValue } from "../../gguf/index.js";
import { SafetensorsFile, type SafetensorsTensorInfo } from "../../safetensors/index.js";
import { authorshipMetadata } from "../authorship-metadata.js";
import { readAdapterBaseModel, type AdapterBaseModel } from "./base-model.js";
import { AdapterFormatError, UnsupportedAdapterError } from "./errors.js";
import { parsePeftLoraConfig, type PeftLoraConfig } from "./peft-config.js";
import { ggufBaseTensorName, parsePeftTensorName, type AdaptedWeight } from "./peft-names.js";
import { permuteQkRows } from "./qk-permutation.js";
import { transposeMatrix } from "./transpose.js";

/** convert_lora_to_gguf.py's --outtype choices that camelid writes (the script's default is f32). */
export const loraOutTypes = ["f32", "f16", "q8_0"] as const;
export type LoraOutType = (typeof loraOutTypes)[number];

export interface PeftToGgufOptions {
  peftDir: string;
  /** The base model GGUF: its architecture, head counts (for the Q/K permutation) and tensor shapes. */
  basePath: string;
  outPath: string;
  outType?: LoraOutType;
}

export interface PeftToGgufResult {
  path: string;
  tensors: number;
  bytes: number;
  alpha: number;
  ranks: number[];
  modules: string[];
}

export const PEFT_CONFIG_FILE = "adapter_config.json";
export const PEFT_WEIGHTS_FILE = "adapter_model.safetensors";

interface LoraPairSource extends AdaptedWeight {
  base: string;
  a?: SafetensorsTensorInfo;
  b?: SafetensorsTensorInfo;
}

export function readPeftConfig(peftDir: string): PeftLoraConfig {
  const file = join(peftDir, PEFT_CONFIG_FILE);
  if (!existsSync(file)) throw new AdapterFormatError(file, `${peftDir} is not a PEFT adapter folder: ${PEFT_CONFIG_FILE} is missing`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new AdapterFormatError(file, `${file} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parsePeftLoraConfig(json, file);
}

async function openPeftWeights(peftDir: string): Promise<SafetensorsFile> {
  const file = join(peftDir, PEFT_WEIGHTS_FILE);
  if (!existsSync(file)) {
    const pickle = existsSync(join(peftDir, "adapter_model.bin"));
    throw new AdapterFormatError(
      file,
      pickle
        ? `${peftDir} holds adapter_model.bin (a pickle, which camelid does not unpickle): re-save the adapter with save_pretrained(..., safe_serialization=True)`
        : `${peftDir} has no ${PEFT_WEIGHTS_FILE}`,
    );
  }
  return SafetensorsFile.open(file);
}

/**
 * The LoRA pairs in the order convert_lora_to_gguf.py emits them: the safetensors names sorted (as
 * safetensors lists them), each adapted weight where its first factor appears. Anything that is not a
 * LoRA factor of a LLaMA module is refused by name.
 */
function collectPairs(weights: SafetensorsFile): LoraPairSource[] {
  const pairs = new Map<string, LoraPairSource>();
  for (const info of weights.tensors) {
    const ref = parsePeftTensorName(info.name);
    if (!ref) {
      if (info.name.endsWith(".base_layer.weight")) continue; // skipped by the script too
      if (info.name.includes("modules_to_save")) throw new UnsupportedAdapterError("modules_to_save", `${weights.path}: ${info.name} is a fully trained copy of a base weight (modules_to_save), not a LoRA factor`);
      if (/\.(embed_tokens|lm_head)\.weight$/.test(info.name)) {
        throw new UnsupportedAdapterError(info.name, `${weights.path}: ${info.name} is a full embedding/head weight (new tokens added while fine-tuning?): llama.cpp adapters carry only LoRA factors`);
      }
      throw new UnsupportedAdapterError(info.name, `${weights.path}: ${info.name} is not a LoRA factor of a LLaMA module (q/k/v/o/gate/up/down_proj, lm_head, embed_tokens)`);
    }
    if (info.shape.length !== 2) throw new AdapterFormatError(weights.path, `${info.name} has shape [${info.shape.join(", ")}], a LoRA factor is a matrix`);
    if (info.dtype !== "F32" && info.dtype !== "F16" && info.dtype !== "BF16") {
      throw new AdapterFormatError(weights.path, `${info.name} is ${info.dtype}; LoRA factors must be F32, F16 or BF16`);
    }
    const base = ggufBaseTensorName(ref);
    const pair = pairs.get(base) ?? { module: ref.module, layer: ref.layer, base };
    pair[ref.part === "A" ? "a" : "b"] = info;
    pairs.set(base, pair);
  }
  const complete = [...pairs.values()];
  for (const pair of complete) {
    if (!pair.a || !pair.b) {
      const [has, lacks] = pair.a ? [pair.a.name, "lora_B"] : [pair.b!.name, "lora_A"];
      throw new AdapterFormatError(weights.path, `${has} has no ${lacks} partner`);
    }
  }
  if (complete.length === 0) throw new AdapterFormatError(weights.path, `${weights.path} holds no LoRA tensors`);
  return complete;
}

/** Checks a pair against the base tensor it adapts: shapes as llama-adapter.cpp checks them, and the rank. */
function checkPairShape(pair: LoraPairSource, base: AdapterBaseModel, weightsPath: string): number {
  const a = pair.a!, b = pair.b!;
  const rank = a.shape[0];
  if (b.shape[1] !== rank) throw new AdapterFormatError(weightsPath, `${a.name} has rank ${rank} but ${b.name} has ${b.shape[1]} columns`);
  const dims = base.tensorDims.get(pair.base);
  if (!dims) {
    if (pair.module === "lm_head") {
      throw new UnsupportedAdapterError("lm_head", `the adapter has lm_head factors but ${base.path} ties its output head to token_embd (convert_lora_to_gguf.py refuses this too)`);
    }
    throw new AdapterFormatError(weightsPath, `${a.name} adapts ${pair.base}, which ${base.path} does not have (wrong base model?)`);
  }
  // PEFT: A [r, in], B [out, r] (an embedding's A is [r, vocab], its B [dim, r]); ggml dims are [in, out]
  const [inFeatures, outFeatures] = pair.module === "embed_tokens" ? [dims[1], dims[0]] : [dims[0], dims[1]];
  if (a.shape[1] !== inFeatures || b.shape[0] !== outFeatures) {
    throw new AdapterFormatError(
      weightsPath,
      `${pair.base}: the adapter's A [${a.shape.join(", ")}] and B [${b.shape.join(", ")}] do not fit ${base.path}'s tensor of ggml dims [${dims.join(", ")}] (wrong base model?)`,
    );
  }
  return rank;
}


/** gguf-py falls back to F16 when a row (ne0) is not whole Q8_0 blocks, as convert_lora_to_gguf.py logs. */
function tensorType(outType: LoraOutType, rowLength: number): GgmlTypeName {
  if (outType === "f32") return "F32";
  if (outType === "f16") return "F16";
  return rowLength % 32 === 0 ? "Q8_0" : "F16";
}

/** The pair's two GGUF tensors, their data read (and permuted or transposed) only when written. */
function ggufTensors(pair: LoraPairSource, weights: SafetensorsFile, base: AdapterBaseModel, outType: LoraOutType): GgufTensorInput[] {
  const a = pair.a!, b = pair.b!;
  const [rank, aCols] = a.shape;
  const [bRows] = b.shape;
  if (pair.module === "embed_tokens") {
    // llama.cpp gathers rows of lora_a by token (llm_build_inp_embd), so A is stored transposed
    return [
      { name: `${pair.base}.lora_a`, dims: [rank, aCols], type: tensorType(outType, rank), data: async () => transposeMatrix(await weights.readFloat32(a.name), rank, aCols) },
      { name: `${pair.base}.lora_b`, dims: [rank, bRows], type: tensorType(outType, rank), data: () => weights.readFloat32(b.name) },
    ];
  }
  const heads = pair.module === "q_proj" ? base.heads : pair.module === "k_proj" ? base.kvHeads : 0;
  const readB = async () => {
    const values = await weights.readFloat32(b.name);
    return heads > 0 ? permuteQkRows(values, bRows, rank, heads, "to-gguf") : values;
  };
  return [
    { name: `${pair.base}.lora_a`, dims: [aCols, rank], type: tensorType(outType, aCols), data: () => weights.readFloat32(a.name) },
    { name: `${pair.base}.lora_b`, dims: [rank, bRows], type: tensorType(outType, rank), data: readB },
  ];
}

/**
 * gguf-py's parameter count for an adapter (GGUFWriter.get_total_parameter_count): each pair counts as
 * the full out x in matrix it updates, negated to say "LoRA".
 */
function adapterParameterCount(pairs: LoraPairSource[]): number {
  return -pairs.reduce((sum, pair) => sum + pair.b!.shape[0] * pair.a!.shape[1], 0);
}

export async function convertPeftToGguf(options: PeftToGgufOptions): Promise<PeftToGgufResult> {
  const outType = options.outType ?? "f32";
  const config = readPeftConfig(options.peftDir);
  const base = await readAdapterBaseModel(options.basePath);
  const weights = await openPeftWeights(options.peftDir);
  try {
    const pairs = collectPairs(weights);
    const ranks = pairs.map((pair) => checkPairShape(pair, base, weights.path));
    const tensors = pairs.flatMap((pair) => ggufTensors(pair, weights, base, outType));
    const metadata: [string, GgufValue][] = [
      ["general.architecture", { type: "string", value: base.architecture }],
      ...loraAdapterTypeEntries(),
      ...authorshipMetadata(options.peftDir, adapterParameterCount(pairs)),
      loraAlphaEntry(config.lora_alpha),
    ];
    if (config.alora_invocation_tokens && config.alora_invocation_tokens.length > 0) {
      metadata.push([LORA_ADAPTER_KEYS.aloraInvocationTokens, { type: "array", value: { elementType: "uint32", values: Uint32Array.from(config.alora_invocation_tokens) } }]);
    }
    metadata.push(["general.quantization_version", { type: "uint32", value: 2 }]);
    const { bytes } = await writeGgufReplacing(options.outPath, { metadata, tensors });
    return { path: options.outPath, tensors: tensors.length, bytes, alpha: config.lora_alpha, ranks: [...new Set(ranks)], modules: [...new Set(pairs.map((pair) => pair.module))] };
  } finally {
    await weights.close();
  }
}
