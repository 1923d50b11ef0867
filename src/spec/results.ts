import type { RenderedPrompt } from "./prompt.js";

/**
 * Why a completion ended. "stop": an end-of-turn token or stop string; "length": maxTokens or
 * the context was exhausted; "abort": the caller's AbortSignal; "error": the backend failed mid-way.
 */
export type FinishReason = "stop" | "length" | "abort" | "error";

export interface Usage {
  promptTokens: number;
  /** Summed over all `n` completions. */
  completionTokens: number;
  totalTokens: number;
}

export interface Timings {
  /** From the call to the first generated token (includes prompt evaluation). */
  timeToFirstTokenMs: number;
  totalMs: number;
  /** Prompt tokens evaluated per second (prefill). */
  promptTokensPerSecond?: number;
  /** Generated tokens per second after the first token (decode). */
  tokensPerSecond: number;
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes?: number[];
}

export interface TokenLogprob extends TopLogprob {
  tokenId?: number;
  topLogprobs?: TopLogprob[];
}

/** A setting the backend could not honour; reported, never silently dropped. */
export interface CallWarning {
  type: "unsupported-setting" | "other";
  setting?: string;
  message: string;
}

export interface Choice {
  index: number;
  text: string;
  finishReason: FinishReason;
  /** Which stop string or token ended it, when finishReason is "stop". */
  stopReason?: string;
  logprobs?: TokenLogprob[];
  completionTokens: number;
}

export interface GenerateResult {
  modelId: string;
  choices: Choice[];
  usage: Usage;
  timings: Timings;
  warnings: CallWarning[];
  /** The exact prompt sent (always present for local models; remote chat gives the messages only). */
  prompt?: RenderedPrompt;
  /** Which replica answered, when the model routes over several upstreams. */
  servedBy?: string;
}
