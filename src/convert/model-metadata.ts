// The GGUF metadata convert_hf_to_gguf.py writes for a LLaMA model, in its order: general.* (type, then
// gguf-py's Metadata.load: sampling defaults from generation_config.json, the README.md model card, config.json's
// _name_or_path, the folder name, size label), the llama.* hyperparameters, the file type and the
// quantization version; the vocabulary's tokenizer.* entries follow.
import type { GgufValue } from "../gguf/index.js";
import type { LlamaHparams } from "./hf-config.js";
import { FILE_TYPE, type OutputType } from "./llama-tensors.js";
import { authorshipMetadata } from "./authorship-metadata.js";

export type MetadataEntry = [string, GgufValue];

const string = (value: string): GgufValue => ({ type: "string", value });
const u32 = (value: number): GgufValue => ({ type: "uint32", value });
const f32 = (value: number): GgufValue => ({ type: "float32", value });

/** gguf-py's GGML_QUANT_VERSION. */
const QUANTIZATION_VERSION = 2;

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
  /** The model folder: its model card, config.json and name give the authorship keys, as Metadata.load reads them. */
  folder: string;
  /** general.name instead of the one Metadata.load finds (the script's --model-name). */
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
    ...authorshipMetadata(input.folder, input.parameterCount, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.parameterCount > 0 ? { fallbackSizeLabel: sizeLabel(input.parameterCount) } : {}),
      ...(input.generationConfig !== undefined ? { generationConfig: input.generationConfig } : {}),
    }),
  ];
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
