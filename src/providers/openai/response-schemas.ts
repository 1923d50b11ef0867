import { z } from "zod";

/**
 * Wire schemas of what OpenAI-compatible servers send back, as loose as the servers are: fields that
 * one server omits or nulls are optional here. Unknown fields are ignored.
 */

const topLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number()).nullish(),
  /** llama-server adds the token id. */
  id: z.number().int().optional(),
});

const tokenLogprobSchema = topLogprobSchema.extend({
  top_logprobs: z.array(topLogprobSchema).nullish(),
});

/** Chat logprobs (also what llama-server sends on /v1/completions). */
export const contentLogprobsSchema = z.object({ content: z.array(tokenLogprobSchema).nullish() });

/** The legacy completions shape (OpenAI, vLLM): parallel arrays. */
export const legacyLogprobsSchema = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullish(),
});

export const usageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative().nullish(),
  total_tokens: z.number().int().nonnegative().nullish(),
});

/** llama-server's own timings, present on its final chunk / response. */
export const llamaServerTimingsSchema = z.object({
  prompt_n: z.number().optional(),
  prompt_ms: z.number().optional(),
  prompt_per_second: z.number().optional(),
  predicted_n: z.number().optional(),
  predicted_ms: z.number().optional(),
  predicted_per_second: z.number().optional(),
});

const finishFields = {
  index: z.number().int().nonnegative().default(0),
  finish_reason: z.string().nullish(),
  /** vLLM: the stop string or token id that ended the choice. */
  stop_reason: z.union([z.string(), z.number()]).nullish(),
};

const chatMessageSchema = z.object({
  content: z.string().nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
});

export const chatResponseSchema = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ ...finishFields, message: chatMessageSchema, logprobs: contentLogprobsSchema.nullish() })),
  usage: usageSchema.nullish(),
  timings: llamaServerTimingsSchema.nullish(),
});

const completionLogprobsSchema = z.union([legacyLogprobsSchema, contentLogprobsSchema]);

export const completionResponseSchema = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ ...finishFields, text: z.string().nullish(), logprobs: completionLogprobsSchema.nullish() })),
  usage: usageSchema.nullish(),
  timings: llamaServerTimingsSchema.nullish(),
});

export const chatChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        ...finishFields,
        delta: chatMessageSchema.nullish(),
        logprobs: contentLogprobsSchema.nullish(),
      }),
    )
    .nullish(),
  usage: usageSchema.nullish(),
  timings: llamaServerTimingsSchema.nullish(),
});

export const completionChunkSchema = z.object({
  choices: z
    .array(z.object({ ...finishFields, text: z.string().nullish(), logprobs: completionLogprobsSchema.nullish() }))
    .nullish(),
  usage: usageSchema.nullish(),
  timings: llamaServerTimingsSchema.nullish(),
});

export const modelListSchema = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      /** vLLM */
      max_model_len: z.number().int().optional(),
      /** llama-server */
      meta: z.object({ n_ctx_train: z.number().int().optional() }).loose().nullish(),
    }),
  ),
});

export type WireUsage = z.infer<typeof usageSchema>;
export type WireTimings = z.infer<typeof llamaServerTimingsSchema>;
export type WireLogprobs = z.infer<typeof completionLogprobsSchema>;
export type ChatResponse = z.infer<typeof chatResponseSchema>;
export type CompletionResponse = z.infer<typeof completionResponseSchema>;
export type ChatChunk = z.infer<typeof chatChunkSchema>;
export type CompletionChunk = z.infer<typeof completionChunkSchema>;
