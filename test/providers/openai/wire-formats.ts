/**
 * Responses shaped exactly as each server family sends them (field sets, null-vs-absent, where usage
 * and timings go, how errors are written), so the provider is tested against what it will really read.
 * Sources: OpenAI API reference; vLLM's protocol.py / serving_chat.py; llama.cpp tools/server
 * (server.cpp, utils.hpp); Ollama openai/openai.go.
 */
import { sseDone, sseEvent, type UsageCounts, usage } from "../../support/fake-openai-server.js";

const created = 1_732_000_000;

export type Flavor = "openai" | "vllm" | "llama-server" | "ollama";

/** One streamed chat: `pieces` are the content deltas of choice 0. */
export function chatStreamEvents(flavor: Flavor, pieces: string[], options: { finishReason?: string; usage?: UsageCounts } = {}): string[] {
  const finishReason = options.finishReason ?? "stop";
  const counts = options.usage ?? usage(7, pieces.length);
  switch (flavor) {
    case "openai": {
      const base = { id: "chatcmpl-AbC", object: "chat.completion.chunk", created, model: "gpt-4o-mini-2024-07-18", service_tier: "default", system_fingerprint: "fp_0aa8d3e20b" };
      return [
        sseEvent({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }], usage: null }),
        ...pieces.map((piece) => sseEvent({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }], usage: null })),
        sseEvent({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }], usage: null }),
        sseEvent({ ...base, choices: [], usage: { ...counts, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } } }),
        sseDone,
      ];
    }
    case "vllm": {
      const base = { id: "chatcmpl-9f1c", object: "chat.completion.chunk", created, model: "meta-llama/Llama-3.1-8B-Instruct" };
      return [
        sseEvent({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] }),
        ...pieces.map((piece) => sseEvent({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] })),
        sseEvent({ ...base, choices: [{ index: 0, delta: { content: "" }, logprobs: null, finish_reason: finishReason, stop_reason: null }] }),
        sseEvent({ ...base, choices: [], usage: counts }),
        sseDone,
      ];
    }
    case "llama-server": {
      const base = { created, id: "chatcmpl-Xy12", model: "gpt-3.5-turbo", system_fingerprint: "b6000-abcdef12", object: "chat.completion.chunk" };
      return [
        sseEvent({ choices: [{ finish_reason: null, index: 0, delta: { role: "assistant", content: null } }], ...base }),
        ...pieces.map((piece) => sseEvent({ choices: [{ finish_reason: null, index: 0, delta: { content: piece } }], ...base })),
        sseEvent({ choices: [{ finish_reason: finishReason, index: 0, delta: {} }], ...base }),
        sseEvent({
          choices: [],
          ...base,
          usage: counts,
          timings: { prompt_n: counts.prompt_tokens, prompt_ms: 3.5, prompt_per_token_ms: 0.5, prompt_per_second: 2000, predicted_n: counts.completion_tokens, predicted_ms: 10, predicted_per_token_ms: 2, predicted_per_second: 500 },
        }),
        sseDone,
      ];
    }
    case "ollama": {
      const base = { id: "chatcmpl-123", object: "chat.completion.chunk", created, model: "llama3.2", system_fingerprint: "fp_ollama" };
      return [
        ...pieces.map((piece) => sseEvent({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: piece }, finish_reason: null }] })),
        sseEvent({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: finishReason }] }),
        sseEvent({ ...base, choices: [], usage: counts }),
        sseDone,
      ];
    }
  }
}

/** One non-streamed chat completion as each server returns it. */
export function chatResponseBody(flavor: Flavor, content: string, options: { finishReason?: string; usage?: UsageCounts } = {}) {
  const finishReason = options.finishReason ?? "stop";
  const counts = options.usage ?? usage(7, 3);
  switch (flavor) {
    case "openai":
      return {
        id: "chatcmpl-AbC",
        object: "chat.completion",
        created,
        model: "gpt-4o-mini-2024-07-18",
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null, annotations: [] }, logprobs: null, finish_reason: finishReason }],
        usage: { ...counts, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 } },
        service_tier: "default",
        system_fingerprint: "fp_0aa8d3e20b",
      };
    case "vllm":
      return {
        id: "chatcmpl-9f1c",
        object: "chat.completion",
        created,
        model: "meta-llama/Llama-3.1-8B-Instruct",
        choices: [{ index: 0, message: { role: "assistant", reasoning_content: null, content, tool_calls: [] }, logprobs: null, finish_reason: finishReason, stop_reason: null }],
        usage: { ...counts, prompt_tokens_details: null },
        prompt_logprobs: null,
      };
    case "llama-server":
      return {
        choices: [{ finish_reason: finishReason, index: 0, message: { role: "assistant", content } }],
        created,
        model: "gpt-3.5-turbo",
        system_fingerprint: "b6000-abcdef12",
        object: "chat.completion",
        usage: counts,
        id: "chatcmpl-Xy12",
        timings: { prompt_n: counts.prompt_tokens, prompt_ms: 3.5, prompt_per_token_ms: 0.5, prompt_per_second: 2000, predicted_n: counts.completion_tokens, predicted_ms: 10, predicted_per_token_ms: 3.3, predicted_per_second: 300 },
      };
    case "ollama":
      return {
        id: "chatcmpl-123",
        object: "chat.completion",
        created,
        model: "llama3.2",
        system_fingerprint: "fp_ollama",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finishReason }],
        usage: counts,
      };
  }
}

/** The error bodies each server sends for a prompt that does not fit (HTTP 400). */
export const contextOverflowBodies = {
  openai: {
    error: {
      message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    },
  },
  vllm: {
    object: "error",
    message: "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.",
    type: "BadRequestError",
    param: null,
    code: 400,
  },
  "llama-server": {
    error: {
      code: 400,
      message: "the request exceeds the available context size, try increasing it",
      type: "exceed_context_size_error",
      n_prompt_tokens: 600,
      n_ctx: 512,
    },
  },
};
