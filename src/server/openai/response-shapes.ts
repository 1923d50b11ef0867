// Our results → OpenAI response bodies and stream chunks (chat.completion, text_completion).
import { randomUUID } from "node:crypto";
import type { Choice, FinishReason, Timings, TokenLogprob, TopLogprob, Usage } from "../../spec/index.js";

export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

/** A fresh identity for one response: OpenAI's id style (`chatcmpl-`/`cmpl-` and 32 hex digits), seconds since the epoch. */
export function newResponseIdentity(prefix: "chatcmpl" | "cmpl", model: string): ResponseIdentity {
  return { id: `${prefix}-${randomUUID().replace(/-/g, "")}`, created: Math.floor(Date.now() / 1000), model };
}

const encoder = new TextEncoder();

/** OpenAI has no "abort"/"error" finish reason; an aborted choice never reaches a client anyway. */
export function openAIFinishReason(reason: FinishReason): string {
  return reason === "abort" ? "stop" : reason;
}

export function usageBody(usage: Usage) {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens };
}

const perSecond = (count: number, ms: number) => (ms > 0 ? (1000 * count) / ms : 0);
const perToken = (ms: number, count: number) => (count > 0 ? ms / count : 0);

/**
 * llama-server's `timings` object (same field names), so its clients and UIs read our streams: the
 * prompt phase is the time to the first token, the predicted phase the rest; predicted_per_second is
 * the backend's own decode rate when it measured one.
 */
export function timingsBody(usage: Usage, timings: Timings) {
  const promptMs = timings.timeToFirstTokenMs;
  const predictedMs = Math.max(timings.totalMs - promptMs, 0);
  return {
    prompt_n: usage.promptTokens,
    prompt_ms: promptMs,
    prompt_per_token_ms: perToken(promptMs, usage.promptTokens),
    prompt_per_second: timings.promptTokensPerSecond ?? perSecond(usage.promptTokens, promptMs),
    predicted_n: usage.completionTokens,
    predicted_ms: predictedMs,
    predicted_per_token_ms: perToken(predictedMs, usage.completionTokens),
    predicted_per_second: timings.tokensPerSecond > 0 ? timings.tokensPerSecond : perSecond(usage.completionTokens, predictedMs),
  };
}

function topEntry(top: TopLogprob) {
  return { token: top.token, logprob: top.logprob, bytes: top.bytes ?? [...encoder.encode(top.token)] };
}

/** Chat API logprobs: `{content: [{token, logprob, bytes, top_logprobs}]}`. */
export function chatLogprobs(logprobs: TokenLogprob[] | undefined) {
  if (!logprobs) return null;
  return {
    content: logprobs.map((entry) => ({ ...topEntry(entry), top_logprobs: (entry.topLogprobs ?? []).map(topEntry) })),
    refusal: null,
  };
}

/** Completions API logprobs: parallel arrays, with `text_offset` counted from `startOffset`. */
export function completionLogprobs(logprobs: TokenLogprob[] | undefined, startOffset = 0) {
  if (!logprobs) return null;
  let offset = startOffset;
  const textOffset: number[] = [];
  for (const entry of logprobs) {
    textOffset.push(offset);
    offset += entry.token.length;
  }
  return {
    tokens: logprobs.map((entry) => entry.token),
    token_logprobs: logprobs.map((entry) => entry.logprob),
    top_logprobs: logprobs.map((entry) => Object.fromEntries((entry.topLogprobs ?? []).map((top) => [top.token, top.logprob]))),
    text_offset: textOffset,
  };
}

/** A whole answer carries llama-server's `timings` beside usage too, as llama-server's own whole answers do. */
export function chatCompletionBody(identity: ResponseIdentity, choices: Choice[], usage: Usage, timings?: Timings) {
  return {
    id: identity.id,
    object: "chat.completion" as const,
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: choices.map((choice) => ({
      index: choice.index,
      message: { role: "assistant" as const, content: choice.text, refusal: null },
      logprobs: chatLogprobs(choice.logprobs),
      finish_reason: openAIFinishReason(choice.finishReason),
    })),
    usage: usageBody(usage),
    ...(timings ? { timings: timingsBody(usage, timings) } : {}),
  };
}

