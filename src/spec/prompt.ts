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

/** The exact text (and tokens, where the backend can tokenize) sent to the model. */
export interface RenderedPrompt {
  text: string;
  /** Token ids exactly as evaluated, BOS included when the backend adds one. */
  tokens?: number[];
  format: PromptFormatChoice;
  /** Stop strings contributed by the format (merged with the caller's). */
  formatStops: string[];
  /** Messages after the window strategy ran. */
  messages?: ChatMessage[];
  window?: WindowReport;
}
