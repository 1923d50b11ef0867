// The GGUF metadata convert_hf_to_gguf.py writes for a LLaMA model, in its order: general.* (type,
// sampling defaults from generation_config.json, what the folder name says, size label), the llama.* hyperparameters, the file
// type and the quantization version; the vocabulary's tokenizer.* entries follow.
import type { GgufValue } from "../gguf/index.js";
import type { LlamaHparams } from "./hf-config.js";
import { FILE_TYPE, type OutputType } from "./llama-tensors.js";
import { idToTitle, modelIdComponents } from "./model-name.js";

export type MetadataEntry = [string, GgufValue];

const string = (value: string): GgufValue => ({ type: "string", value });
const u32 = (value: number): GgufValue => ({ type: "uint32", value });
const i32 = (value: number): GgufValue => ({ type: "int32", value });
const f32 = (value: number): GgufValue => ({ type: "float32", value });

/** gguf-py's GGML_QUANT_VERSION. */
const QUANTIZATION_VERSION = 2;

/** Metadata.load's generation_config.json keys → general.sampling.*, in gguf-py's order and types. */
const SAMPLING_KEYS: [key: string, sources: string[], type: "string" | "int32" | "float32"][] = [
  ["sequence", ["sequence"], "string"],
  ["top_k", ["top_k"], "int32"],
  ["top_p", ["top_p"], "float32"],
  ["min_p", ["min_p"], "float32"],
  ["xtc_probability", ["xtc_probability"], "float32"],
  ["xtc_threshold", ["xtc_threshold"], "float32"],
  ["temp", ["temperature"], "float32"],
  ["penalty_last_n", ["penalty_last_n"], "int32"],
  ["penalty_repeat", ["penalty_repeat", "repetition_penalty"], "float32"],
  ["mirostat", ["mirostat"], "int32"],
  ["mirostat_tau", ["mirostat_tau"], "float32"],
  ["mirostat_eta", ["mirostat_eta"], "float32"],
];

export function samplingMetadata(generationConfig: Record<string, unknown> | undefined): MetadataEntry[] {
  if (!generationConfig) return [];
  const entries: MetadataEntry[] = [];
  for (const [key, sources, type] of SAMPLING_KEYS) {
    const source = sources.find((name) => generationConfig[name] !== undefined && generationConfig[name] !== null);
    if (source === undefined) continue;
    const value = generationConfig[source];
    if (type === "string" && typeof value === "string") entries.push([`general.sampling.${key}`, string(value)]);
    else if (type === "int32" && Number.isInteger(value)) entries.push([`general.sampling.${key}`, i32(value as number)]);
    else if (type === "float32" && typeof value === "number") entries.push([`general.sampling.${key}`, f32(value)]);
  }
  return entries;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** gguf-py model_weight_count_rounded_notation: 4_213_760 parameters → "4.2M". */
export function sizeLabel(parameters: number, minDigits = 2): string {
  const [scaled, suffix] =
    parameters > 1e12 ? [parameters * 1e-12, "T"] : parameters > 1e9 ? [parameters * 1e-9, "B"] : parameters > 1e6 ? [parameters * 1e-6, "M"] : [parameters * 1e-3, "K"];
  const integerDigits = String(roundHalfEven(scaled)).replace(/^0+/, "").length;
  return `${scaled.toFixed(Math.max(minDigits - integerDigits, 0))}${suffix}`;
}

export interface ModelMetadataInput {
  hparams: LlamaHparams;
  outputType: OutputType;
  /** The folder name, read as convert_hf_to_gguf.py reads it (name, basename, finetune, version, size label). */
  folderName: string;
  /** general.name instead of the one the folder name gives (the script's --model-name). */
  name?: string;
  parameterCount: number;
  generationConfig?: Record<string, unknown>;
}

/** Everything before the tokenizer.* entries. */
export function llamaModelMetadata(input: ModelMetadataInput): MetadataEntry[] {
  const { hparams } = input;
  const arch = "llama";
  const entries: MetadataEntry[] = [
    ["general.architecture", string(arch)],
    ["general.type", string("model")],
    ...samplingMetadata(input.generationConfig),
  ];
  const fromFolder = modelIdComponents(input.folderName, input.parameterCount);
  entries.push(["general.name", string(input.name ?? idToTitle(fromFolder.name))]);
  if (fromFolder.version !== undefined) entries.push(["general.version", string(fromFolder.version)]);
  if (fromFolder.organization !== undefined) entries.push(["general.organization", string(idToTitle(fromFolder.organization))]);
  if (fromFolder.finetune !== undefined) entries.push(["general.finetune", string(fromFolder.finetune)]);
  if (fromFolder.basename !== undefined) entries.push(["general.basename", string(fromFolder.basename)]);
  const label = fromFolder.sizeLabel ?? (input.parameterCount > 0 ? sizeLabel(input.parameterCount) : undefined);
  if (label !== undefined) entries.push(["general.size_label", string(label)]);
  entries.push(
    [`${arch}.block_count`, u32(hparams.layers)],
    [`${arch}.context_length`, u32(hparams.contextLength)],
    [`${arch}.embedding_length`, u32(hparams.hiddenSize)],
    [`${arch}.feed_forward_length`, u32(hparams.intermediateSize)],
    [`${arch}.attention.head_count`, u32(hparams.heads)],
    [`${arch}.attention.head_count_kv`, u32(hparams.kvHeads)],
  );
  const rope = hparams.rope;
  if (rope.ropeType === "linear" && rope.factor !== undefined) {
    entries.push([`${arch}.rope.scaling.type`, string("linear")], [`${arch}.rope.scaling.factor`, f32(rope.factor)]);
  } else if (rope.ropeType === "yarn" && rope.factor !== undefined) {
    entries.push([`${arch}.rope.scaling.type`, string("yarn")], [`${arch}.rope.scaling.factor`, f32(rope.factor)]);
    if (rope.original_max_position_embeddings !== undefined) entries.push([`${arch}.rope.scaling.original_context_length`, u32(rope.original_max_position_embeddings)]);
    if (rope.extrapolation_factor !== undefined) entries.push([`${arch}.rope.scaling.yarn_ext_factor`, f32(rope.extrapolation_factor)]);
    const attentionFactor = rope.attention_factor ?? rope.attn_factor;
    if (attentionFactor !== undefined) entries.push([`${arch}.rope.scaling.yarn_attn_factor`, f32(attentionFactor)]);
    if (rope.beta_fast !== undefined) entries.push([`${arch}.rope.scaling.yarn_beta_fast`, f32(rope.beta_fast)]);
    if (rope.beta_slow !== undefined) entries.push([`${arch}.rope.scaling.yarn_beta_slow`, f32(rope.beta_slow)]);
  }
  entries.push(
    [`${arch}.rope.freq_base`, f32(hparams.ropeTheta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(hparams.rmsNormEps)],
    // transformers' LlamaConfig always has head_dim, and the converter writes it as key/value length
    [`${arch}.attention.key_length`, u32(hparams.headDim)],
    [`${arch}.attention.value_length`, u32(hparams.headDim)],
    ["general.file_type", u32(FILE_TYPE[input.outputType])],
    [`${arch}.vocab_size`, u32(hparams.vocabSize)],
    [`${arch}.rope.dimension_count`, u32(hparams.headDim)],
    ["general.quantization_version", u32(QUANTIZATION_VERSION)],
  );
  return entries;
}