export function completionBody(identity: ResponseIdentity, choices: Choice[], usage: Usage, timings?: Timings) {
  return {
    id: identity.id,
    object: "text_completion" as const,
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: choices.map((choice) => ({
      index: choice.index,
      text: choice.text,
      logprobs: completionLogprobs(choice.logprobs),
      finish_reason: openAIFinishReason(choice.finishReason),
    })),
    usage: usageBody(usage),
    ...(timings ? { timings: timingsBody(usage, timings) } : {}),
  };
}

export function chatChunk(
  identity: ResponseIdentity,
  choice: { index: number; delta: { role?: "assistant"; content?: string }; logprobs?: TokenLogprob[]; finishReason?: FinishReason } | null,
  usage?: Usage,
  timings?: Timings,
) {
  return {
    id: identity.id,
    object: "chat.completion.chunk" as const,
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: choice
      ? [
          {
            index: choice.index,
            delta: choice.delta,
            logprobs: chatLogprobs(choice.logprobs),
            finish_reason: choice.finishReason ? openAIFinishReason(choice.finishReason) : null,
          },
        ]
      : [],
    ...(usage ? { usage: usageBody(usage) } : {}),
    ...(usage && timings ? { timings: timingsBody(usage, timings) } : {}),
  };
}

export function completionChunk(
  identity: ResponseIdentity,
  choice: { index: number; text: string; logprobs?: TokenLogprob[]; textOffset?: number; finishReason?: FinishReason } | null,
  usage?: Usage,
  timings?: Timings,
) {
  return {
    id: identity.id,
    object: "text_completion" as const,
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: choice
      ? [
          {
            index: choice.index,
            text: choice.text,
            logprobs: completionLogprobs(choice.logprobs, choice.textOffset),
            finish_reason: choice.finishReason ? openAIFinishReason(choice.finishReason) : null,
          },
        ]
      : [],
    ...(usage ? { usage: usageBody(usage) } : {}),
    ...(usage && timings ? { timings: timingsBody(usage, timings) } : {}),
  };
}

/** The shapes clients read (the playground types its reads with them). */
export type UsageBody = ReturnType<typeof usageBody>;
export type TimingsBody = ReturnType<typeof timingsBody>;
export type ChatCompletionChunk = ReturnType<typeof chatChunk>;
export type TextCompletion = ReturnType<typeof completionBody>;

/*
 * The chunk of every streamed token, serialized from a prefix computed once per request. The text is
 * the only part that changes from token to token; the result is byte-for-byte what
 * JSON.stringify(completionChunk(...)) / JSON.stringify(chatChunk(...)) gives for a plain text delta
 * (no logprobs, no finish reason), which test/server/chunk-serialization.test.ts checks.
 */
function chunkPrefix(identity: ResponseIdentity, object: string): string {
  return `{"id":${JSON.stringify(identity.id)},"object":"${object}","created":${JSON.stringify(identity.created)},"model":${JSON.stringify(identity.model)},"system_fingerprint":null,"choices":[{"index":`;
}

/** JSON of a completions stream chunk carrying `text` for choice `index`. */
export function completionTextChunkSerializer(identity: ResponseIdentity): (index: number, text: string) => string {
  const prefix = chunkPrefix(identity, "text_completion");
  return (index, text) => `${prefix}${index},"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":null}]}`;
}

/** JSON of a chat stream chunk whose delta is `{content: text}` for choice `index`. */
export function chatTextChunkSerializer(identity: ResponseIdentity): (index: number, text: string) => string {
  const prefix = chunkPrefix(identity, "chat.completion.chunk");
  return (index, text) => `${prefix}${index},"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}`;
}
