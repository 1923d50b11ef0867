// `camelid export-peft`: a llama.cpp LoRA GGUF (what `camelid train` writes, or `convert --lora` made)
// → a PEFT folder that PeftModel.from_pretrained loads onto the Hugging Face base model: PEFT's tensor
// names, Q/K rows of lora_B put back in Hugging Face's order, r/lora_alpha/target_modules in
// adapter_config.json. The exact inverse of convert --lora, tensor for tensor.
import { existsSync, mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../../errors/index.js";
import { replaceFileAtomic } from "../../files/atomic-write.js";
import { GgufReader, metadataString, readLoraAdapterHeader } from "../../gguf/index.js";
import { writeSafetensors, type SafetensorsTensorInput } from "../../safetensors/index.js";
import { readAdapterBaseModel } from "./base-model.js";
import { AdapterFormatError, UnsupportedAdapterError } from "./errors.js";
import { targetModulesOf } from "./peft-config.js";
import { parseGgufBaseTensorName, peftModulePath, peftTensorName, type AdaptedWeight, type PeftModule } from "./peft-names.js";
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from "./peft-to-gguf.js";
import { permuteQkRows } from "./qk-permutation.js";
import { transposeMatrix } from "./transpose.js";

export interface GgufToPeftOptions {
  adapterPath: string;
  /** The base model GGUF the adapter was trained on (head counts for the Q/K order, shapes). */
  basePath: string;
  outDir: string;
  /** adapter_config.json's base_model_name_or_path (a Hub id); the base's general.name by default. */
  baseModelNameOrPath?: string;
  /** Replace an adapter already in outDir. */
  overwrite?: boolean;
}

export interface GgufToPeftResult {
  outDir: string;
  tensors: number;
  rank: number;
  alpha: number;
  targetModules: PeftModule[];
  rankPattern: Record<string, number>;
}

interface GgufPair extends AdaptedWeight {
  base: string;
  a?: string;
  b?: string;
}

function collectGgufPairs(reader: GgufReader, path: string): GgufPair[] {
  const pairs = new Map<string, GgufPair>();
  for (const tensor of reader.tensors) {
    const match = /^(.*)\.lora_([ab])$/.exec(tensor.name);
    if (!match) throw new UnsupportedAdapterError(tensor.name, `${path}: ${tensor.name} is not a LoRA factor (a PEFT LoRA folder carries only lora_A/lora_B)`);
    const [, base, part] = match;
    const weight = parseGgufBaseTensorName(base);
    if (!weight) throw new UnsupportedAdapterError(tensor.name, `${path}: ${tensor.name} adapts ${base}, which is not a LLaMA module PEFT names`);
    if (tensor.dims.length !== 2) throw new AdapterFormatError(path, `${tensor.name} has ${tensor.dims.length} dimensions, a LoRA factor has 2`);
    const pair = pairs.get(base) ?? { ...weight, base };
    pair[part as "a" | "b"] = tensor.name;
    pairs.set(base, pair);
  }
  for (const pair of pairs.values()) {
    if (!pair.a || !pair.b) throw new AdapterFormatError(path, `${pair.base} has ${pair.a ? "lora_a but no lora_b" : "lora_b but no lora_a"}`);
  }
  if (pairs.size === 0) throw new AdapterFormatError(path, `${path} holds no LoRA tensors`);
  return [...pairs.values()];
}


/** The most common rank is r; PEFT's rank_pattern names the modules that differ (as PEFT saves them). */
function rankLayout(ranks: Map<string, number>): { rank: number; rankPattern: Record<string, number> } {
  const counts = new Map<number, number>();
  for (const rank of ranks.values()) counts.set(rank, (counts.get(rank) ?? 0) + 1);
  const rank = [...counts].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0][0];
  const rankPattern = Object.fromEntries([...ranks].filter(([, r]) => r !== rank).sort(([x], [y]) => (x < y ? -1 : 1)));
  return { rank, rankPattern };
}

