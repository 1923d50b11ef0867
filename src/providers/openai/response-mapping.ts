import type { CallWarning, FinishReason, Timings, TokenLogprob, TopLogprob, Usage } from "../../spec/results.js";
import type { WireLogprobs, WireTimings, WireUsage } from "./response-schemas.js";

/**
 * Finish reasons as servers spell them, mapped to ours so remote and local results read the same.
 * Anything without a direct equivalent maps to the nearest reason plus a warning saying what happened.
 */
export function mapFinishReason(raw: string | null | undefined, choiceIndex: number): { finishReason: FinishReason; warning?: CallWarning } {
  switch (raw) {
    case "stop":
    case "eos":
    case "eos_token":
    case "stop_sequence":
    case "end_turn":
      return { finishReason: "stop" };
    case "length":
    case "max_tokens":
    case "model_length":
      return { finishReason: "length" };
    case "content_filter":
      return {
        finishReason: "stop",
        warning: { type: "other", message: `choice ${choiceIndex} was cut by the server's content filter (finish_reason "content_filter")` },
      };
    case "tool_calls":
    case "function_call":
      return {
        finishReason: "stop",
        warning: { type: "other", message: `choice ${choiceIndex} ended in a tool call (finish_reason "${raw}"), which this interface does not carry` },
      };
    case "abort":
    case "error":
      return {
        finishReason: "error",
        warning: { type: "other", message: `choice ${choiceIndex}: the server ended it with finish_reason "${raw}"` },
      };
    case null:
    case undefined:
    case "":
      return {
        finishReason: "stop",
        warning: { type: "other", message: `choice ${choiceIndex}: the server reported no finish_reason; assuming "stop"` },
      };
    default:
      return {
        finishReason: "stop",
        warning: { type: "other", message: `choice ${choiceIndex}: unknown finish_reason "${raw}" treated as "stop"` },
      };
  }
}

/** vLLM reports the stop string that matched (or an end-of-sequence token id, which says nothing more than "stop"). */
export function mapStopReason(raw: string | number | null | undefined): string | undefined {
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}

/**
 * Both logprob shapes (chat's `content` list, and the legacy parallel arrays of the completions API)
 * as our TokenLogprob list. Alternatives are kept only when the caller asked for them.
 */
export function mapLogprobs(wire: WireLogprobs | null | undefined, keepAlternatives: boolean): TokenLogprob[] | undefined {
  if (!wire) return undefined;
  if ("tokens" in wire) {
    return wire.tokens.map((token, position) => {
      const entry: TokenLogprob = { token, logprob: wire.token_logprobs[position] ?? Number.NEGATIVE_INFINITY };
      const alternatives = wire.top_logprobs?.[position];
      if (keepAlternatives && alternatives) {
        entry.topLogprobs = Object.entries(alternatives)
          .map(([alternative, logprob]) => ({ token: alternative, logprob }))
          .sort((a, b) => b.logprob - a.logprob);
      }
      return entry;
    });
  }
  if (!wire.content) return undefined;
  return wire.content.map((item) => {
    const entry: TokenLogprob = topLogprob(item);
    if (item.id !== undefined) entry.tokenId = item.id;
    if (keepAlternatives && item.top_logprobs) entry.topLogprobs = item.top_logprobs.map(topLogprob);
    return entry;
  });
}

function topLogprob(item: { token: string; logprob: number; bytes?: number[] | null }): TopLogprob {
  const mapped: TopLogprob = { token: item.token, logprob: item.logprob };
  if (item.bytes) mapped.bytes = item.bytes;
  return mapped;
}

/** Usage as reported, or (when a server sends none) the completion tokens we counted ourselves. */
export function mapUsage(wire: WireUsage | null | undefined, countedCompletionTokens: number): Usage {
  const promptTokens = wire?.prompt_tokens ?? 0;
  const completionTokens = wire?.completion_tokens ?? countedCompletionTokens;
  return { promptTokens, completionTokens, totalTokens: wire?.total_tokens ?? promptTokens + completionTokens };
}

export interface TimingMarks {
  /** performance.now() when the call started. */
  startedAt: number;
  /** When the first generated text arrived (undefined: none arrived, or the response came whole). */
  firstTokenAt?: number;
  finishedAt: number;
  completionTokens: number;
  /** Choices that produced a first token: each one's first token is not counted as decode. */
  choicesStarted: number;
  server?: WireTimings | null;
}

/**
 * Client-side timings, measured the same way for every server: time to first token is what the
 * caller waited (network included); decode speed counts tokens after each choice's first. A
 * non-streamed response arrives whole, so its first token is its last. llama-server's own prefill
 * speed is passed through when it reports one.
 */
export function measureTimings(marks: TimingMarks): Timings {
  const totalMs = marks.finishedAt - marks.startedAt;
  const firstTokenAt = marks.firstTokenAt ?? marks.finishedAt;
  const decodeMs = marks.finishedAt - firstTokenAt;
  const decodeTokens = Math.max(0, marks.completionTokens - marks.choicesStarted);
  const tokensPerSecond =
    decodeMs > 0 && decodeTokens > 0 ? (decodeTokens / decodeMs) * 1000 : totalMs > 0 ? (marks.completionTokens / totalMs) * 1000 : 0;
  const timings: Timings = { timeToFirstTokenMs: firstTokenAt - marks.startedAt, totalMs, tokensPerSecond };
  if (marks.server?.prompt_per_second !== undefined && Number.isFinite(marks.server.prompt_per_second)) {
    timings.promptTokensPerSecond = marks.server.prompt_per_second;
  }
  return timings;
}

/**
 * Per-choice completion tokens. Servers report one total; with one choice it is that choice's, with
 * several we use each choice's own count (logprob entries or streamed chunks), or, when we have none,
 * split the total by text length and say it is an estimate.
 */
export function splitCompletionTokens(
  total: number,
  choices: Array<{ text: string; countedTokens?: number }>,
): { perChoice: number[]; estimated: boolean } {
  if (choices.length === 1) return { perChoice: [total], estimated: false };
  if (choices.every((choice) => choice.countedTokens !== undefined)) {
    return { perChoice: choices.map((choice) => choice.countedTokens ?? 0), estimated: false };
  }
  const totalLength = choices.reduce((sum, choice) => sum + choice.text.length, 0);
  const perChoice = choices.map((choice) =>
    totalLength === 0 ? Math.floor(total / choices.length) : Math.floor((total * choice.text.length) / totalLength),
  );
  // Hand the rounding remainder to the first choices so the parts still add up to the total.
  let remainder = total - perChoice.reduce((sum, count) => sum + count, 0);
  for (let index = 0; remainder > 0 && choices.length > 0; index = (index + 1) % choices.length, remainder--) perChoice[index]++;
  return { perChoice, estimated: true };
}
