import { InvalidArgumentError } from "../../errors/index.js";
import type { LanguageModel, LogLikelihoodResult } from "../../spec/language-model.js";
import type { ProgressListener } from "../../progress/progress.js";
import { createProgressTracker } from "../../progress/progress.js";
import { requireCapabilities } from "./require-capability.js";

export interface PerplexityOptions {
  /** Chunk length in tokens (llama-perplexity's -c; its default is 512). */
  contextSize?: number;
  /** Evaluate only the first N chunks (llama-perplexity's --chunks). */
  maxChunks?: number;
  abortSignal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per scored token (nats). */
  meanNegativeLogLikelihood: number;
  textTokens: number;
  chunks: number;
  contextSize: number;
  scoredTokens: number;
  /** Running perplexity after each chunk, as llama-perplexity prints "[1]x,[2]y". */
  runningPerplexity: number[];
  /** Chunks whose continuation did not re-tokenize to the expected token count (see `method`). */
  retokenizationMismatches: number;
  /** The chunking, stated so the number is read against the right reference. */
  method: string;
}

/**
 * Perplexity with llama.cpp's `llama-perplexity` chunking: tokenize the whole text with BOS, cut it
 * into floor(n / n_ctx) chunks of n_ctx tokens, put BOS at each chunk's first position, and score
 * only the second half of each chunk (positions n_ctx/2 + 1 … n_ctx - 1), so every scored token has
 * at least n_ctx/2 tokens of context. Models that score token ids (the local provider) are scored on
 * exactly those tokens; for text-only backends each chunk's two halves are detokenized and sent as
 * (context, continuation), the continuation's token count is checked and any difference is reported.
 */
export async function computePerplexity(model: LanguageModel, text: string, options: PerplexityOptions = {}): Promise<PerplexityResult> {
  const capable = requireCapabilities(model, ["tokenize", "detokenize", "logLikelihood"], "perplexity");
  const contextSize = options.contextSize ?? 512;
  if (!Number.isInteger(contextSize) || contextSize < 4) throw new InvalidArgumentError("contextSize", `the context size must be an integer of at least 4, got ${contextSize}`);
  const tokens = await capable.tokenize(text, { addBos: true });
  // The tokenizer's BOS, read off its own output (undefined when the model adds none).
  const withoutBos = await capable.tokenize(text, { addBos: false });
  const bosToken = tokens.length === withoutBos.length + 1 ? tokens[0] : undefined;
  if (tokens.length < 2 * contextSize) {
    throw new InvalidArgumentError("text", `the text has ${tokens.length} tokens; llama.cpp perplexity needs at least 2·n_ctx = ${2 * contextSize} (use a smaller context size)`);
  }
  let chunks = Math.floor(tokens.length / contextSize);
  if (options.maxChunks !== undefined) chunks = Math.min(chunks, options.maxChunks);
  const first = Math.floor(contextSize / 2);
  const expectedScored = contextSize - first - 1;
  const progress = createProgressTracker("perplexity", chunks, 0, options.onProgress);
  let negativeLogLikelihood = 0;
  let scoredTokens = 0;
  let retokenizationMismatches = 0;
  const runningPerplexity: number[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const start = chunk * contextSize;
    const callOptions = options.abortSignal ? { abortSignal: options.abortSignal } : undefined;
    let result: LogLikelihoodResult;
    if (model.logLikelihoodTokens) {
      // Token-exact, as llama-perplexity: the chunk's own tokens with BOS in place of its first one.
      const chunkTokens = tokens.slice(start, start + contextSize);
      if (bosToken !== undefined) chunkTokens[0] = bosToken;
      [result] = await model.logLikelihoodTokens([{ contextTokens: chunkTokens.slice(0, first + 1), continuationTokens: chunkTokens.slice(first + 1) }], callOptions);
    } else {
      // Position 0 becomes BOS (the model adds it to the context); positions 1..first are the rest of the context.
      const contextText = await capable.detokenize(tokens.slice(start + 1, start + first + 1));
      const continuationText = await capable.detokenize(tokens.slice(start + first + 1, start + contextSize));
      [result] = await capable.logLikelihood([{ context: contextText, continuation: continuationText }], callOptions);
    }
    if (result.tokenCount !== expectedScored) retokenizationMismatches++;
    negativeLogLikelihood -= result.logprob;
    scoredTokens += result.tokenCount;
    runningPerplexity.push(Math.exp(negativeLogLikelihood / scoredTokens));
    progress.itemDone();
  }
  const meanNegativeLogLikelihood = negativeLogLikelihood / scoredTokens;
  return {
    perplexity: Math.exp(meanNegativeLogLikelihood),
    meanNegativeLogLikelihood,
    textTokens: tokens.length,
    chunks,
    contextSize,
    scoredTokens,
    runningPerplexity,
    retokenizationMismatches,
    method: `${model.logLikelihoodTokens ? "token-exact" : "re-tokenized text"} llama.cpp llama-perplexity chunking: ${chunks} chunks of n_ctx=${contextSize} tokens, BOS at each chunk start, last ${expectedScored} tokens of each chunk scored`,
  };
}
