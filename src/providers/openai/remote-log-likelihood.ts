import { z } from "zod";
import { InvalidArgumentError, UpstreamError } from "../../errors/index.js";
import type { LogLikelihoodRequest, LogLikelihoodResult } from "../../spec/language-model.js";
import { openResponse, readJsonBody, type TransportSettings } from "./http-transport.js";
import type { ResolvedSettings } from "./settings.js";

/** The legacy completions logprobs with the offsets `echo` needs. */
const echoResponseSchema = z.object({
  choices: z
    .array(
      z.object({
        logprobs: z.object({
          tokens: z.array(z.string()),
          token_logprobs: z.array(z.number().nullable()),
          top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullish(),
          text_offset: z.array(z.number().int()),
        }),
      }),
    )
    .min(1),
});

/**
 * Log-likelihood of a continuation through the completions API with `echo` (the prompt's own token
 * logprobs come back): what lm-evaluation-harness does for OpenAI-compatible servers. vLLM and
 * OpenAI's base completion models support it; llama-server and Ollama do not echo prompts.
 * The continuation's tokens are those starting at or after the end of the context (text_offset);
 * a token spanning the boundary counts with the context, as with joint tokenization.
 */
export async function remoteLogLikelihood(
  settings: ResolvedSettings,
  transport: TransportSettings,
  requests: LogLikelihoodRequest[],
  abortSignal?: AbortSignal,
): Promise<LogLikelihoodResult[]> {
  if (!Array.isArray(requests)) throw new InvalidArgumentError("requests", "requests must be an array");
  const url = `${settings.baseURL}/completions`;
  const results: LogLikelihoodResult[] = [];
  for (const [index, request] of requests.entries()) {
    if (typeof request?.context !== "string" || typeof request.continuation !== "string" || request.continuation === "") {
      throw new InvalidArgumentError(`requests[${index}]`, "each request needs a string context and a non-empty string continuation");
    }
    const text = request.context + request.continuation;
    // max_tokens 1: some servers reject 0; the one generated token lies past the text and is ignored.
    const body = { model: settings.model, prompt: text, max_tokens: 1, temperature: 0, echo: true, logprobs: 1 };
    const payload = await readJsonBody(await openResponse(transport, { method: "POST", url, body, abortSignal }), url);
    const parsed = echoResponseSchema.safeParse(payload);
    if (!parsed.success) {
      throw new UpstreamError(`${url} did not echo prompt logprobs (does this server support "echo" with "logprobs"?)`, 200, payload);
    }
    results.push(sumContinuation(parsed.data.choices[0].logprobs, request.context.length, text.length, url));
  }
  return results;
}

function sumContinuation(
  logprobs: z.infer<typeof echoResponseSchema>["choices"][number]["logprobs"],
  start: number,
  end: number,
  url: string,
): LogLikelihoodResult {
  let logprob = 0;
  let tokenCount = 0;
  let isGreedy = true;
  logprobs.tokens.forEach((token, position) => {
    const offset = logprobs.text_offset[position];
    if (offset === undefined || offset < start || offset >= end) return;
    const value = logprobs.token_logprobs[position];
    if (value === null || value === undefined) throw new UpstreamError(`${url} gave no logprob for continuation token ${JSON.stringify(token)}`);
    logprob += value;
    tokenCount++;
    const alternatives = logprobs.top_logprobs?.[position];
    if (alternatives) {
      const best = Math.max(...Object.values(alternatives));
      if (value < best) isGreedy = false;
    }
  });
  if (tokenCount === 0) throw new UpstreamError(`${url} returned no tokens for the continuation`);
  return { logprob, tokenCount, isGreedy };
}
