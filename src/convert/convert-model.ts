// `camelid convert`: a Hugging Face LLaMA folder → a GGUF llama.cpp loads, as convert_hf_to_gguf.py
// writes it. Streaming: each tensor is read, permuted and encoded only when the writer reaches it, so
// memory holds one tensor, not the model. The file appears under its name only when complete.
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { replaceFileAtomic } from "../files/atomic-write.js";
import { tensorByteLength, writeGguf, type GgmlTypeName, type GgufTensorInput, type GgufValue } from "../gguf/index.js";
import { isFloatDtype, SafetensorsCheckpoint, type SafetensorsDtype } from "../safetensors/index.js";
import { HfCheckpointError } from "./errors.js";
import { readGenerationConfig, readLlamaConfig, type LlamaHparams } from "./hf-config.js";
import { permuteRopeRows, planLlamaTensors, type OutputType } from "./llama-tensors.js";
import { llamaModelMetadata } from "./model-metadata.js";
import { llama3RopeFactors } from "./rope-factors.js";
import { convertHfVocabulary } from "./vocabulary/index.js";

/** Reads a folder's tokenizer files into tokenizer.* metadata (src/convert/vocabulary by default). */
export type VocabularyConverter = (folder: string, config: { vocabSize: number }) => Promise<{ entries: [string, GgufValue][]; warnings?: string[] }>;

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
  /** convertHfVocabulary unless a test supplies another. */
  vocabulary?: VocabularyConverter;
  /** general.name; by default what the model card, config.json's _name_or_path or the folder name says, as convert_hf_to_gguf.py does. */
  name?: string;
  openCheckpoint?: (folder: string) => Promise<TensorSource>;
  /** Called after each tensor is written. */
  onTensor?: (event: { name: string; type: GgmlTypeName; index: number; total: number; bytesDone: number; bytesTotal: number }) => void;
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
  /** What the vocabulary conversion warned about (as the script logs it). */
  warnings: string[];
}

export async function convertHfModel(options: ConvertHfModelOptions): Promise<ConvertHfModelResult> {
  const folder = resolve(options.folder);
  const hparams = await readLlamaConfig(folder);
  const generationConfig = await readGenerationConfig(folder);
  const source = await (options.openCheckpoint ?? ((path: string) => SafetensorsCheckpoint.open(path)))(folder);
  try {
    for (const tensor of source.tensors) {
      if (!isFloatDtype(tensor.dtype)) {
        throw new HfCheckpointError("unsupported_dtype", tensor.name, `tensor ${tensor.name} is ${tensor.dtype}; camelid convert reads F32, F16 and BF16 weights`);
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
    const vocabulary = await (options.vocabulary ?? convertHfVocabulary)(folder, { vocabSize: hparams.vocabSize });
    const metadata = [
      ...llamaModelMetadata({
        hparams,
        outputType: options.outputType,
        folder,
        ...(options.name !== undefined ? { name: options.name } : {}),
        parameterCount,
        generationConfig,
      }),
      ...vocabulary.entries,
    ];
    const output = resolve(options.output);
    const partial = `${output}.${randomBytes(4).toString("hex")}.partial`;
    // The writer asks for tensor k+1 only once tensor k is on disk, so a data request reports its predecessor.
    const sizes = tensors.map((tensor) => tensorByteLength(tensor.type, tensor.dims.reduce((product, dim) => product * dim, 1)));
    const bytesTotal = sizes.reduce((sum, size) => sum + size, 0);
    let bytesDone = 0;
    const report = (index: number) => {
      bytesDone += sizes[index];
      options.onTensor?.({ name: tensors[index].name, type: tensors[index].type, index, total: tensors.length, bytesDone, bytesTotal });
    };
    const reporting: GgufTensorInput[] = tensors.map((tensor, index) => ({
      ...tensor,
      data: async () => {
        if (index > 0) report(index - 1);
        return typeof tensor.data === "function" ? tensor.data() : tensor.data;
      },
    }));
    const { bytes } = await replaceFileAtomic(
      output,
      async (temporary) => {
        const written = await writeGguf(temporary, { metadata, tensors: reporting });
        if (tensors.length > 0) report(tensors.length - 1);
        return written;
      },
      { temporary: partial },
    );
    return { output, bytes, parameterCount, hparams, warnings: vocabulary.warnings ?? [], tensors: tensors.map((tensor) => ({ name: tensor.name, type: tensor.type, dims: [...tensor.dims] })) };
  } finally {
    await source.close();
  }
}
