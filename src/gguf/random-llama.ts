// Random-weight LLaMA models that llama.cpp loads: real vocabularies, standard tensor names and
// llama.* metadata, seeded weights. Used as fixtures by tests, benchmarks and the training engine.
import { z } from "zod";
import { InvalidArgumentError } from "../errors/index.js";
import { readGgufHeader } from "./reader.js";
import { seededUniformValues } from "./seeded-random.js";
import type { GgufMetadata, GgufValue, GgmlTypeName } from "./types.js";
import { writeGguf, type GgufTensorInput } from "./writer.js";

const tensorTypes = ["F32", "F16", "Q8_0", "Q4_0"] as const;

const randomLlamaSchema = z
  .object({
    path: z.string().min(1),
    /** A vocab-only GGUF or a model GGUF whose tokenizer.* metadata is copied. */
    vocabFrom: z.string().min(1),
    dim: z.number().int().positive(),
    layers: z.number().int().positive().max(1024),
    heads: z.number().int().positive(),
    kvHeads: z.number().int().positive(),
    hiddenDim: z.number().int().positive(),
    contextLength: z.number().int().positive().default(2048),
    ropeTheta: z.number().positive().default(10000),
    rmsNormEpsilon: z.number().positive().default(1e-5),
    tensorType: z.enum(tensorTypes).default("F32"),
    tiedEmbeddings: z.boolean().default(false),
    seed: z.number().int().default(1),
    name: z.string().default("camelid-random-llama"),
  })
  .superRefine((config, context) => {
    if (config.dim % config.heads !== 0) context.addIssue({ code: "custom", path: ["heads"], message: `dim ${config.dim} is not divisible by heads ${config.heads}` });
    if (config.heads % config.kvHeads !== 0) context.addIssue({ code: "custom", path: ["kvHeads"], message: `heads ${config.heads} is not divisible by kvHeads ${config.kvHeads}` });
    if ((config.dim / config.heads) % 2 !== 0) context.addIssue({ code: "custom", path: ["heads"], message: "the head dimension must be even for RoPE" });
    if (config.tensorType === "Q8_0" || config.tensorType === "Q4_0") {
      for (const field of ["dim", "hiddenDim"] as const) {
        if (config[field] % 32 !== 0) context.addIssue({ code: "custom", path: [field], message: `${config.tensorType} needs ${field} to be a multiple of 32, got ${config[field]}` });
      }
    }
  });

export type RandomLlamaOptions = z.input<typeof randomLlamaSchema>;
export type RandomLlamaConfig = z.output<typeof randomLlamaSchema>;

export interface RandomLlamaTensorShape {
  name: string;
  dims: [number] | [number, number];
  /** Norm weights stay F32 (as llama.cpp's converters keep them); matrices use the chosen type. */
  type: GgmlTypeName;
  /** Uniform weights have this standard deviation; norm weights are 1. */
  std: number;
}

/** ggml's LLAMA_FTYPE codes for general.file_type. */
const FILE_TYPE: Record<(typeof tensorTypes)[number], number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

export function parseRandomLlamaOptions(options: RandomLlamaOptions): RandomLlamaConfig {
  const result = randomLlamaSchema.safeParse(options);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidArgumentError(issue.path.join(".") || "options", `random LLaMA model: ${issue.path.join(".")}: ${issue.message}`);
  }
  return result.data;
}

/** The tensors of a LLaMA model in llama.cpp's order and naming; dims in ggml order ([in, out]). */
export function randomLlamaTensorShapes(config: Omit<RandomLlamaConfig, "path" | "vocabFrom">, vocabSize: number): RandomLlamaTensorShape[] {
  const { dim, hiddenDim, heads, kvHeads, layers, tensorType } = config;
  const kvDim = (dim / heads) * kvHeads;
  const matrix = (name: string, input: number, output: number, std = 1 / Math.sqrt(input)): RandomLlamaTensorShape => ({
    name,
    dims: [input, output],
    type: tensorType,
    std,
  });
  const norm = (name: string): RandomLlamaTensorShape => ({ name, dims: [dim], type: "F32", std: 0 });
  // Small embeddings (std 1/sqrt(dim)) so that, with tied embeddings, the input token's own embedding
  // does not dominate the logits and greedy decoding does not repeat it forever; an untied output
  // projection a little hotter than 1/sqrt(dim) so logits spread over a few units and text varies.
  const shapes = [matrix("token_embd.weight", dim, vocabSize), norm("output_norm.weight")];
  if (!config.tiedEmbeddings) shapes.push(matrix("output.weight", dim, vocabSize, 3 / Math.sqrt(dim)));
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `blk.${layer}`;
    shapes.push(
      matrix(`${prefix}.attn_q.weight`, dim, dim),
      matrix(`${prefix}.attn_k.weight`, dim, kvDim),
      matrix(`${prefix}.attn_v.weight`, dim, kvDim),
      matrix(`${prefix}.attn_output.weight`, dim, dim),
      norm(`${prefix}.attn_norm.weight`),
      matrix(`${prefix}.ffn_gate.weight`, dim, hiddenDim),
      matrix(`${prefix}.ffn_down.weight`, hiddenDim, dim),
      matrix(`${prefix}.ffn_up.weight`, dim, hiddenDim),
      norm(`${prefix}.ffn_norm.weight`),
    );
  }
  return shapes;
}

