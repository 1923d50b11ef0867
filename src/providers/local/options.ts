import { availableParallelism } from "node:os";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { integerInRange, LOCAL_MODEL_LIMITS, localModelSettingsSchema } from "../../spec/local-model-options.js";

const gpuSchema = z.union([z.literal(false), z.enum(["auto", "cuda", "vulkan", "metal"])]);

/**
 * The shared local-model settings (bounds and messages as every edge has them), plus what only the provider
 * takes. The engine choice and llama-server's own settings are not this provider's: naming them here is an
 * error, never a silent in-process run of a model meant for llama-server.
 */
export const localModelOptionsSchema = localModelSettingsSchema
  .omit({ loadTimeoutSeconds: true, engine: true, llamaServerBin: true, keepAliveSeconds: true })
  .extend({
    modelPath: z.string().min(1, "modelPath must name a .gguf file"),
    /** Name callers use for this model; defaults to the file name without ".gguf". */
    modelId: z.string().min(1).optional(),
    /** Synonym of modelId (the name a server config lists the model under). */
    alias: z.string().min(1).optional(),
    /** A Jinja chat template used instead of the GGUF's tokenizer.chat_template (a created model's TEMPLATE). */
    chatTemplate: z.string().min(1).optional(),
    gpu: gpuSchema.optional(),
    /** Checking and loading the model file must finish within this time (default 600000: ten minutes). */
    loadTimeoutMs: integerInRange({ min: 1, max: LOCAL_MODEL_LIMITS.loadTimeoutSeconds.max * 1000 }).optional(),
  })
  .strict();

export type LocalModelOptions = z.input<typeof localModelOptionsSchema>;
export type ResolvedLocalModelOptions = z.output<typeof localModelOptionsSchema>;

/**
 * ggml threads: all cores but one, at most 8. Measured on a 2-core machine shared with other work
 * (bench/local-decode.ts --sweep, node-llama-cpp raw API, same run): 1 thread decoded stories260K
 * at 1272 tokens/s and a 24M F32 model at 15-39, 2 threads at 2 and 1 tokens/s. The cause:
 * node-llama-cpp attaches no persistent ggml threadpool, so with threads > 1 ggml starts a fresh
 * worker thread for every decode (strace: 50 extra clone() calls for 50 tokens with 2 threads,
 * none with 1), and its workers spin at barriers, so one that waits for a core stalls every op.
 * The spare core keeps Node's event loop and the OS responsive.
 */
export function defaultThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, cores - 1));
}

/** Threads used when the options name none, on this machine. */
export const DEFAULT_THREADS = defaultThreads();

/*
 * Flash attention off: on CPU its kernel measured slower per decoded token on small models
 * (stories260K: 1018 vs 1258 tokens/s, same run).
 */
export const DEFAULT_FLASH_ATTENTION = false;
/**
 * Four parallel requests of up to 2048 tokens each (capped by the model's training context): 8192
 * KV cells in all, what llama-server's four slots usually get. Each sequence reserves its own
 * cells in node-llama-cpp, so 4 × 4096 would double the KV memory (8.6 GB for a 7B F16 cache).
 */
export const DEFAULT_SEQUENCES = 4;
export const DEFAULT_MAX_CONTEXT = 2048;

export function parseLocalModelOptions(input: unknown): ResolvedLocalModelOptions {
  const parsed = localModelOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join(".") || "options";
    throw new InvalidArgumentError(path, `invalid local model option ${path}: ${issue.message}`);
  }
  return parsed.data;
}
