// zod schemas of the OpenAI request bodies we accept. Unknown fields are ignored (clients such as
// LangChain send extras), known fields with a wrong type are refused naming the field.
import { z } from "zod";

const stop = z.union([z.string(), z.array(z.string()).max(16)]).nullable().optional();
const probability = z.number().min(0).max(1);

/** Sampling fields shared by chat and completions, plus llama.cpp-style extras clients may send. */
const samplingFields = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: probability.nullable().optional(),
  top_k: z.number().int().min(0).nullable().optional(),
  min_p: probability.nullable().optional(),
  repeat_penalty: z.number().min(0).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop,
  n: z.number().int().min(1).max(16).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().max(256).optional(),
  /** camelid extension: force a registry prompt format by name. */
  prompt_format: z.string().min(1).optional(),
};

const textPart = z.object({ type: z.literal("text"), text: z.string() });

const chatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(textPart).min(1)]).nullable(),
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
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
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
