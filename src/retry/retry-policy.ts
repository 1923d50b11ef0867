// HTTP retry policy (backoff, retry-after, which statuses retry), shared by the OpenAI-compatible provider and the Hub client.
import { type Sleep, sleep } from "./sleep.js";

export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  maxRetries: number;
  /** Backoff before the first retry; doubles each time up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A server asking for a longer wait than this is not retried: the caller gets the error and its retry-after. */
  maxRetryAfterMs: number;
  /** Source of jitter; injectable so tests can pin it. */
  random: () => number;
  /** How the backoff and a server's retry-after are waited out; injectable so tests need not wait. */
  sleep: Sleep;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 2,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  random: Math.random,
  sleep,
};

/** 408 request timeout, 409 lock conflict, 429 rate limit, 5xx: worth another try (as OpenAI's own client does). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Whether to retry a failed response; a server's explicit `x-should-retry` wins over the status. */
export function shouldRetryResponse(status: number, headers: Headers): boolean {
  const explicit = headers.get("x-should-retry");
  if (explicit === "true") return true;
  if (explicit === "false") return false;
  return isRetryableStatus(status);
}

/**
 * The wait a server asked for, in ms: `retry-after-ms` (OpenAI's, more precise) first, then
 * `retry-after` as delta-seconds or an HTTP date. Undefined when absent or unparseable.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const milliseconds = headers.get("retry-after-ms");
  if (milliseconds !== null && milliseconds.trim() !== "") {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = headers.get("retry-after")?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Exponential backoff with up to 25% jitter subtracted, so clients that failed together spread out. */
export function backoffDelayMs(retryNumber: number, policy: RetryPolicy): number {
  const base = Math.min(policy.initialDelayMs * 2 ** retryNumber, policy.maxDelayMs);
  return base * (1 - policy.random() * 0.25);
}
