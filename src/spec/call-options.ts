import type { ChatMessage } from "./messages.js";
import type { WindowStrategy } from "./prompt.js";

/** A JSON Schema object; kept structural so it can come straight from a request body. */
export type JsonSchema = Record<string, unknown>;

export type ResponseFormat =
  | { type: "text" }
  | { type: "json"; schema?: JsonSchema; name?: string };

/**
 * Options of one generation call. Exactly one of `messages` or `prompt` is given:
 * `messages` are rendered with the model's prompt format, `prompt` is sent as is.
 */
export interface CallOptions {
  messages?: ChatMessage[];
  prompt?: string;

  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  /** llama.cpp-style multiplicative penalty over the last `repeatLastN` tokens (1 = off). */
  repeatPenalty?: number;
  repeatLastN?: number;
  /** OpenAI-style additive penalties (0 = off). */
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
  /** Caller stop strings; the prompt format's own stops are added to these. */
  stop?: string[];
  /** Several completions for one request. */
  n?: number;
  logprobs?: boolean;
  /** Number of alternatives per position (0-20); implies logprobs. */
  topLogprobs?: number;
  responseFormat?: ResponseFormat;

  /** Force a registry prompt format by name (wins over the model's template and the heuristic). */
  promptFormat?: string;
  windowStrategy?: WindowStrategy;
  /** Add BOS for raw prompts (default: what the model's tokenizer says). */
  addBos?: boolean;

  abortSignal?: AbortSignal;
  /** Backend-specific settings, keyed by provider name; unknown keys produce warnings. */
  providerOptions?: Record<string, Record<string, unknown>>;
}
