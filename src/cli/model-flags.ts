import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidArgumentError } from "../errors/index.js";
import type { CallOptions, LanguageModel, WindowStrategy } from "../spec/index.js";
import { numberFlag } from "./args.js";
import { localModelFlagOptions, parseLocalModelFlags } from "./local-model-flags.js";
import { defaultCacheDir } from "../hub/cache-layout.js";
import { resolveModelName, type ModelPackage } from "../registry/resolve.js";

/** The local-model settings the model flags carry. */
export const MODEL_FLAG_SETTINGS = ["contextSize", "threads", "batchSize", "flashAttention", "loadTimeoutSeconds", "lora", "promptFormat", "engine", "llamaServerBin"] as const;

/** Flags that pick a model: a local GGUF (`--model`) or a remote OpenAI-compatible server (`--base-url`). */
export const modelFlagOptions = {
  model: { type: "string", short: "m" },
  "base-url": { type: "string" },
  "remote-model": { type: "string" },
  "api-key-env": { type: "string" },
  api: { type: "string" },
  flavor: { type: "string" },
  "cache-dir": { type: "string" },
  // --ctx-size, --threads, --batch-size, --flash-attention, --load-timeout, --lora, --format: named,
  // bounded and parsed by the one local-model settings schema.
  ...localModelFlagOptions(MODEL_FLAG_SETTINGS),
} as const;

