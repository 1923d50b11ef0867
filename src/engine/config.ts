import { z } from "zod";
import { InvalidArgumentError } from "../errors/index.js";

/** Shape and hyperparameters of a LLaMA-1/2 model, as GGUF's `llama.*` keys describe it. */
export interface LlamaConfig {
  vocabSize: number;
  /** Model width C (= nHeads * headSize). */
  dim: number;
  /** MLP width H. */
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads; fewer than nHeads means grouped-query attention. */
  nKvHeads: number;
  /** Rotated dimensions per head (GGUF `rope.dimension_count`); usually the head size. */
  ropeDim: number;
  ropeTheta: number;
  /** Linear RoPE scaling: positions are multiplied by this (1 / GGUF `rope.scaling.factor`). */
  ropeFreqScale: number;
  normEps: number;
  /** True when the output head reuses the token embedding (no `output.weight` tensor). */
  tiedOutput: boolean;
  contextLength: number;
}

const positiveInt = z.number().int().positive();

/** Validates a config at the edge (files, CLI); the kernels assume these invariants hold. */
export const llamaConfigSchema = z
  .object({
    vocabSize: positiveInt,
    dim: positiveInt,
    hiddenDim: positiveInt,
    nLayers: positiveInt,
    nHeads: positiveInt,
    nKvHeads: positiveInt,
    ropeDim: positiveInt,
    ropeTheta: z.number().positive(),
    ropeFreqScale: z.number().positive(),
    normEps: z.number().positive(),
    tiedOutput: z.boolean(),
    contextLength: positiveInt,
  })
  .superRefine((c, ctx) => {
    if (c.dim % c.nHeads !== 0) ctx.addIssue({ code: "custom", path: ["dim"], message: `dim ${c.dim} is not a multiple of nHeads ${c.nHeads}` });
    if (c.nHeads % c.nKvHeads !== 0) ctx.addIssue({ code: "custom", path: ["nKvHeads"], message: `nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}` });
    const headSize = c.dim / c.nHeads;
    if (c.ropeDim % 2 !== 0 || c.ropeDim > headSize) ctx.addIssue({ code: "custom", path: ["ropeDim"], message: `ropeDim ${c.ropeDim} must be even and at most the head size ${headSize}` });
  });

export function parseLlamaConfig(value: unknown): LlamaConfig {
  const parsed = llamaConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(`config.${issue.path.join(".")}`, `invalid model config: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

export const headSizeOf = (config: LlamaConfig) => config.dim / config.nHeads;
export const kvDimOf = (config: LlamaConfig) => (config.dim / config.nHeads) * config.nKvHeads;

/** A config with LLaMA defaults filled in, for tests and benchmarks that name only the shape. */
export function llamaConfig(shape: Pick<LlamaConfig, "vocabSize" | "dim" | "hiddenDim" | "nLayers" | "nHeads"> & Partial<LlamaConfig>): LlamaConfig {
  return parseLlamaConfig({
    nKvHeads: shape.nHeads,
    ropeDim: shape.dim / shape.nHeads,
    ropeTheta: 10000,
    ropeFreqScale: 1,
    normEps: 1e-5,
    tiedOutput: false,
    contextLength: 512,
    ...shape,
  });
}
