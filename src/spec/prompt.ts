import type { ChatMessage } from "./messages.js";

/** Where the prompt format in use came from; reported with every call so nothing is silently guessed. */
export type PromptFormatSource =
  | "explicit" // the caller named a format
  | "model-template" // the model's own tokenizer.chat_template (GGUF) was rendered
  | "heuristic" // chosen from the model's name by the documented heuristic
  | "raw" // the caller passed a raw prompt: no format applied
  | "remote"; // a remote server applied its own template, which we cannot see

export interface PromptFormatChoice {
  /** Registry name (e.g. "vicuna-v1.1") or "gguf-jinja" for the model's own template. */
  name: string;
  source: PromptFormatSource;
  /** Why this format was chosen, in words (e.g. "model name contains 'vicuna'"). */
  reason: string;
}

/** Conversation-window strategy applied when history outgrows the context. */
export type WindowStrategy =
  | { type: "keep-all" }
  | { type: "last-turns"; turns: number }
  | { type: "token-budget"; maxPromptTokens?: number };

export interface WindowReport {
  strategy: WindowStrategy["type"];
  /** Messages removed from the start of the history (never the pinned system prompt). */
  droppedMessages: number;
  keptMessages: number;
}

/** Where one image's embeddings sit in an evaluated prompt. */
export interface ImageTokenSpan {
  sha256: string;
  /** Position of its first embedding in the evaluated sequence (text tokens and earlier images counted). */
  start: number;
  /** Embeddings it takes; null where the projector's count depends on the picture (see `reason`). */
  tokens: number | null;
  reason?: string;
}

/** The exact text (and tokens, where the backend can tokenize) sent to the model. */
export interface RenderedPrompt {
  text: string;
  /** Token ids exactly as evaluated, BOS included when the backend adds one (a prompt with images: its text tokens; `images` says where the images go). */
  tokens?: number[];
  /** Each image's span, for a backend that evaluates images (llama-server with --mmproj). */
  images?: ImageTokenSpan[];
  /** Positions the prompt takes, images included, when that differs from tokens.length; null: an image's count is unknown. */
  tokenCount?: number | null;
  format: PromptFormatChoice;
  /** Stop strings contributed by the format (merged with the caller's). */
  formatStops: string[];
  /** Messages after the window strategy ran. */
  messages?: ChatMessage[];
  window?: WindowReport;
}
