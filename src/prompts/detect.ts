import { InvalidArgumentError, UnsupportedFeatureError } from "../errors/index.js";
import type { LanguageModel, LogLikelihoodRequest } from "../spec/language-model.js";
import type { ChatMessage } from "../spec/messages.js";
import { promptFormats } from "./registry.js";
import type { PromptFormat, RenderOptions } from "./types.js";

/**
 * The canonical "ping/pong" exchange: a greeting, then a question any chat model answers the same
 * way. The last assistant message is the reply that gets scored.
 */
export const CANONICAL_EXCHANGE: readonly ChatMessage[] = [
  { role: "user", content: "Hello!" },
  { role: "assistant", content: "Hello! How can I help you today?" },
  { role: "user", content: "Reply with one word: ping or pong?" },
  { role: "assistant", content: "Pong." },
];

export interface RankPromptFormatsOptions {
  /** Candidates (default: every registry format). */
  formats?: readonly PromptFormat[];
  /** A conversation ending with the assistant reply to score (default CANONICAL_EXCHANGE). */
  exchange?: readonly ChatMessage[];
  /** BOS/EOS and special tokens of the model, passed to every render. */
  renderOptions?: Omit<RenderOptions, "addGenerationPrompt">;
  abortSignal?: AbortSignal;
}

export interface PromptFormatScore {
  name: string;
  /** logprob / tokenCount: comparable across formats whose replies tokenize differently. */
  meanLogprob: number;
  logprob: number;
  tokenCount: number;
  /** Whether greedy decoding would produce exactly the reply. */
  isGreedy: boolean;
  /** The exact text scored: the rendered prefix and the reply as the format writes it. */
  context: string;
  continuation: string;
}

export interface PromptFormatRanking {
  /** Best first (highest mean per-token log-likelihood); ties keep the candidates' order. */
  ranking: PromptFormatScore[];
  /** Formats that could not render the exchange, and why. */
  skipped: { name: string; reason: string }[];
}

/**
 * Template detection for models without a chat template: render the same short exchange in every
 * candidate format and rank the formats by how likely the model finds the assistant's reply given
 * the rendered prefix. The format the model was tuned on makes its reply the least surprising.
 * Only the reply's content is scored (not the end-of-turn marker), so every format scores the same words.
 */
export async function rankPromptFormats(
  model: Pick<LanguageModel, "logLikelihood">,
  options: RankPromptFormatsOptions = {},
): Promise<PromptFormatRanking> {
  if (typeof model.logLikelihood !== "function") {
    throw new UnsupportedFeatureError("this model cannot score text (no logLikelihood), so prompt formats cannot be ranked");
  }
  const exchange = [...(options.exchange ?? CANONICAL_EXCHANGE)];
  if (exchange.length < 2 || exchange[exchange.length - 1].role !== "assistant") {
    throw new InvalidArgumentError("exchange", "the exchange must end with the assistant reply to score, after at least one user message");
  }
  const formats = options.formats ?? promptFormats;
  const candidates: { name: string; request: LogLikelihoodRequest }[] = [];
  const skipped: PromptFormatRanking["skipped"] = [];
  for (const format of formats) {
    try {
      candidates.push({ name: format.name, request: replyRequest(format, exchange, options.renderOptions ?? {}) });
    } catch (error) {
      skipped.push({ name: format.name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  if (candidates.length === 0) return { ranking: [], skipped };

  const results = await model.logLikelihood(
    candidates.map((candidate) => candidate.request),
    options.abortSignal ? { abortSignal: options.abortSignal } : undefined,
  );
  if (!Array.isArray(results) || results.length !== candidates.length) {
    throw new InvalidArgumentError("model", `logLikelihood answered ${Array.isArray(results) ? results.length : "no"} results for ${candidates.length} requests`);
  }
  const ranking = candidates.map((candidate, index): PromptFormatScore => {
    const result = results[index];
    return {
      name: candidate.name,
      meanLogprob: result.tokenCount > 0 ? result.logprob / result.tokenCount : Number.NEGATIVE_INFINITY,
      logprob: result.logprob,
      tokenCount: result.tokenCount,
      isGreedy: result.isGreedy,
      context: candidate.request.context,
      continuation: candidate.request.continuation,
    };
  });
  // Array.prototype.sort is stable, so equal scores keep the candidates' order.
  ranking.sort((a, b) => b.meanLogprob - a.meanLogprob);
  return { ranking, skipped };
}

/**
 * The prefix is the conversation without the last reply, with the assistant's turn opened; the
 * continuation is the reply's text exactly as this format lays it out after that prefix (LLaMA-2
 * puts a space before it, for example).
 */
function replyRequest(format: PromptFormat, exchange: ChatMessage[], renderOptions: RenderOptions): LogLikelihoodRequest {
  const replyIndex = exchange.length - 1;
  const prefix = format.render(exchange.slice(0, replyIndex), { ...renderOptions, addGenerationPrompt: true });
  const full = format.render(exchange, { ...renderOptions, addGenerationPrompt: false });
  if (!full.text.startsWith(prefix.text)) {
    throw new InvalidArgumentError("format", `${format.name}: the rendered conversation does not extend its generation prompt`);
  }
  // Formats may trim the reply (LLaMA-2, Llama 3), so look for its trimmed text right after the prefix.
  const reply = exchange[replyIndex].content.trim();
  const replyStart = full.text.indexOf(reply, prefix.text.length);
  if (reply === "" || replyStart < 0) {
    throw new InvalidArgumentError("format", `${format.name}: the reply could not be located in the rendered conversation`);
  }
  const replyEnd = replyStart + reply.length;
  // The rendered markup holds the format's real special tokens (ChatML's <|im_start|>, LLaMA-2's <s>).
  return { context: prefix.text, continuation: full.text.slice(prefix.text.length, replyEnd), parseSpecial: true };
}