/** adapter_config.json with PEFT's key names, sorted and indented as LoraConfig.save_pretrained writes it. */
export function peftAdapterConfig(input: { baseModel: string; rank: number; alpha: number; targetModules: PeftModule[]; rankPattern: Record<string, number>; alphaPattern: Record<string, number> }): string {
  const config: Record<string, unknown> = {
    alpha_pattern: input.alphaPattern,
    base_model_name_or_path: input.baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: input.alpha,
    lora_dropout: 0.0,
    modules_to_save: null,
    peft_type: "LORA",
    r: input.rank,
    rank_pattern: input.rankPattern,
    revision: null,
    target_modules: input.targetModules,
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export async function exportPeftAdapter(options: GgufToPeftOptions): Promise<GgufToPeftResult> {
  const configPath = join(options.outDir, PEFT_CONFIG_FILE);
  const weightsPath = join(options.outDir, PEFT_WEIGHTS_FILE);
  if (!options.overwrite && (existsSync(configPath) || existsSync(weightsPath))) {
    throw new InvalidArgumentError("out", `${options.outDir} already holds a PEFT adapter: choose another folder or pass --overwrite`);
  }
  const base = await readAdapterBaseModel(options.basePath);
  let reader: GgufReader;
  try {
    reader = await GgufReader.open(options.adapterPath);
  } catch (error) {
    throw new AdapterFormatError(options.adapterPath, `${options.adapterPath}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const header = readLoraAdapterHeader(reader.metadata);
    if ("problem" in header) throw new AdapterFormatError(options.adapterPath, `${options.adapterPath}: ${header.problem}`);
    if (header.architecture !== base.architecture) {
      throw new AdapterFormatError(options.adapterPath, `${options.adapterPath} is a ${header.architecture} adapter but ${base.path} is ${base.architecture}`);
    }
    const pairs = collectGgufPairs(reader, options.adapterPath);
    const ranks = new Map<string, number>();
    const tensors: SafetensorsTensorInput[] = [];
    for (const pair of pairs) {
      const a = reader.tensorInfo(pair.a!), b = reader.tensorInfo(pair.b!);
      const dims = base.tensorDims.get(pair.base);
      if (!dims) throw new AdapterFormatError(options.adapterPath, `${pair.a} adapts ${pair.base}, which ${base.path} does not have (wrong base model?)`);
      const embedding = pair.module === "embed_tokens";
      // linear: lora_a dims [in, r], lora_b [r, out]; embedding: lora_a [r, vocab] (stored transposed), lora_b [r, dim]
      const rank = b.dims[0];
      const [inFeatures, outFeatures] = embedding ? [a.dims[1], b.dims[1]] : [a.dims[0], b.dims[1]];
      const expected = embedding ? [dims[1], dims[0]] : [dims[0], dims[1]];
      if ((embedding ? a.dims[0] : a.dims[1]) !== rank || inFeatures !== expected[0] || outFeatures !== expected[1]) {
        throw new AdapterFormatError(options.adapterPath, `${pair.base}: lora_a [${a.dims.join(", ")}] and lora_b [${b.dims.join(", ")}] do not fit ${base.path}'s [${dims.join(", ")}] (wrong base model?)`);
      }
      ranks.set(peftModulePath(pair), rank);
      const heads = pair.module === "q_proj" ? base.heads : pair.module === "k_proj" ? base.kvHeads : 0;
      tensors.push(
        {
          name: peftTensorName({ ...pair, part: "A" }),
          dtype: "F32",
          shape: [rank, inFeatures],
          data: async () => {
            const values = await reader.tensorFloats(pair.a!);
            return embedding ? transposeMatrix(values, inFeatures, rank) : values;
          },
        },
        {
          name: peftTensorName({ ...pair, part: "B" }),
          dtype: "F32",
          shape: [outFeatures, rank],
          data: async () => {
            const values = await reader.tensorFloats(pair.b!);
            return heads > 0 ? permuteQkRows(values, outFeatures, rank, heads, "to-hugging-face") : values;
          },
        },
      );
    }
    const { rank, rankPattern } = rankLayout(ranks);
    // llama.cpp reads alpha 0 as "scale 1": the PEFT equivalent is alpha = r for every module
    const alpha = header.alpha === 0 ? rank : header.alpha;
    const alphaPattern = header.alpha === 0 ? { ...rankPattern } : {};
    const targetModules = targetModulesOf(pairs.map((pair) => pair.module));
    const baseModel = options.baseModelNameOrPath ?? metadataString(base.metadata, "general.name") ?? "";
    mkdirSync(options.outDir, { recursive: true });
    await replaceFileAtomic(weightsPath, (temporary) => writeSafetensors(temporary, tensors, { format: "pt" }));
    await writeFile(configPath, peftAdapterConfig({ baseModel, rank, alpha, targetModules, rankPattern, alphaPattern }));
    return { outDir: options.outDir, tensors: tensors.length, rank, alpha, targetModules, rankPattern };
  } finally {
    await reader.close();
  }
}
