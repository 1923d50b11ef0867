import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";

const gpuSchema = z.union([z.literal(false), z.enum(["auto", "cuda", "vulkan", "metal"])]);

export const localModelOptionsSchema = z
  .object({
    modelPath: z.string().min(1, "modelPath must name a .gguf file"),
    /** Name callers use for this model; defaults to the file name without ".gguf". */
    modelId: z.string().min(1).optional(),
    /** Synonym of modelId (the name a server config lists the model under). */
    alias: z.string().min(1).optional(),
    /** Tokens per sequence; defaults to the model's training context, at most 4096. */
    contextSize: z.number().int().min(16).max(1 << 20).optional(),
    /** Parallel requests one context serves (llama.cpp sequences). */
    sequences: z.number().int().min(1).max(64).optional(),
    threads: z.number().int().min(1).max(512).optional(),
    batchSize: z.number().int().min(1).max(1 << 16).optional(),
    flashAttention: z.boolean().optional(),
    lora: z.array(z.object({ path: z.string().min(1), scale: z.number().finite().optional() }).strict()).optional(),
    /** Prompt format for messages (registry name); otherwise the model's template or the name heuristic. */
    promptFormat: z.string().min(1).optional(),
    gpu: gpuSchema.optional(),
  })
  .strict();

export type LocalModelOptions = z.input<typeof localModelOptionsSchema>;
export type ResolvedLocalModelOptions = z.output<typeof localModelOptionsSchema>;

/**
 * Defaults measured on a 2-core machine (see bench/local-decode.ts): one exact ggml thread beats two,
 * because the Node main thread and libuv's worker need the other core; with two ggml threads their
 * spin barriers stall whenever one is descheduled. Flash attention off: its CPU kernel was ~20%
 * slower per decoded token on small models.
 */
export const DEFAULT_THREADS = 1;
export const DEFAULT_FLASH_ATTENTION = false;
export const DEFAULT_SEQUENCES = 4;
export const DEFAULT_MAX_CONTEXT = 4096;

export function parseLocalModelOptions(input: unknown): ResolvedLocalModelOptions {
  const parsed = localModelOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join(".") || "options";
    throw new InvalidArgumentError(path, `invalid local model option ${path}: ${issue.message}`);
  }
  return parsed.data;
}