/** Sampling and output flags shared by generate and chat. */
export const generationFlagOptions = {
  "max-tokens": { type: "string", short: "n" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "min-p": { type: "string" },
  "repeat-penalty": { type: "string" },
  "repeat-last-n": { type: "string" },
  "frequency-penalty": { type: "string" },
  "presence-penalty": { type: "string" },
  seed: { type: "string" },
  stop: { type: "string", multiple: true },
  "json-schema": { type: "string" },
  window: { type: "string" },
} as const;

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ModelSelection {
  describe: string;
  create(): Promise<LanguageModel>;
}

/** Turn model flags into a LanguageModel factory; only this composition code knows the providers. */
/** `io` is the command's own environment and working folder: a created model's name and a relative
 * GGUF path resolve against them and `--cache-dir`, exactly as `camelid serve` resolves them. */
/** `flagPrefix` is the prefix the command's own flags carry ("judge-"), so that an error names the flag typed. */
export function selectModel(values: FlagValues, io: { env: NodeJS.ProcessEnv; cwd: string }, flagPrefix = ""): ModelSelection {
  const env = io.env;
  const model = values.model as string | undefined;
  const packaged = model === undefined ? undefined : resolveModelName(model, defaultCacheDir(env, values["cache-dir"] as string | undefined), io.cwd);
  const modelPath = packaged?.path ?? model;
  const baseURL = values["base-url"] as string | undefined;
  if (modelPath && baseURL) throw new InvalidArgumentError("model", "give either --model <file.gguf> or --base-url <url>, not both");
  const promptFormat = values.format as string | undefined;
  if (baseURL) {
    const remoteModel = values["remote-model"] as string | undefined;
    if (!remoteModel) throw new InvalidArgumentError("remote-model", "--base-url needs --remote-model <id>");
    const api = (values.api as string | undefined) ?? "chat";
    if (api !== "chat" && api !== "completions") throw new InvalidArgumentError("api", `--api must be "chat" or "completions", got "${api}"`);
    const keyVariable = (values["api-key-env"] as string | undefined) ?? "OPENAI_API_KEY";
    const flavor = values.flavor as string | undefined;
    return {
      describe: `${remoteModel} at ${baseURL}`,
      async create() {
        const { createOpenAICompatibleModel } = await import("../providers/openai/index.js");
        return createOpenAICompatibleModel({
          baseURL,
          apiKey: env[keyVariable],
          model: remoteModel,
          api,
          ...(flavor ? { flavor: flavor as never } : {}),
          ...(promptFormat ? { promptFormat } : {}),
        });
      },
    };
  }
  if (!modelPath) throw new InvalidArgumentError("model", "no model given: use --model <file.gguf> (or --base-url with --remote-model)");
  const { loadTimeoutSeconds, lora: flagAdapters, engine, llamaServerBin, ...settings } = parseLocalModelFlags(values, MODEL_FLAG_SETTINGS, "", flagPrefix);
  // A created model's context size, adapters and format are defaults under the flags (its adapters come first).
  const contextSize = settings.contextSize ?? packaged?.contextSize;
  const lora = [...(packaged?.lora ?? []), ...(flagAdapters ?? [])];
  const format = settings.promptFormat ?? packaged?.promptFormat;
  return {
    describe: modelPath,
    async create() {
      const options = {
        modelPath,
        ...settings,
        ...(contextSize ? { contextSize } : {}),
        ...(lora.length ? { lora } : {}),
        ...(format ? { promptFormat: format } : {}),
        ...(packaged?.chatTemplate ? { chatTemplate: packaged.chatTemplate } : {}),
        ...(loadTimeoutSeconds ? { loadTimeoutMs: loadTimeoutSeconds * 1000 } : {}),
      };
      let local: LanguageModel;
      if (engine === "llama-server") {
        // One process for this command's run; it ends with the command (dispose, or the watchdog on exit).
        const { createLlamaServerModel } = await import("../providers/llama-server/index.js");
        const cacheDir = defaultCacheDir(env, values["cache-dir"] as string | undefined);
        local = createLlamaServerModel({ ...options, cacheDir, logDir: join(cacheDir, "engines", "logs"), keepAliveSeconds: -1, ...(llamaServerBin ? { llamaServerBin: resolve(io.cwd, llamaServerBin) } : {}) });
      } else {
        const { createLocalModel } = await import("../providers/local/index.js");
        local = createLocalModel(options);
      }
      return packaged ? withDefaultsOf(packaged, local) : local;
    },
  };
}

/** A created model's system prompt and sampling defaults, under the flags' own (generate/chat pass those per call). */
async function withDefaultsOf(packaged: ModelPackage, model: LanguageModel): Promise<LanguageModel> {
  const { withPackagedDefaults } = await import("../registry/packaged-model.js");
  return withPackagedDefaults(model, { system: packaged.system, sampling: packaged.sampling });
}

/** Generation flags → CallOptions (without messages/prompt). */
export function generationOptions(values: FlagValues): Omit<CallOptions, "messages" | "prompt"> {
  const options: Omit<CallOptions, "messages" | "prompt"> = {};
  const set = <K extends keyof CallOptions>(key: K, value: CallOptions[K] | undefined) => {
    if (value !== undefined) (options as CallOptions)[key] = value;
  };
  set("maxTokens", numberFlag(values["max-tokens"], "max-tokens", { min: 0, integer: true }));
  set("temperature", numberFlag(values.temperature, "temperature", { min: 0, max: 100 }));
  set("topP", numberFlag(values["top-p"], "top-p", { min: 0, max: 1 }));
  set("topK", numberFlag(values["top-k"], "top-k", { min: 0, integer: true }));
  set("minP", numberFlag(values["min-p"], "min-p", { min: 0, max: 1 }));
  set("repeatPenalty", numberFlag(values["repeat-penalty"], "repeat-penalty", { min: 0 }));
  set("repeatLastN", numberFlag(values["repeat-last-n"], "repeat-last-n", { min: 0, integer: true }));
  set("frequencyPenalty", numberFlag(values["frequency-penalty"], "frequency-penalty", { min: -2, max: 2 }));
  set("presencePenalty", numberFlag(values["presence-penalty"], "presence-penalty", { min: -2, max: 2 }));
  set("seed", numberFlag(values.seed, "seed", { integer: true }));
  const stop = values.stop as string[] | undefined;
  if (stop?.length) set("stop", stop.map(unescapeFlag));
  const schemaFile = values["json-schema"] as string | undefined;
  if (schemaFile) set("responseFormat", { type: "json", schema: readJsonSchema(schemaFile) });
  const window = values.window as string | undefined;
  if (window) set("windowStrategy", parseWindowFlag(window));
  if (values.format) set("promptFormat", values.format as string);
  return options;
}

/** `--stop '\n\n'` should mean two newlines, as users of llama.cpp's `-r` expect. */
export function unescapeFlag(value: string): string {
  return value.replace(/\\(n|t|r|\\)/g, (_, c: string) => ({ n: "\n", t: "\t", r: "\r", "\\": "\\" })[c] ?? c);
}

function readJsonSchema(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InvalidArgumentError("json-schema", `cannot read --json-schema file ${file}: ${(error as Error).message}`);
  }
  try {
    const schema = JSON.parse(text) as unknown;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw new Error("not a JSON object");
    return schema as Record<string, unknown>;
  } catch (error) {
    throw new InvalidArgumentError("json-schema", `--json-schema file ${file} is not a JSON schema object: ${(error as Error).message}`);
  }
}

/** `keep-all`, `last:N` (turns) or `budget[:TOKENS]` (system prompt pinned). */
export function parseWindowFlag(value: string): WindowStrategy {
  if (value === "keep-all") return { type: "keep-all" };
  const last = /^last:(\d+)$/.exec(value);
  if (last) return { type: "last-turns", turns: Number(last[1]) };
  const budget = /^budget(?::(\d+))?$/.exec(value);
  if (budget) return budget[1] ? { type: "token-budget", maxPromptTokens: Number(budget[1]) } : { type: "token-budget" };
  throw new InvalidArgumentError("window", `--window must be keep-all, last:N or budget[:TOKENS], got "${value}"`);
}
