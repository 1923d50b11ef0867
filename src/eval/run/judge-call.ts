import { AbortError, AuthenticationError, ContextLengthExceededError, InvalidArgumentError, PermissionDeniedError, UnsupportedFeatureError } from "../../errors/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { LanguageModel } from "../../spec/language-model.js";
import { type Sleep, sleep } from "../../retry/sleep.js";
import { JUDGE_ERROR_OUTPUT } from "../verdicts/single-rating.js";

export interface JudgeCallOptions {
  /** Judges run at temperature 0 (FastChat); sampling noise is measured with --repeat instead. */
  temperature?: number;
  maxTokens?: number;
  /** Further attempts after the first failure. */
  retries?: number;
  /** Wait before retry n is retryDelayMs · 2^(n-1). */
  retryDelayMs?: number;
  abortSignal?: AbortSignal;
  sleep?: Sleep;
}

export interface JudgeCallResult {
  text: string;
  /** Attempts made (1 = first try worked). */
  attempts: number;
  /** The last failure's message when `text` is $ERROR$. */
  error?: string;
}

/** Errors that would fail every call alike; they end the whole run instead of filling a file with $ERROR$ rows. */
function isFatal(error: unknown): boolean {
  return error instanceof AuthenticationError || error instanceof PermissionDeniedError || error instanceof AbortError;
}

/** Errors about this one request (too long, rejected as invalid): retrying cannot help, so $ERROR$ at once. */
function isPermanentForThisRequest(error: unknown): boolean {
  return error instanceof ContextLengthExceededError || error instanceof InvalidArgumentError || error instanceof UnsupportedFeatureError;
}

/**
 * One judge generation with retries. Transient failures (network, rate limits, server errors) are
 * retried with backoff; when retries run out the judgment is FastChat's "$ERROR$" so the run goes
 * on and the row is counted, never scored. A request the judge rejects (too long, invalid) is an
 * $ERROR$ at once; authentication failures stop the run.
 */
export async function callJudge(judge: LanguageModel, messages: ChatMessage[], options: JudgeCallOptions = {}): Promise<JudgeCallResult> {
  const retries = options.retries ?? 3;
  const wait = options.sleep ?? sleep;
  let lastError = "";
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    try {
      const result = await judge.doGenerate({
        messages,
        temperature: options.temperature ?? 0,
        maxTokens: options.maxTokens ?? 2048,
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      const choice = result.choices[0];
      if (!choice) throw new Error("the judge returned no choices");
      return { text: choice.text, attempts: attempt };
    } catch (error) {
      if (isFatal(error)) throw error;
      lastError = error instanceof Error ? error.message : String(error);
      if (isPermanentForThisRequest(error)) return { text: JUDGE_ERROR_OUTPUT, attempts: attempt, error: lastError };
      if (attempt <= retries) await wait((options.retryDelayMs ?? 1000) * 2 ** (attempt - 1), options.abortSignal);
    }
  }
  return { text: JUDGE_ERROR_OUTPUT, attempts: retries + 1, error: lastError };
}
