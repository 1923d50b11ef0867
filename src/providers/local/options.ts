import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { defaultThreadsFor, readCpuFacts, type NodeLlamaCppBuild } from "../../spec/cpu-threads.js";
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
 * Threads used when the options name none, on this machine, with node-llama-cpp's prebuilt binary: the
 * measured usable cores (affinity, physical cores, cgroup quota) but one, at most 8. Why one spare core:
 * src/spec/cpu-threads.ts.
 */
export const DEFAULT_THREADS = defaultThreadsFor("node-llama-cpp");

/** The default threads over the binary node-llama-cpp loaded (`llama.buildType`): a local source build takes every usable core. */
export function defaultThreadsForBuild(build: string): number {
  return build === "localBuild" ? defaultThreadsFor("node-llama-cpp", readCpuFacts(), "localBuild" satisfies NodeLlamaCppBuild) : DEFAULT_THREADS;
}

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