export function countParameters(shapes: readonly { dims: readonly number[] }[]): number {
  return shapes.reduce((sum, shape) => sum + shape.dims.reduce((product, d) => product * d, 1), 0);
}

/** Uniform weights in [-a, a] with the requested standard deviation, from a stream keyed by seed and name. */
function randomWeights(shape: RandomLlamaTensorShape, seed: number): Float32Array {
  const count = shape.dims.reduce((product, d) => product * d, 1);
  if (shape.std === 0) return new Float32Array(count).fill(1);
  return seededUniformValues(shape.name, seed, count, shape.std * Math.sqrt(3));
}

function tokenizerMetadata(vocab: GgufMetadata, vocabFrom: string): { entries: [string, GgufValue][]; vocabSize: number } {
  const tokens = vocab.get("tokenizer.ggml.tokens");
  if (!tokens || tokens.type !== "array" || tokens.value.elementType !== "string") {
    throw new InvalidArgumentError("vocabFrom", `${vocabFrom} has no tokenizer.ggml.tokens string array`);
  }
  const entries = [...vocab].filter(([key]) => key.startsWith("tokenizer."));
  return { entries, vocabSize: tokens.value.values.length };
}

export interface RandomLlamaResult {
  path: string;
  parameterCount: number;
  vocabSize: number;
  bytes: number;
}

/** Writes a llama.cpp-loadable `llama` model with seeded random weights and a real vocabulary. */
export async function writeRandomLlamaGguf(options: RandomLlamaOptions): Promise<RandomLlamaResult> {
  const config = parseRandomLlamaOptions(options);
  const vocab = await readGgufHeader(config.vocabFrom);
  const { entries: tokenizerEntries, vocabSize } = tokenizerMetadata(vocab.metadata, config.vocabFrom);
  const headDim = config.dim / config.heads;
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  const f32 = (value: number): GgufValue => ({ type: "float32", value });
  const metadata: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: config.name }],
    ["general.file_type", u32(FILE_TYPE[config.tensorType])],
    ["llama.vocab_size", u32(vocabSize)],
    ["llama.context_length", u32(config.contextLength)],
    ["llama.embedding_length", u32(config.dim)],
    ["llama.block_count", u32(config.layers)],
    ["llama.feed_forward_length", u32(config.hiddenDim)],
    ["llama.rope.dimension_count", u32(headDim)],
    ["llama.rope.freq_base", f32(config.ropeTheta)],
    ["llama.attention.head_count", u32(config.heads)],
    ["llama.attention.head_count_kv", u32(config.kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", f32(config.rmsNormEpsilon)],
    ...tokenizerEntries,
  ];
  const shapes = randomLlamaTensorShapes(config, vocabSize);
  const tensors: GgufTensorInput[] = shapes.map((shape) => ({
    name: shape.name,
    dims: shape.dims,
    type: shape.type,
    // Generated when written, so only one tensor's floats exist at a time.
    data: () => randomWeights(shape, config.seed),
  }));
  const { bytes } = await writeGguf(config.path, { metadata, tensors });
  return { path: config.path, parameterCount: countParameters(shapes), vocabSize, bytes };
}

/**
 * The benchmark model: ~24.7M parameters in F32 with the 32000-token LLaMA vocabulary
 * (dim 384, 7 layers, 6 heads of 64, FFN 1024, tied embeddings: 12.3M embedding + 12.4M in blocks).
 */
export function randomLlama24MOptions(path: string, vocabFrom: string, overrides: Partial<RandomLlamaOptions> = {}): RandomLlamaOptions {
  return {
    path,
    vocabFrom,
    dim: 384,
    layers: 7,
    heads: 6,
    kvHeads: 6,
    hiddenDim: 1024,
    contextLength: 2048,
    ropeTheta: 10000,
    tensorType: "F32",
    tiedEmbeddings: true,
    seed: 24,
    name: "camelid-random-llama-24m",
    ...overrides,
  };
}

export function writeRandomLlama24M(path: string, vocabFrom: string, overrides: Partial<RandomLlamaOptions> = {}): Promise<RandomLlamaResult> {
  return writeRandomLlamaGguf(randomLlama24MOptions(path, vocabFrom, overrides));
}
