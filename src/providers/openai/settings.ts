import { z } from "zod";
import { ConfigError } from "../../errors/index.js";
import type { PromptFormat } from "../../prompts/index.js";
import type { Sleep } from "../../retry/sleep.js";
import type { FetchFunction } from "./http-transport.js";
import { defaultRetryPolicy, type RetryPolicy } from "../../retry/retry-policy.js";

/** Which server family is on the other end; decides which non-OpenAI fields it understands. */
export type ServerFlavor = "openai" | "vllm" | "llama-server" | "ollama";

export interface OpenAICompatibleSettings {
  /** Up to and including the version segment, e.g. "http://127.0.0.1:8080/v1". */
  baseURL: string;
  apiKey?: string;
  model: string;
  /** "chat": the server applies its own template; "completions": raw text, messages rendered by us. */
  api: "chat" | "completions";
  /** Default "openai": only official fields are sent. */
  flavor?: ServerFlavor;
  headers?: Record<string, string>;
  /** See TransportSettings.timeoutMs. Default 10 minutes: local servers can be slow but should not hang forever. */
  timeoutMs?: number;
  /** Default 2. */
  maxRetries?: number;
  /** Backoff tuning; defaults follow OpenAI's client (0.5 s doubling to 8 s). `sleep` waits (tests inject one). */
  retry?: { initialDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number; sleep?: Sleep };
  fetch?: FetchFunction;
  /**
   * For api "completions" with messages: the format that renders them (a registry name or a format object).
   * A per-call `promptFormat` wins over this one.
   */
  promptFormat?: string | PromptFormat;
}

export interface ResolvedSettings {
  baseURL: string;
  model: string;
  api: "chat" | "completions";
  flavor: ServerFlavor;
  headers: Record<string, string>;
  timeoutMs: number;
  retry: RetryPolicy;
  fetch: FetchFunction;
  promptFormat?: string | PromptFormat;
}

const isPromptFormat = (value: unknown): value is PromptFormat =>
  typeof value === "object" && value !== null && typeof (value as PromptFormat).render === "function" && typeof (value as PromptFormat).name === "string";

const settingsSchema = z.object({
  baseURL: z.url({ protocol: /^https?$/ }),
  apiKey: z.string().optional(),
  model: z.string().min(1),
  api: z.enum(["chat", "completions"]),
  flavor: z.enum(["openai", "vllm", "llama-server", "ollama"]).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().positive().optional(),
  maxRetries: z.number().int().min(0).max(20).optional(),
  retry: z
    .object({
      initialDelayMs: z.number().min(0).optional(),
      maxDelayMs: z.number().min(0).optional(),
      maxRetryAfterMs: z.number().min(0).optional(),
      sleep: z.custom<Sleep>((value) => typeof value === "function", "must be a sleep function").optional(),
    })
    .optional(),
  fetch: z.custom<FetchFunction>((value) => typeof value === "function", "must be a fetch function").optional(),
  promptFormat: z
    .union([z.string().min(1), z.custom<PromptFormat>(isPromptFormat, "must be a format name or a PromptFormat")])
    .optional(),
});

const defaultTimeoutMs = 10 * 60 * 1000;

/** Validate the settings at the edge; a bad one is a ConfigError naming the key. */
export function resolveSettings(input: OpenAICompatibleSettings): ResolvedSettings {
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join(".") || "settings";
    throw new ConfigError(`createOpenAICompatibleModel: "${key}" ${issue.message}`);
  }
  const settings = parsed.data;
  const headers: Record<string, string> = { ...settings.headers };
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  return {
    baseURL: settings.baseURL.replace(/\/+$/, ""),
    model: settings.model,
    api: settings.api,
    flavor: settings.flavor ?? "openai",
    headers,
    timeoutMs: settings.timeoutMs ?? defaultTimeoutMs,
    retry: {
      ...defaultRetryPolicy,
      maxRetries: settings.maxRetries ?? defaultRetryPolicy.maxRetries,
      ...definedOnly(settings.retry ?? {}),
    },
    fetch: settings.fetch ?? ((input, init) => fetch(input, init)),
    promptFormat: settings.promptFormat,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/** The server's root (llama-server keeps /tokenize, /props outside /v1). */
export function serverRoot(baseURL: string): string {
  return baseURL.replace(/\/v1$/, "");
}
