import { clientIdentity, type ServerApp, type ServerContext } from "../context.js";
import { readJsonBody } from "../openai/parse-body.js";
import { chatCompletionRequestSchema } from "../openai/request-schemas.js";
import { chatStreamEvents, sseResponseFor } from "../openai/chat-stream-events.js";
import { chatCompletionBody, newResponseIdentity } from "../openai/response-shapes.js";
import { warningsHeader } from "../openai/warnings-header.js";
import { prepareChatCall } from "../images/chat-images.js";
import { loggedParameters } from "./logged-parameters.js";

export function registerChatCompletionRoutes(app: ServerApp, context: ServerContext): void {
  app.post("/v1/chat/completions", async (c) => {
    const body = await readJsonBody(c.req, chatCompletionRequestSchema);
    const entry = context.registry.get(body.model);
    const { options, loggedMessages } = await prepareChatCall(entry, body, context.images);
    const identity = newResponseIdentity("chatcmpl", body.model);
    const request = {
      id: identity.id,
      endpoint: "chat.completions" as const,
      entry,
      options,
      client: clientIdentity(c),
      owner: c.get("visibility").owner,
      signal: c.req.raw.signal,
      logged: { messages: loggedMessages, parameters: loggedParameters(body) },
    };

    if (!body.stream) {
      const result = await context.service.generate(request);
      return c.json(chatCompletionBody(identity, result.choices, result.usage, result.timings), 200, { "x-request-id": identity.id, ...warningsHeader(result.warnings) });
    }

    const served = await context.service.openStream(request);
    const events = chatStreamEvents(identity, served.parts, { choiceCount: options.n ?? 1, includeUsage: body.stream_options?.include_usage === true });
    const headers = { "x-request-id": identity.id, ...warningsHeader(served.warnings) };
    return sseResponseFor(c.env, events, () => served.cancel(), headers);
  });
}
