import { randomUUID } from "node:crypto";
import { streamSSE } from "hono/streaming";
import { toHttpError } from "../../errors/index.js";
import { clientIdentity, type ServerApp, type ServerContext } from "../context.js";
import { parseRequestBody } from "../openai/parse-body.js";
import { completionRequestSchema } from "../openai/request-schemas.js";
import { completionBody, completionChunk, type ResponseIdentity } from "../openai/response-shapes.js";
import { completionRequestToCallOptions } from "../openai/to-call-options.js";
import { loggedParameters } from "./logged-parameters.js";

export function registerCompletionRoutes(app: ServerApp, context: ServerContext): void {
  app.post("/v1/completions", async (c) => {
    const body = parseRequestBody(await c.req.text(), completionRequestSchema);
    const entry = context.registry.get(body.model);
    const options = completionRequestToCallOptions(body);
    const identity: ResponseIdentity = { id: `cmpl-${randomUUID().replace(/-/g, "")}`, created: Math.floor(Date.now() / 1000), model: body.model };
    const request = {
      id: identity.id,
      endpoint: "completions" as const,
      entry,
      options,
      client: clientIdentity(c, body.user),
      signal: c.req.raw.signal,
      logged: { parameters: loggedParameters(body) },
    };

    if (!body.stream) {
      const result = await context.service.generate(request);
      return c.json(completionBody(identity, result.choices, result.usage));
    }

    const served = await context.service.openStream(request);
    const includeUsage = body.stream_options?.include_usage === true;
    // text_offset continues across chunks, per choice, as in OpenAI's completions stream.
    const offsets: number[] = [];
    return streamSSE(c, async (sse) => {
      const send = (data: unknown) => sse.writeSSE({ data: JSON.stringify(data) });
      for await (const part of served.parts) {
        if (sse.aborted || c.req.raw.signal.aborted) break;
        if (part.type === "text-delta") {
          const textOffset = offsets[part.choiceIndex] ?? 0;
          offsets[part.choiceIndex] = textOffset + part.delta.length;
          await send(completionChunk(identity, { index: part.choiceIndex, text: part.delta, logprobs: part.logprobs, textOffset }));
        } else if (part.type === "choice-finish") {
          await send(completionChunk(identity, { index: part.choiceIndex, text: "", finishReason: part.finishReason }));
        } else if (part.type === "finish") {
          if (includeUsage) await send(completionChunk(identity, null, part.usage));
          await sse.writeSSE({ data: "[DONE]" });
        } else if (part.type === "error") {
          await send(toHttpError(part.error).body);
        }
      }
    });
  });
}
