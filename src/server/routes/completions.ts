import { toHttpError } from "../../errors/index.js";
import { clientIdentity, type ServerApp, type ServerContext } from "../context.js";
import { readJsonBody } from "../openai/parse-body.js";
import { completionRequestSchema } from "../openai/request-schemas.js";
import { completionBody, completionChunk, completionTextChunkSerializer, newResponseIdentity } from "../openai/response-shapes.js";
import { nodeResponseOf, nodeSseResponse } from "../openai/sse-node-writer.js";
import { sseResponse } from "../openai/sse-response.js";
import { warningsHeader } from "../openai/warnings-header.js";
import { completionRequestToCallOptions } from "../openai/to-call-options.js";
import { loggedParameters } from "./logged-parameters.js";

export function registerCompletionRoutes(app: ServerApp, context: ServerContext): void {
  app.post("/v1/completions", async (c) => {
    const body = await readJsonBody(c.req, completionRequestSchema);
    const entry = context.registry.get(body.model);
    const options = completionRequestToCallOptions(body);
    const identity = newResponseIdentity("cmpl", body.model);
    const request = {
      id: identity.id,
      endpoint: "completions" as const,
      entry,
      options,
      client: clientIdentity(c),
      owner: c.get("visibility").owner,
      signal: c.req.raw.signal,
      logged: { parameters: loggedParameters(body) },
    };

    if (!body.stream) {
      const result = await context.service.generate(request);
      return c.json(completionBody(identity, result.choices, result.usage, result.timings), 200, { "x-request-id": identity.id, ...warningsHeader(result.warnings) });
    }

    const served = await context.service.openStream(request);
    const includeUsage = body.stream_options?.include_usage === true;
    // text_offset continues across chunks, per choice, as in OpenAI's completions stream.
    const offsets: number[] = [];
    const textChunk = completionTextChunkSerializer(identity);
    async function* events(): AsyncGenerator<string, void, undefined> {
      for await (const part of served.parts) {
        if (part.type === "text-delta") {
          const textOffset = offsets[part.choiceIndex] ?? 0;
          offsets[part.choiceIndex] = textOffset + part.delta.length;
          // text_offset only appears inside logprobs: a chunk without them has the same shape every token.
          yield part.logprobs
            ? JSON.stringify(completionChunk(identity, { index: part.choiceIndex, text: part.delta, logprobs: part.logprobs, textOffset }))
            : textChunk(part.choiceIndex, part.delta);
        } else if (part.type === "choice-finish") {
          yield JSON.stringify(completionChunk(identity, { index: part.choiceIndex, text: "", finishReason: part.finishReason }));
        } else if (part.type === "finish") {
          if (includeUsage) yield JSON.stringify(completionChunk(identity, null, part.usage, part.timings));
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
