import type { ChatMessage, ChatRole } from "../spec/messages.js";

/**
 * One piece of a rendered prompt. Format markup that must become real special tokens (LLaMA-2's
 * `<s>`/`</s>`, ChatML's `<|im_start|>`) is `special: true`; message content is never parsed for
 * special tokens, so a user typing "<s>" cannot inject one. Training uses `trainable` to build the
 * loss mask segment by segment (assistant content and its end-of-turn marker).
 */
export interface PromptSegment {
  text: string;
  special: boolean;
  /** The message this segment belongs to (undefined for pure format scaffolding). */
  messageIndex?: number;
  role?: ChatRole;
  /** True for an assistant reply's content and the end-of-turn marker that closes it. */
  trainable: boolean;
}

export interface RenderOptions {
  /** End with the assistant's turn opened, ready for generation (default true). */
  addGenerationPrompt?: boolean;
  /** Token strings from the model's vocabulary, for formats and Jinja templates that need them. */
  bosToken?: string;
  eosToken?: string;
  /**
   * Strings the tokenizer treats as special (control) tokens, e.g. a GGUF vocabulary's control tokens.
   * Used by Jinja templates: where the template itself emits one of them it becomes a special segment.
   */
  specialTokens?: string[];
}

export interface RenderedFormat {
  segments: PromptSegment[];
  /** segments joined: the exact prompt text. */
  text: string;
  /** Whether the text already begins with the BOS token (then the tokenizer must not add another). */
  startsWithBos: boolean;
  /** Stop strings that end the assistant's turn in this format. */
  stops: string[];
}

export interface PromptFormat {
  /** Registry name, e.g. "alpaca", "vicuna-v1.1", "llama-2-chat", "chatml", "llama-3". */
  name: string;
  description: string;
  /** Where the definition comes from (paper, repository file), for users who want to check it. */
  reference: string;
  supportsSystem: boolean;
  /**
   * The stop strings every render of this format returns with default BOS/EOS tokens (rendering with a
   * model's own EOS token puts that token in `RenderedFormat.stops` instead). Listed without rendering.
   */
  stops?: string[];
  render(messages: ChatMessage[], options?: RenderOptions): RenderedFormat;
}
