import { type CamelidError, UpstreamError } from "../../errors/index.js";
import { errorFromResponse } from "./error-mapping.js";
import { RequestLifetime } from "./request-lifetime.js";
import { backoffDelayMs, type RetryPolicy, retryAfterMs, shouldRetryResponse } from "../../retry/retry-policy.js";

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportSettings {
  fetch: FetchFunction;
  headers: Record<string, string>;
  /** Until the response headers; for streams also the longest silence between chunks; for JSON the whole body. */
  timeoutMs: number;
  retry: RetryPolicy;
  modelId: string;
}

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  body?: unknown;
  abortSignal?: AbortSignal;
}

/** A successful response whose body is still to be read under the same lifetime (timeout, abort). */
export interface OpenResponse {
  response: Response;
  lifetime: RequestLifetime;
  /** How many attempts it took (1 = no retry). */
  attempts: number;
}

/**
 * Send a request, retrying retryable statuses and connection failures with backoff (honouring the
 * server's retry-after), and return the first successful response with its body unread. Nothing is
 * retried once a response body has started to be consumed: that is the caller's side of the line.
 */
export async function openResponse(settings: TransportSettings, request: HttpRequest): Promise<OpenResponse> {
  const { retry } = settings;
  for (let attempt = 0; ; attempt++) {
    const lifetime = new RequestLifetime(request.abortSignal, settings.timeoutMs);
    const retriesLeft = attempt < retry.maxRetries;
    let response: Response;
    try {
      response = await settings.fetch(request.url, {
        method: request.method,
        headers: {
          accept: "application/json, text/event-stream",
          ...(request.body !== undefined ? { "content-type": "application/json" } : {}),
          ...settings.headers,
        },
        body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
        signal: lifetime.signal,
      });
    } catch (failure) {
      const error = lifetime.errorFor(failure, `${request.method} ${request.url} failed`);
      lifetime.dispose();
      // Timeouts and aborts are final: a slow server would only be asked to redo the same slow work.
      if (error.code === "connection_error" && retriesLeft) {
        await retry.sleep(backoffDelayMs(attempt, retry), request.abortSignal);
        continue;
      }
      throw error;
    }
    if (response.ok) return { response, lifetime, attempts: attempt + 1 };

    const failure = await readErrorResponse(settings, request, response, lifetime);
    lifetime.dispose();
    const requestedWait = retryAfterMs(response.headers);
    const waitAcceptable = requestedWait === undefined || requestedWait <= retry.maxRetryAfterMs;
    if (retriesLeft && waitAcceptable && shouldRetryResponse(response.status, response.headers)) {
      await retry.sleep(requestedWait ?? backoffDelayMs(attempt, retry), request.abortSignal);
      continue;
    }
    throw failure;
  }
}

async function readErrorResponse(
  settings: TransportSettings,
  request: HttpRequest,
  response: Response,
  lifetime: RequestLifetime,
): Promise<CamelidError> {
  let bodyText = "";
  try {
    bodyText = await response.text();
  } catch (failure) {
    const error = lifetime.errorFor(failure, `reading the ${response.status} error body from ${request.url}`);
    if (error.code !== "connection_error") return error;
  }
  const waitMs = retryAfterMs(response.headers);
  return errorFromResponse({
    status: response.status,
    body: parseJsonOrUndefined(bodyText),
    bodyText,
    url: request.url,
    modelId: settings.modelId,
    retryAfterSeconds: waitMs === undefined ? undefined : waitMs / 1000,
  });
}

/** Read a successful JSON body under the request's lifetime; malformed JSON is an UpstreamError. */
export async function readJsonBody(open: OpenResponse, url: string): Promise<unknown> {
  let text: string;
  try {
    text = await open.response.text();
  } catch (failure) {
    throw open.lifetime.errorFor(failure, `reading the response from ${url}`);
  } finally {
    open.lifetime.dispose();
  }
  const parsed = parseJsonOrUndefined(text);
  if (parsed === undefined) {
    throw new UpstreamError(`${url} returned a body that is not JSON: ${text.slice(0, 200)}`, open.response.status, text);
  }
  return parsed;
}

export function parseJsonOrUndefined(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
