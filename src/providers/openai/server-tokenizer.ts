import { z } from "zod";
import { InvalidArgumentError, UpstreamError } from "../../errors/index.js";
import type { RenderedPrompt } from "../../spec/prompt.js";
import { openResponse, readJsonBody, type TransportSettings } from "./http-transport.js";
import type { PreparedPrompt } from "./prompt-preparation.js";
import { type ResolvedSettings, serverRoot } from "./settings.js";

export interface ServerTokenizer {
  tokenize(text: string, options?: { addBos?: boolean; parseSpecial?: boolean }): Promise<number[]>;
  detokenize(tokens: number[]): Promise<string>;
}

const llamaTokenizeSchema = z.object({ tokens: z.array(z.union([z.number().int(), z.object({ id: z.number().int() })])) });
const llamaDetokenizeSchema = z.object({ content: z.string() });
const vllmTokenizeSchema = z.object({ tokens: z.array(z.number().int()) });
const vllmDetokenizeSchema = z.object({ prompt: z.string() });
const applyTemplateSchema = z.object({ prompt: z.string() });

/**
 * Tokenization through the server's own endpoints (outside /v1): llama-server's /tokenize and
 * /detokenize, vLLM's of the same names. Other servers have none, so the model leaves them undefined.
 */
export function createServerTokenizer(settings: ResolvedSettings, transport: TransportSettings): ServerTokenizer | undefined {
  const root = serverRoot(settings.baseURL);
  const post = async <T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T> => {
    const url = `${root}${path}`;
    const payload = await readJsonBody(await openResponse(transport, { method: "POST", url, body }), url);
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new UpstreamError(`${url} returned an unexpected body`, 200, payload);
    return parsed.data;
  };
  const checkTokens = (tokens: number[]) => {
    if (!Array.isArray(tokens) || tokens.some((token) => !Number.isInteger(token) || token < 0)) {
      throw new InvalidArgumentError("tokens", "tokens must be an array of non-negative integer ids");
    }
  };
  if (settings.flavor === "llama-server") {
    return {
      async tokenize(text, options = {}) {
        const result = await post(
          "/tokenize",
          { content: text, add_special: options.addBos ?? false, parse_special: options.parseSpecial ?? true },
          llamaTokenizeSchema,
        );
        // With `with_pieces` the server answers objects; take the id either way.
        return result.tokens.map((token) => (typeof token === "number" ? token : token.id));
      },
      async detokenize(tokens) {
        checkTokens(tokens);
        return (await post("/detokenize", { tokens }, llamaDetokenizeSchema)).content;
      },
    };
  }
  if (settings.flavor === "vllm") {
    return {
      async tokenize(text, options = {}) {
        const body = { model: settings.model, prompt: text, add_special_tokens: options.addBos ?? false };
        return (await post("/tokenize", body, vllmTokenizeSchema)).tokens;
      },
      async detokenize(tokens) {
        checkTokens(tokens);
        return (await post("/detokenize", { model: settings.model, tokens }, vllmDetokenizeSchema)).prompt;
      },
    };
  }
  return undefined;
}

/**
 * llama-server can show the exact text its chat template makes of the messages (POST /apply-template),
 * so for that server "show me the prompt" is not a guess even on the chat API.
 */
export async function applyServerTemplate(
  settings: ResolvedSettings,
  transport: TransportSettings,
  prepared: PreparedPrompt,
  abortSignal?: AbortSignal,
): Promise<RenderedPrompt> {
  const url = `${serverRoot(settings.baseURL)}/apply-template`;
  const open = await openResponse(transport, { method: "POST", url, body: { messages: prepared.messages }, abortSignal });
  const parsed = applyTemplateSchema.safeParse(await readJsonBody(open, url));
  if (!parsed.success) throw new UpstreamError(`${url} returned an unexpected body`, 200);
  return {
    ...prepared.rendered,
    text: parsed.data.prompt,
    format: { ...prepared.rendered.format, reason: `${prepared.rendered.format.reason}; text from llama-server's /apply-template` },
  };
}
