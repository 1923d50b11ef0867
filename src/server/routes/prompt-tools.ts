// Dry run (the exact prompt and tokens a chat request would evaluate) and tokenize/detokenize.
import { UnsupportedFeatureError } from "../../errors/index.js";
import type { ServerApp, ServerContext } from "../context.js";
import { readJsonBody } from "../openai/parse-body.js";
import { chatCompletionRequestSchema, detokenizeRequestSchema, tokenizeRequestSchema } from "../openai/request-schemas.js";
import { prepareChatCall } from "../images/chat-images.js";
import type { RenderedPrompt } from "../../spec/index.js";

/** The dry run's answer (POST /v1/chat/completions/render): what the playground's prompt inspector shows. */
export function renderedPromptBody(model: string, rendered: RenderedPrompt) {
  return {
    object: "chat.completion.rendered_prompt" as const,
    model,
    prompt: rendered.text,
    tokens: rendered.tokens ?? null,
    // With images: their embeddings counted (null where a projector's count depends on the picture).
    token_count: rendered.tokenCount !== undefined ? rendered.tokenCount : (rendered.tokens?.length ?? null),
    /** Where each image's tokens go (null: no images, or a backend that does not evaluate them itself). */
    images: rendered.images ?? null,
    format: rendered.format,
    format_stops: rendered.formatStops,
    messages: rendered.messages ?? null,
    window: rendered.window ?? null,
  };
}
export type RenderedPromptResponse = ReturnType<typeof renderedPromptBody>;

export function registerPromptToolRoutes(app: ServerApp, context: ServerContext): void {
  app.post("/v1/chat/completions/render", async (c) => {
    const body = await readJsonBody(c.req, chatCompletionRequestSchema);
    const entry = context.registry.get(body.model);
    const { options } = await prepareChatCall(entry, body, context.images);
    const model = await entry.model();
    const rendered = await model.renderPrompt(options);
    return c.json(renderedPromptBody(entry.id, rendered));
  });

  app.post("/v1/tokenize", async (c) => {
    const body = await readJsonBody(c.req, tokenizeRequestSchema);
    const entry = context.registry.get(body.model);
    const model = await entry.model();
    if (!model.tokenize) throw new UnsupportedFeatureError(`model "${entry.id}" cannot tokenize (its backend does not expose a tokenizer)`);
    const tokens = await model.tokenize(body.text, { addBos: body.add_bos, parseSpecial: body.parse_special });
    return c.json({ object: "tokens", model: entry.id, tokens, count: tokens.length });
  });

  app.post("/v1/detokenize", async (c) => {
    const body = await readJsonBody(c.req, detokenizeRequestSchema);
    const entry = context.registry.get(body.model);
    const model = await entry.model();
    if (!model.detokenize) throw new UnsupportedFeatureError(`model "${entry.id}" cannot detokenize (its backend does not expose a tokenizer)`);
    return c.json({ object: "text", model: entry.id, text: await model.detokenize(body.tokens) });
  });
}
