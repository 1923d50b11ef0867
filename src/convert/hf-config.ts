// config.json of a Hugging Face LLaMA checkpoint → the hyperparameters llama.cpp's converter reads.
// Defaults are LlamaConfig's (convert_hf_to_gguf.py loads config.json through transformers' AutoConfig,
// so a field left out of the file still has its transformers default in the GGUF).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { HfCheckpointError } from "./errors.js";

/** Architectures convert_hf_to_gguf.py converts with its LlamaModel class (the ones that are plain LLaMA). */
export const LLAMA_ARCHITECTURES = ["LlamaForCausalLM", "LLaMAForCausalLM", "LlamaModel", "MistralForCausalLM"] as const;

const positiveInteger = z.number().int().positive();

const configSchema = z.looseObject({
  architectures: z.array(z.string()).min(1, "names no architecture"),
  hidden_size: positiveInteger.default(4096),
  intermediate_size: positiveInteger.default(11008),
  num_hidden_layers: positiveInteger.default(32),
  num_attention_heads: positiveInteger.default(32),
  num_key_value_heads: positiveInteger.nullish(),
  head_dim: positiveInteger.nullish(),
  vocab_size: positiveInteger.default(32000),
  max_position_embeddings: positiveInteger.default(2048),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().nullish(),
  rope_scaling: z.looseObject({}).nullish(),
  rope_parameters: z.looseObject({}).nullish(),
  tie_word_embeddings: z.boolean().default(true),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  text_config: z.unknown().optional(),
});

const ropeParametersSchema = z.looseObject({
  rope_type: z.string().optional(),
  type: z.string().optional(),
  rope_theta: z.number().positive().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().optional(),
  high_freq_factor: z.number().optional(),
  original_max_position_embeddings: positiveInteger.optional(),
  extrapolation_factor: z.number().optional(),
  attention_factor: z.number().optional(),
  attn_factor: z.number().optional(),
  beta_fast: z.number().optional(),
  beta_slow: z.number().optional(),
});

export type RopeParameters = z.infer<typeof ropeParametersSchema>;

export interface LlamaHparams {
  architecture: string;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** rope_parameters (transformers ≥ 5) or rope_scaling; rope_type falls back to the old `type` key. */
  rope: RopeParameters & { ropeType: string | undefined };
  tiedEmbeddings: boolean;
}

export const CONFIG_FILE = "config.json";

async function readJson(path: string, missing: () => HfCheckpointError): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") throw missing();
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HfCheckpointError("invalid_config", path, `${path} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Reads and checks config.json; throws a HfCheckpointError naming the file and the field. */
export async function readLlamaConfig(folder: string): Promise<LlamaHparams> {
  const path = join(folder, CONFIG_FILE);
  const json = await readJson(path, () => new HfCheckpointError("missing_config", path, `${folder} has no config.json: is it a Hugging Face model folder?`));
  const result = configSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new HfCheckpointError("invalid_config", path, `${path}: ${issue.path.join(".") || "config"}: ${issue.message}`);
  }
  const config = result.data;
  const architecture = config.architectures[0];
  if (!(LLAMA_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new HfCheckpointError(
      "unsupported_architecture",
      path,
      `${path}: architecture ${architecture} is not supported; camelid convert handles ${LLAMA_ARCHITECTURES.join(", ")}`,
    );
  }
  if (config.text_config !== undefined) {
    throw new HfCheckpointError("unsupported_architecture", path, `${path}: a text_config (multimodal checkpoint) is not supported`);
  }
  const ropeSource = config.rope_parameters ?? config.rope_scaling ?? {};
  const rope = ropeParametersSchema.safeParse(ropeSource);
  if (!rope.success) {
    const issue = rope.error.issues[0];
    throw new HfCheckpointError("invalid_config", path, `${path}: rope_scaling.${issue.path.join(".")}: ${issue.message}`);
  }
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? config.hidden_size / heads;
  if (!Number.isInteger(headDim)) throw new HfCheckpointError("invalid_config", path, `${path}: hidden_size ${config.hidden_size} is not divisible by num_attention_heads ${heads}`);
  const kvHeads = config.num_key_value_heads ?? heads;
  if (heads % kvHeads !== 0) throw new HfCheckpointError("invalid_config", path, `${path}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (headDim % 2 !== 0) throw new HfCheckpointError("invalid_config", path, `${path}: the head dimension ${headDim} must be even for RoPE`);
  return {
    architecture,
    hiddenSize: config.hidden_size,
    intermediateSize: config.intermediate_size,
    layers: config.num_hidden_layers,
    heads,
    kvHeads,
    headDim,
    vocabSize: config.vocab_size,
    contextLength: config.max_position_embeddings,
    rmsNormEps: config.rms_norm_eps,
    ropeTheta: rope.data.rope_theta ?? config.rope_theta ?? 10000,
    rope: { ...rope.data, ropeType: rope.data.rope_type ?? rope.data.type },
    tiedEmbeddings: config.tie_word_embeddings,
  };
}

/** generation_config.json, if any (its sampling defaults become general.sampling.*). */
export async function readGenerationConfig(folder: string): Promise<Record<string, unknown> | undefined> {
  const path = join(folder, "generation_config.json");
  const json = await readJson(path, () => new HfCheckpointError("missing_config", path, "")).catch((error: unknown) => {
    if (error instanceof HfCheckpointError && error.problem === "missing_config") return undefined;
    throw error;
  });
  if (json === undefined) return undefined;
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new HfCheckpointError("invalid_config", path, `${path} is not a JSON object`);
  return json as Record<string, unknown>;
}
