// A served stream as OpenAI chat.completion.chunk payloads (what `stream: true` clients read), shared
// by /v1/chat/completions and the playground's persisted replies.
import { toHttpError, type OpenAIErrorBody } from "../../errors/index.js";
import type { ServedStream } from "../generation-service.js";
import { chatChunk, chatTextChunkSerializer, type ChatCompletionChunk, type ResponseIdentity } from "./response-shapes.js";
import { nodeResponseOf, nodeSseResponse } from "./sse-node-writer.js";
import { sseResponse } from "./sse-response.js";

/** An SSE response of `payloads`: written straight to Node's socket when there is one, else a web stream. */
export function sseResponseFor(env: unknown, payloads: AsyncGenerator<string, void, undefined>, onCancel: () => unknown, headers: Record<string, string>): Response {
  const outgoing = nodeResponseOf(env);
  return outgoing ? nodeSseResponse(outgoing, payloads, onCancel, headers) : sseResponse(payloads, onCancel, headers);
}

/** One `data:` payload of a chat stream before "[DONE]": a chunk, or the error that ended the stream. */
export type ChatStreamPayload = ChatCompletionChunk | OpenAIErrorBody;

/**
 * The role chunk of every choice, then deltas, finish chunks, optional usage (with llama-server's
 * `timings` beside it) and "[DONE]" (or an error body).
 */
export async function* chatStreamEvents(
  identity: ResponseIdentity,
  parts: ServedStream["parts"],
  options: { choiceCount: number; includeUsage: boolean },
): AsyncGenerator<string, void, undefined> {
  const textChunk = chatTextChunkSerializer(identity);
  for (let index = 0; index < options.choiceCount; index++) yield JSON.stringify(chatChunk(identity, { index, delta: { role: "assistant", content: "" } }));
  for await (const part of parts) {
    if (part.type === "text-delta") {
      yield part.logprobs
        ? JSON.stringify(chatChunk(identity, { index: part.choiceIndex, delta: { content: part.delta }, logprobs: part.logprobs }))
        : textChunk(part.choiceIndex, part.delta);
    } else if (part.type === "choice-finish") {
      yield JSON.stringify(chatChunk(identity, { index: part.choiceIndex, delta: {}, finishReason: part.finishReason }));
    } else if (part.type === "finish") {
      if (options.includeUsage) yield JSON.stringify(chatChunk(identity, null, part.usage, part.timings));
      yield "[DONE]";
    } else if (part.type === "error") {
      yield JSON.stringify(toHttpError(part.error).body);
    }
  }
}
