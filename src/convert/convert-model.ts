// `camelid convert`: a Hugging Face LLaMA folder → a GGUF llama.cpp loads, as convert_hf_to_gguf.py
// writes it. Streaming: each tensor is read, permuted and encoded only when the writer reaches it, so
// memory holds one tensor, not the model. The file appears under its name only when complete.
import { randomBytes } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { writeGguf, type GgmlTypeName, type GgufTensorInput, type GgufValue } from "../gguf/index.js";
import { isFloatDtype, SafetensorsCheckpoint, type SafetensorsDtype } from "../safetensors/index.js";
import { CheckpointError } from "./errors.js";
import { readGenerationConfig, readLlamaConfig, type LlamaHparams } from "./hf-config.js";
import { permuteRopeRows, planLlamaTensors, type OutputType } from "./llama-tensors.js";
import { idToTitle, llamaModelMetadata, type MetadataEntry } from "./model-metadata.js";
import { llama3RopeFactors } from "./rope-factors.js";

/** Reads a folder's tokenizer files into tokenizer.* metadata (src/convert/vocabulary). */
export type VocabularyConverter = (folder: string, config: { vocabSize: number }) => Promise<{ entries: [string, GgufValue][] }>;

/** Where tensor data comes from; SafetensorsCheckpoint by default, a wrapper in tests. */
export interface TensorSource {
  readonly tensors: readonly { name: string; dtype: SafetensorsDtype; shape: number[] }[];
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface ConvertHfModelOptions {
  folder: string;
  output: string;
  outputType: OutputType;
  vocabulary: VocabularyConverter;
  /** general.name; by default the folder name as a title, as convert_hf_to_gguf.py does. */
  name?: string;
  openCheckpoint?: (folder: string) => Promise<TensorSource>;
  /** Called after each tensor is written. */
  onTensor?: (event: { name: string; type: GgmlTypeName; index: number; total: number }) => void;
}

export interface ConvertedTensor {
  name: string;
  type: GgmlTypeName;
  /** ggml order. */
  dims: number[];
}

export interface ConvertHfModelResult {
  output: string;
  bytes: number;
  parameterCount: number;
  tensors: ConvertedTensor[];
  hparams: LlamaHparams;
}

/** LlamaModel.set_vocab: SmolLM/Granite-sized vocabularies (49152) get add_bos_token false. */
const NO_BOS_VOCAB_SIZE = 49152;

function withVocabularyQuirks(entries: MetadataEntry[], vocabSize: number): MetadataEntry[] {
  if (vocabSize !== NO_BOS_VOCAB_SIZE) return entries;
  const key = "tokenizer.ggml.add_bos_token";
  const value: GgufValue = { type: "bool", value: false };
  // gguf-py overwrites a repeated key in place, so the key keeps its first position
  return entries.some(([name]) => name === key) ? entries.map(([name, old]) => [name, name === key ? value : old]) : [...entries, [key, value]];
}

export async function convertHfModel(options: ConvertHfModelOptions): Promise<ConvertHfModelResult> {
  const folder = resolve(options.folder);
  const hparams = await readLlamaConfig(folder);
  const generationConfig = await readGenerationConfig(folder);
  const source = await (options.openCheckpoint ?? ((path: string) => SafetensorsCheckpoint.open(path)))(folder);
  try {
    for (const tensor of source.tensors) {
      if (!isFloatDtype(tensor.dtype)) {
        throw new CheckpointError("unsupported_dtype", tensor.name, `tensor ${tensor.name} is ${tensor.dtype}; camelid convert reads F32, F16 and BF16 weights`);
      }
    }
    const planned = planLlamaTensors(source.tensors, hparams, options.outputType);
    const tensors: GgufTensorInput[] = [];
    const ropeFactors = llama3RopeFactors(hparams);
    if (ropeFactors) tensors.push({ name: "rope_freqs.weight", dims: [ropeFactors.length], type: "F32", data: ropeFactors });
    for (const tensor of planned) {
      tensors.push({
        name: tensor.name,
        dims: [...tensor.shape].reverse(),
        type: tensor.type,
        data: async () => {
          const values = await source.readFloat32(tensor.hfName);
          return tensor.permute ? permuteRopeRows(values, tensor.shape[0], tensor.permute.heads) : values;
        },
      });
    }
    const parameterCount = tensors.reduce((sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1), 0);
    const vocabulary = await options.vocabulary(folder, { vocabSize: hparams.vocabSize });
    const metadata = [
      ...llamaModelMetadata({ hparams, outputType: options.outputType, name: options.name ?? idToTitle(basename(folder)), parameterCount, generationConfig }),
      ...withVocabularyQuirks(vocabulary.entries, hparams.vocabSize),
    ];
    const output = resolve(options.output);
    const partial = `${output}.${randomBytes(4).toString("hex")}.partial`;
    let written = 0;
    const reporting = options.onTensor
      ? tensors.map((tensor) => ({
          ...tensor,
          data: async () => {
            // the writer asks for tensor k+1 only once tensor k is on disk
            if (written > 0) options.onTensor?.({ name: tensors[written - 1].name, type: tensors[written - 1].type, index: written - 1, total: tensors.length });
            written++;
            return typeof tensor.data === "function" ? tensor.data() : tensor.data;
          },
        }))
      : tensors;
    let bytes: number;
    try {
      ({ bytes } = await writeGguf(partial, { metadata, tensors: reporting }));
      if (options.onTensor && written > 0) options.onTensor({ name: tensors[written - 1].name, type: tensors[written - 1].type, index: written - 1, total: tensors.length });
      await rename(partial, output);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { output, bytes, parameterCount, hparams, tensors: tensors.map((tensor) => ({ name: tensor.name, type: tensor.type, dims: [...tensor.dims] })) };
  } finally {
    await source.close();
  }
}
