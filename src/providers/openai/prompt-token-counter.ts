import { z } from "zod";
import { UpstreamError } from "../../errors/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import { openResponse, readJsonBody, type TransportSettings } from "./http-transport.js";
import type { PreparedPrompt } from "./prompt-preparation.js";
import { applyServerTemplate, type ServerTokenizer } from "./server-tokenizer.js";
import { type ResolvedSettings, serverRoot } from "./settings.js";

/** Prompt tokens of a conversation as the server will see it (after its template or ours). */
export type PromptTokenCounter = (messages: ChatMessage[], prepare: (messages: ChatMessage[]) => PreparedPrompt) => Promise<number>;

const vllmChatTokenizeSchema = z.object({ count: z.number().int().nonnegative() });

/**
 * Counting needs the server's tokenizer. Completions: tokenize the text our format rendered.
 * llama-server chat: its /apply-template text, tokenized. vLLM chat: its /tokenize takes messages and
 * applies the chat template itself. Other servers cannot count (undefined).
 */
export function createPromptTokenCounter(
  settings: ResolvedSettings,
  transport: TransportSettings,
  tokenizer: ServerTokenizer | undefined,
): PromptTokenCounter | undefined {
  if (!tokenizer) return undefined;
  return async (messages, prepare) => {
    const prepared = prepare(messages);
    if (prepared.prompt !== undefined) return (await tokenizer.tokenize(prepared.prompt, { addBos: true, parseSpecial: true })).length;
    if (settings.flavor === "llama-server") {
      const rendered = await applyServerTemplate(settings, transport, prepared);
      // The template writes its own BOS text; parse it as the special token it is.
      return (await tokenizer.tokenize(rendered.text, { addBos: false, parseSpecial: true })).length;
    }
    const url = `${serverRoot(settings.baseURL)}/tokenize`;
    const body = { model: settings.model, messages: prepared.messages, add_generation_prompt: true };
    const payload = await readJsonBody(await openResponse(transport, { method: "POST", url, body }), url);
    const parsed = vllmChatTokenizeSchema.safeParse(payload);
    if (!parsed.success) throw new UpstreamError(`${url} returned no token count`, 200, payload);
    return parsed.data.count;
  };
}
