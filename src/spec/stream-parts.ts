import type { RenderedPrompt } from "./prompt.js";
import type { CallWarning, FinishReason, TokenLogprob, Timings, Usage } from "./results.js";

/** The typed parts of a streamed generation, in order: start, deltas, choice ends, finish (or error). */
export type StreamPart =
  | { type: "stream-start"; warnings: CallWarning[]; prompt?: RenderedPrompt }
  | {
      type: "text-delta";
      choiceIndex: number;
      /** Always whole UTF-8 characters: a character split across tokens waits for its last byte. */
      delta: string;
      logprobs?: TokenLogprob[];
    }
  | { type: "choice-finish"; choiceIndex: number; finishReason: FinishReason; stopReason?: string; completionTokens: number }
  | { type: "finish"; finishReason: FinishReason; usage: Usage; timings: Timings }
  | { type: "error"; error: Error };

export interface StreamResult {
  stream: ReadableStream<StreamPart>;
  warnings: CallWarning[];
  prompt?: RenderedPrompt;
  /** Which replica streams it, when the model routes over several upstreams. */
  servedBy?: string;
}
