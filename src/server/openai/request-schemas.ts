// zod schemas of the OpenAI request bodies we accept. Unknown fields are ignored (clients such as
// LangChain send extras), known fields with a wrong type are refused naming the field.
import { z } from "zod";

/**
 * The sampling options, with the one set of rules every endpoint (chat, completions, arena battles,
 * conversation settings) and every backend (local llama.cpp, remote upstreams) can honour, so a value
 * accepted here never fails later: a battle stored with `seed: -1` could never be answered.
 */
export const samplingOptionsSchema = z.object({
  max_tokens: z.number().int().min(1).max(1_000_000),
  temperature: z.number().min(0).max(2),
  /** 0 would keep no token at all (llama.cpp refuses it). */
  top_p: z.number().gt(0).max(1),
  top_k: z.number().int().min(0),
  min_p: z.number().min(0).max(1),
  repeat_penalty: z.number().gt(0),
  frequency_penalty: z.number().min(-2).max(2),
  presence_penalty: z.number().min(-2).max(2),
  /** llama.cpp's seeds are unsigned 32-bit; -1 ("random" in llama-server) is refused, not guessed at. */
  seed: z.number().int().min(0).max(0xffffffff),
  stop: z.union([z.string(), z.array(z.string()).max(16)]),
  /** camelid extension: force a registry prompt format by name. */
  prompt_format: z.string().min(1),
});
export type SamplingOptions = z.infer<typeof samplingOptionsSchema>;

const sampling = samplingOptionsSchema.shape;
/** OpenAI clients send null for "not set"; the request schemas accept that, the stored settings do not need to. */
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/** Sampling fields shared by chat and completions, plus llama.cpp-style extras clients may send. */
const samplingFields = {
  model: z.string().min(1),
  max_tokens: nullable(sampling.max_tokens),
  temperature: nullable(sampling.temperature),
  top_p: nullable(sampling.top_p),
  top_k: nullable(sampling.top_k),
  min_p: nullable(sampling.min_p),
  repeat_penalty: nullable(sampling.repeat_penalty),
  frequency_penalty: nullable(sampling.frequency_penalty),
  presence_penalty: nullable(sampling.presence_penalty),
  seed: nullable(sampling.seed),
  stop: nullable(sampling.stop),
  n: z.number().int().min(1).max(16).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  /** Kept in the log; fair queueing never trusts it (it is the client's to choose). */
  user: z.string().max(256).optional(),
  prompt_format: sampling.prompt_format.optional(),
};

const textPart = z.object({ type: z.literal("text"), text: z.string() });

/** OpenAI's image part: a data: URI, or an http(s) URL the server fetches when it allows URLs. */
export const imageUrlPartSchema = z.object({
  type: z.literal("image_url"),
  image_url: z.object({
    url: z.string().min(1),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
export type ImageUrlPart = z.infer<typeof imageUrlPartSchema>;

const contentPart = z.discriminatedUnion("type", [textPart, imageUrlPartSchema]);

const chatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(contentPart).min(1)]).nullable(),
  name: z.string().optional(),
});

const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().min(1),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
      description: z.string().optional(),
    }),
  }),
]);

export const chatCompletionRequestSchema = z.object({
  ...samplingFields,
  messages: z.array(chatMessage).min(1),
  max_completion_tokens: nullable(sampling.max_tokens),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  response_format: responseFormat.optional(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const completionRequestSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  /** Completions API: the number of alternatives per token (0-5 in OpenAI; we allow 20). */
  logprobs: z.number().int().min(0).max(20).nullable().optional(),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional(),
  best_of: z.number().int().min(1).nullable().optional(),
  response_format: responseFormat.optional(),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export const tokenizeRequestSchema = z.object({
  model: z.string().min(1),
  text: z.string(),
  add_bos: z.boolean().optional(),
  parse_special: z.boolean().optional(),
});

export const detokenizeRequestSchema = z.object({
  model: z.string().min(1),
  tokens: z.array(z.number().int().min(0)).max(1_000_000),
});
