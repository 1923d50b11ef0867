// The few llama-server endpoints the engine uses, on a supervised process's loopback address: /props
// (slot context), /tokenize and /detokenize (llama.cpp's own tokenizer, so the prompt camelid renders is
// tokenized exactly as the in-process engine would), and /completion with token ids, streamed or whole.
import { z } from "zod";
import type { MultimodalPrompt } from "../shared/multimodal-prompt.js";
import { UpstreamError } from "../../errors/index.js";
import { defaultRetryPolicy } from "../../retry/retry-policy.js";
import { openResponse, readJsonBody, type OpenResponse, type TransportSettings } from "../openai/http-transport.js";
import { loopbackFetch } from "./loopback-fetch.js";

/** Nothing is retried at this level: the engine decides what a failed call means (a crash, a bad request). Loopback HTTP: see loopback-fetch.ts. */
export function engineTransport(modelId: string, timeoutMs: number): TransportSettings {
  return { fetch: loopbackFetch, headers: {}, timeoutMs, retry: { ...defaultRetryPolicy, maxRetries: 0 }, modelId };
}

const propsSchema = z.object({
  default_generation_settings: z.object({ n_ctx: z.number().int().positive() }),
  total_slots: z.number().int().positive(),
});
const tokenizeSchema = z.object({ tokens: z.array(z.union([z.number().int(), z.object({ id: z.number().int() })])) });
const detokenizeSchema = z.object({ content: z.string() });

async function postJson<T>(transport: TransportSettings, url: string, body: unknown, schema: z.ZodType<T>, abortSignal?: AbortSignal): Promise<T> {
  const payload = await readJsonBody(await openResponse(transport, { method: body === undefined ? "GET" : "POST", url, body, abortSignal }), url);
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new UpstreamError(`${url} returned an unexpected body`, 200, payload);
  return parsed.data;
}

export interface EngineProps {
  /** Tokens per slot (llama-server splits --ctx-size among its --parallel slots). */
  slotContextSize: number;
  slots: number;
}

export async function readProps(transport: TransportSettings, baseURL: string): Promise<EngineProps> {
  const props = await postJson(transport, `${baseURL}/props`, undefined, propsSchema);
  return { slotContextSize: props.default_generation_settings.n_ctx, slots: props.total_slots };
}

export async function tokenizeText(
  transport: TransportSettings,
  baseURL: string,
  text: string,
  options: { addSpecial: boolean; parseSpecial: boolean },
): Promise<number[]> {
  const body = { content: text, add_special: options.addSpecial, parse_special: options.parseSpecial };
  const result = await postJson(transport, `${baseURL}/tokenize`, body, tokenizeSchema);
  return result.tokens.map((token) => (typeof token === "number" ? token : token.id));
}

export async function detokenizeTokens(transport: TransportSettings, baseURL: string, tokens: number[]): Promise<string> {
  return (await postJson(transport, `${baseURL}/detokenize`, { tokens }, detokenizeSchema)).content;
}

const probabilitySchema = z.object({ id: z.number().int(), token: z.string(), bytes: z.array(z.number().int()).optional(), logprob: z.number() });

/**
 * One event of a streamed /completion (llama-server's own format, not OpenAI's), or the whole answer of a
 * non-streamed one: the same fields, with all the text and every token's probabilities in one object.
 */
export const completionChunkSchema = z.object({
  content: z.string().default(""),
  stop: z.boolean(),
  stop_type: z.string().optional(),
  stopping_word: z.string().optional(),
  tokens_predicted: z.number().int().optional(),
  tokens_evaluated: z.number().int().optional(),
  /** prompt_n: prompt tokens evaluated; predicted_ms: from the first sampled token to the last. */
  timings: z.object({ prompt_n: z.number().optional(), predicted_ms: z.number().optional() }).passthrough().optional(),
  completion_probabilities: z.array(probabilitySchema.extend({ top_logprobs: z.array(probabilitySchema).optional() })).optional(),
});
export type CompletionChunk = z.infer<typeof completionChunkSchema>;

/** /completion's request body: token ids as the prompt, and llama.cpp's sampling fields one for one. */
export interface CompletionRequest {
  /** Token ids; with images, the rendered text and the images (llama.cpp's mtmd tokenizes both). */
  prompt: number[] | MultimodalPrompt;
  n_predict: number;
  /**
   * false when the caller collects the whole answer: llama-server then builds and sends no event per
   * token from its decoding loop (8 streams decode ~10% faster on one thread).
   */
  stream: boolean;
  temperature: number;
  top_k: number;
  top_p: number;
  min_p: number;
  repeat_penalty: number;
  repeat_last_n: number;
  frequency_penalty: number;
  presence_penalty: number;
  seed: number;
  stop: string[];
  cache_prompt: boolean;
  n_probs?: number;
  json_schema?: Record<string, unknown>;
}

export function openCompletion(transport: TransportSettings, baseURL: string, body: CompletionRequest, abortSignal: AbortSignal): Promise<OpenResponse> {
  return openResponse(transport, { method: "POST", url: `${baseURL}/completion`, body, abortSignal });
}
