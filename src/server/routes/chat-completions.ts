import { randomUUID } from "node:crypto";
import { toHttpError } from "../../errors/index.js";
import { clientIdentity, type ServerApp, type ServerContext } from "../context.js";
import { readJsonBody } from "../openai/parse-body.js";
import { chatCompletionRequestSchema } from "../openai/request-schemas.js";
import { chatChunk, chatCompletionBody, chatTextChunkSerializer, type ResponseIdentity } from "../openai/response-shapes.js";
import { nodeResponseOf, nodeSseResponse } from "../openai/sse-node-writer.js";
import { sseResponse } from "../openai/sse-response.js";
import { warningsHeader } from "../openai/warnings-header.js";
import { chatRequestToCallOptions } from "../openai/to-call-options.js";
import { loggedParameters } from "./logged-parameters.js";

export function registerChatCompletionRoutes(app: ServerApp, context: ServerContext): void {
  app.post("/v1/chat/completions", async (c) => {
    const body = await readJsonBody(c.req, chatCompletionRequestSchema);
    const entry = context.registry.get(body.model);
    const options = chatRequestToCallOptions(body);
    const identity: ResponseIdentity = { id: `chatcmpl-${randomUUID().replace(/-/g, "")}`, created: Math.floor(Date.now() / 1000), model: body.model };
    const request = {
      id: identity.id,
      endpoint: "chat.completions" as const,
      entry,
      options,
      client: clientIdentity(c),
      owner: c.get("visibility").owner,
      signal: c.req.raw.signal,
      logged: { messages: body.messages, parameters: loggedParameters(body) },
    };

    if (!body.stream) {
      const result = await context.service.generate(request);
      return c.json(chatCompletionBody(identity, result.choices, result.usage), 200, { "x-request-id": identity.id, ...warningsHeader(result.warnings) });
    }

    const served = await context.service.openStream(request);
    const choiceCount = options.n ?? 1;
    const includeUsage = body.stream_options?.include_usage === true;
    const textChunk = chatTextChunkSerializer(identity);
    async function* events(): AsyncGenerator<string, void, undefined> {
      for (let index = 0; index < choiceCount; index++) yield JSON.stringify(chatChunk(identity, { index, delta: { role: "assistant", content: "" } }));
      for await (const part of served.parts) {
        if (part.type === "text-delta") {
          yield part.logprobs
            ? JSON.stringify(chatChunk(identity, { index: part.choiceIndex, delta: { content: part.delta }, logprobs: part.logprobs }))
            : textChunk(part.choiceIndex, part.delta);
        } else if (part.type === "choice-finish") {
          yield JSON.stringify(chatChunk(identity, { index: part.choiceIndex, delta: {}, finishReason: part.finishReason }));
        } else if (part.type === "finish") {
          if (includeUsage) yield JSON.stringify(chatChunk(identity, null, part.usage));
          yield "[DONE]";
        } else if (part.type === "error") {
          yield JSON.stringify(toHttpError(part.error).body);
        }
      }
    }
    const headers = { "x-request-id": identity.id, ...warningsHeader(served.warnings) };
    const outgoing = nodeResponseOf(c.env);
    if (outgoing) return nodeSseResponse(outgoing, events(), () => served.cancel(), headers);
    return sseResponse(events(), () => served.cancel(), headers);
  });
}
