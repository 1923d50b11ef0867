// How a local model is loaded, defined once: the CLI flags (generate, chat, eval, data, bench, serve),
// the server config file's model entries and defaults, a created model's PARAMETER num_ctx and the local
// provider's options all derive from this schema, so one bad value gets one message everywhere.
// It lives in spec (which otherwise holds types) because every layer that touches these settings may
// import spec, while server must not import providers nor providers import cli.
import { z } from "zod";

/**
 * The bounds. Where the edges used to disagree, the strictest one that still admits every real
 * setting won: llama.cpp refuses a context under 16 tokens, ggml caps threads at 512, node-llama-cpp
 * a batch at 65536, a LoRA scale past ±10 only makes noise (Modelfile ADAPTER's bound), and a load
 * deadline past a day would overflow Node's timers (2^31 ms ≈ 24.8 days) long before it mattered.
 */
export const LOCAL_MODEL_LIMITS = {
  contextSize: { min: 16, max: 1 << 20 },
  sequences: { min: 1, max: 64 },
  threads: { min: 1, max: 512 },
  batchSize: { min: 1, max: 1 << 16 },
  loadTimeoutSeconds: { min: 1, max: 86_400 },
  loraScale: { min: -10, max: 10 },
  /** -1 keeps a model's engine process forever (Ollama's keep_alive -1); at most a year. */
  keepAliveSeconds: { min: -1, max: 31_536_000 },
} as const;

/** Which program runs a local model: llama.cpp in this process (node-llama-cpp) or llama.cpp's own server, supervised. */
export const LOCAL_ENGINES = ["node-llama-cpp", "llama-server"] as const;
export type LocalEngine = (typeof LOCAL_ENGINES)[number];
export const DEFAULT_LOCAL_ENGINE: LocalEngine = "node-llama-cpp";
/** Ollama's default keep-alive: an idle llama-server process is ended after five minutes. */
export const DEFAULT_KEEP_ALIVE_SECONDS = 300;

type Range = { readonly min: number; readonly max: number };

/** An integer in range; every way to miss it (a string, NaN, 2.5, 0) gets the same message. */
export function integerInRange({ min, max }: Range) {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
}

export function numberInRange({ min, max }: Range) {
  const message = `must be a number from ${min} to ${max}`;
  return z.number({ error: message }).min(min, message).max(max, message);
}

export const loraAdapterSchema = z.strictObject({
  path: z.string().min(1, "must name a LoRA adapter .gguf file"),
  scale: numberInRange(LOCAL_MODEL_LIMITS.loraScale).default(1),
});

export const localModelSettingsSchema = z.strictObject({
  /** Tokens per sequence; the provider's default is the model's training context, at most 2048. */
  contextSize: integerInRange(LOCAL_MODEL_LIMITS.contextSize).optional(),
  /** Parallel sequences = requests decoded together. */
  sequences: integerInRange(LOCAL_MODEL_LIMITS.sequences).optional(),
  /** ggml threads; when absent, chosen from the measured cores per engine (src/spec/cpu-threads.ts). */
  threads: integerInRange(LOCAL_MODEL_LIMITS.threads).optional(),
  /** llama.cpp's logical batch (tokens per decode step). */
  batchSize: integerInRange(LOCAL_MODEL_LIMITS.batchSize).optional(),
  /** llama.cpp's flash attention: less CPU per batched step, outputs differ by rounding. */
  flashAttention: z.boolean({ error: "must be true or false" }).optional(),
  /** Checking and loading the model file must finish within this many seconds (default 600). */
  loadTimeoutSeconds: integerInRange(LOCAL_MODEL_LIMITS.loadTimeoutSeconds).optional(),
  lora: z.array(loraAdapterSchema).optional(),
  /** Prompt format for messages (registry name); otherwise the model's template or the name heuristic. */
  promptFormat: z.string().min(1, "must name a prompt format").optional(),
  /** node-llama-cpp (default, in process) or a supervised llama-server process per model. */
  engine: z.enum(LOCAL_ENGINES, { error: `must be one of ${LOCAL_ENGINES.join(", ")}` }).optional(),
  /** The llama-server executable (the user's own build); otherwise the one `camelid engine build` cached. */
  llamaServerBin: z.string().min(1, "must name the llama-server executable").optional(),
  /** llama-server engine: end a model's process after this many idle seconds (-1: never; 0: after each request). */
  keepAliveSeconds: integerInRange(LOCAL_MODEL_LIMITS.keepAliveSeconds).optional(),
  /** llama-server engine: a multimodal projector GGUF (llama.cpp's mtmd, --mmproj); the model then takes images. */
  mmproj: z.string().min(1, "must name a projector .gguf file").optional(),
});

export type LocalModelSettings = z.output<typeof localModelSettingsSchema>;
export type LocalModelSettingKey = keyof LocalModelSettings;

/** The CLI spelling of each setting (one spelling everywhere; `serve --context-size` is an old alias). */
export const LOCAL_MODEL_FLAGS = {
  contextSize: { flag: "ctx-size", short: "c", value: "N", help: "tokens per sequence (default: the model's training context, at most 2048)" },
  sequences: { flag: "sequences", value: "N", help: "parallel sequences per model (default 4)" },
  threads: { flag: "threads", short: "t", value: "N", help: "CPU threads (default: from the usable cores: physical, within the CPU quota; node-llama-cpp all but one, at most 8; llama-server all)" },
  batchSize: { flag: "batch-size", value: "N", help: "llama.cpp batch size (tokens per decode step)" },
  flashAttention: { flag: "flash-attention", value: "", help: "llama.cpp flash attention (less CPU per batched step; outputs differ by rounding)" },
  loadTimeoutSeconds: { flag: "load-timeout", value: "SECONDS", help: "checking and loading one model file must finish in time (default 600)" },
  lora: { flag: "lora", value: "FILE[:SCALE]", help: "a LoRA adapter .gguf, scale -10 to 10 (default 1) (repeatable)" },
  promptFormat: { flag: "format", value: "NAME", help: "force a prompt format" },
  engine: { flag: "engine", value: "NAME", help: "node-llama-cpp (default: in process) or llama-server (llama.cpp's own server, one supervised process per model)" },
  llamaServerBin: { flag: "llama-server-bin", value: "PATH", help: "the llama-server executable for --engine llama-server (default: the one `camelid engine build` made)" },
  keepAliveSeconds: { flag: "keep-alive", value: "SECONDS", help: "--engine llama-server: end a model's process after SECONDS idle (default 300; --keep-alive=-1 never; 0 after each request)" },
  mmproj: { flag: "mmproj", value: "FILE", help: "--engine llama-server: a multimodal projector .gguf (llama.cpp mtmd): the model takes images" },
} as const satisfies Record<LocalModelSettingKey, { flag: string; short?: string; value: string; help: string }>;
