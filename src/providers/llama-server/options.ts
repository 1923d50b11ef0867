import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { integerInRange, LOCAL_MODEL_LIMITS, localModelSettingsSchema } from "../../spec/local-model-options.js";

/** The shared local-model settings (the same schema the in-process engine and every edge use), plus what this engine needs to run a process. */
export const llamaServerModelOptionsSchema = localModelSettingsSchema
  .omit({ loadTimeoutSeconds: true, engine: true })
  .extend({
    modelPath: z.string().min(1, "modelPath must name a .gguf file"),
    /** Name callers use for this model; defaults to the file name without ".gguf". */
    modelId: z.string().min(1).optional(),
    /** A Jinja chat template used instead of the GGUF's tokenizer.chat_template (a created model's TEMPLATE). */
    chatTemplate: z.string().min(1).optional(),
    /** Starting llama-server (loading the model) must finish within this time (default 600000: ten minutes). */
    loadTimeoutMs: integerInRange({ min: 1, max: LOCAL_MODEL_LIMITS.loadTimeoutSeconds.max * 1000 }).optional(),
    /**
     * A call that finds its process dead before any answer starts it again and retries once (default true).
     * A replica set turns this off: another replica answers at once, without waiting for the restart.
     */
    retryAfterCrash: z.boolean().optional(),
    /** The folder of the per-model log files (`<logDir>/<model id>.log`). */
    logDir: z.string().min(1, "logDir must name a folder"),
    /** camelid's cache folder, where `camelid engine build` leaves llama-server. */
    cacheDir: z.string().min(1, "cacheDir must name a folder"),
  })
  .strict();

export type LlamaServerModelOptions = z.input<typeof llamaServerModelOptionsSchema>;
export type ResolvedLlamaServerModelOptions = z.output<typeof llamaServerModelOptionsSchema>;

export function parseLlamaServerModelOptions(input: unknown): ResolvedLlamaServerModelOptions {
  const parsed = llamaServerModelOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join(".") || "options";
    throw new InvalidArgumentError(path, `invalid llama-server model option ${path}: ${issue.message}`);
  }
  return parsed.data;
}
