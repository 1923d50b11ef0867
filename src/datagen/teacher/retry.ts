import {
  ConnectionError,
  QueueFullError,
  RateLimitError,
  TimeoutError,
  UpstreamError,
} from "../../errors/index.js";
import { type Sleep, sleep } from "../../retry/sleep.js";

export interface RetryPolicy {
  /** Attempts after the first (default 5). */
  maxRetries: number;
  /** First backoff; doubles each retry, with full jitter (default 1 s). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

export interface RetryEvents {
  onRetry?(info: { attempt: number; delayMs: number; error: unknown; rateLimited: boolean }): void;
  sleep?: Sleep;
  random?(): number;
}

/** Transient failures worth another try: rate limits, overload, network, timeouts, 5xx. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RateLimitError || error instanceof QueueFullError) return true;
  if (error instanceof ConnectionError || error instanceof TimeoutError) return true;
  if (error instanceof UpstreamError) return error.status === undefined || error.status >= 500 || error.status === 408 || error.status === 409;
  return false;
}

/**
 * Runs `call`, retrying transient failures with exponential backoff and full jitter. A rate limit
 * that names its Retry-After waits at least that long. Non-transient errors surface at once.
 */
export async function withRetries<T>(call: () => Promise<T>, policy: RetryPolicy, events: RetryEvents = {}, signal?: AbortSignal): Promise<T> {
  const wait = events.sleep ?? sleep;
  const random = events.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (signal?.aborted || attempt >= policy.maxRetries || !isRetryable(error)) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt) * random();
      const retryAfter = error instanceof RateLimitError || error instanceof QueueFullError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
      const delayMs = Math.max(backoff, retryAfter);
      events.onRetry?.({ attempt: attempt + 1, delayMs, error, rateLimited: error instanceof RateLimitError || error instanceof QueueFullError });
      await wait(delayMs, signal);
    }
  }
}
