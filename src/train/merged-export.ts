import { GgufReader, writeGguf, type GgmlTypeName, type GgufMetadata, type GgufTensorInput } from "../gguf/index.js";
import { ggufMatrixNames, loraTargets, OUTPUT_HEAD_LORA_TENSOR, targetMatrix, type LoraPair, type LoraWeights } from "../engine/index.js";
import { InvalidArgumentError } from "../errors/index.js";
import { replaceFileAtomic } from "../files/atomic-write.js";
import { AdapterExportError } from "./errors.js";

export const mergedTypes = ["F32", "F16", "Q8_0"] as const;
export type MergedType = (typeof mergedTypes)[number];

/** llama.cpp's general.file_type values (llama_ftype) for the types written here. */
const fileTypeCodes: Record<MergedType, number> = { F32: 0, F16: 1, Q8_0: 7 };

/**
 * Which encoding a tensor gets: 1-D tensors (norms) stay F32 as llama.cpp's quantizer keeps them;
 * Q8_0 needs rows that are a multiple of its 32-value block, otherwise the tensor falls back to F16.
 */
export function mergedTensorType(dims: readonly number[], requested: MergedType): GgmlTypeName {
  if (dims.length < 2 || requested === "F32") return "F32";
  if (requested === "Q8_0" && dims[0] % 32 !== 0) return "F16";
  return requested;
}

/** W + scale * B @ A, in place on W [out, in]. */
export function mergePairInto(weight: Float32Array, pair: LoraPair, rank: number, scale: number): void {
  const { inFeatures: C, outFeatures: OC, a, b } = pair;
  if (weight.length !== C * OC) throw new AdapterExportError(`cannot merge a ${OC}x${C} LoRA update into a tensor of ${weight.length} values`);
  for (let o = 0; o < OC; o++) {
    for (let r = 0; r < rank; r++) {
      const coefficient = scale * b[o * rank + r];
      if (coefficient === 0) continue;
      const row = o * C, aRow = r * C;
      for (let i = 0; i < C; i++) weight[row + i] += coefficient * a[aRow + i];
    }
  }
}

/**
 * Writes the base model with the adapter merged into its weights, as a standalone GGUF: every metadata
 * key of the base (tokenizer, template…) is kept, general.file_type follows the new encoding. Tensors
 * are read, merged and encoded one at a time.
 */
export async function writeMergedGguf(basePath: string, outPath: string, lora: LoraWeights, type: MergedType): Promise<{ tensors: number; bytes: number }> {
  if (!mergedTypes.includes(type)) throw new InvalidArgumentError("merged-type", `merged model type must be ${mergedTypes.join(", ")}, got "${type}"`);
  const reader = await GgufReader.open(basePath);
  try {
    const metadata: GgufMetadata = new Map(reader.metadata);
    metadata.set("general.file_type", { type: "uint32", value: fileTypeCodes[type] });
    const pairsByTensor = new Map<string, LoraPair>();
    lora.layers.forEach((pairs, layer) => {
      for (const target of loraTargets) {
        const pair = pairs.get(target);
        if (pair) pairsByTensor.set(`blk.${layer}.${ggufMatrixNames[targetMatrix[target]]}.weight`, pair);
      }
    });
    for (const name of [...pairsByTensor.keys()].filter((key) => key !== OUTPUT_HEAD_LORA_TENSOR)) {
      if (!reader.hasTensor(name)) throw new AdapterExportError(`${basePath} has no tensor ${name} to merge the adapter into`);
    }
    // The output head's update: into output.weight, or, for a model whose head is tied to the token
    // embedding, into a new output.weight (embedding + update) so that the input embedding stays as it was.
    const untiedHead = lora.head !== null && !reader.hasTensor(OUTPUT_HEAD_LORA_TENSOR);
    if (lora.head) pairsByTensor.set(OUTPUT_HEAD_LORA_TENSOR, lora.head);
    const sources = reader.tensors.map((info) => ({ name: info.name, from: info.name, dims: info.dims }));
    if (untiedHead) {
      const embedding = reader.tensorInfo("token_embd.weight");
      sources.push({ name: OUTPUT_HEAD_LORA_TENSOR, from: embedding.name, dims: embedding.dims });
    }
    const tensors: GgufTensorInput[] = sources.map((source) => ({
      name: source.name,
      dims: source.dims,
      type: mergedTensorType(source.dims, type),
      data: async () => {
        const values = await reader.tensorFloats(source.from);
        const pair = pairsByTensor.get(source.name);
        if (pair) mergePairInto(values, pair, lora.config.rank, lora.scale);
        return values;
      },
    }));
    const { bytes } = await replaceFileAtomic(outPath, (temporary) => writeGguf(temporary, { metadata, tensors }));
    return { tensors: tensors.length, bytes };
  } finally {
    await reader.close();
  }
}
