import {
  AuthenticationError,
  type CamelidError,
  ContextLengthExceededError,
  InvalidArgumentError,
  ModelNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UpstreamError,
} from "../../errors/index.js";

/** The fields every OpenAI-compatible server puts somewhere in its error body, normalised. */
export interface RemoteErrorDetails {
  message: string;
  type?: string;
  param?: string;
  code?: string | number;
  promptTokens?: number;
  contextSize?: number;
}

/**
 * Pull the error details out of the body shapes servers really send:
 * OpenAI / Ollama / new vLLM `{error: {message, type, param, code}}`, llama-server the same plus
 * `n_prompt_tokens`/`n_ctx`, older vLLM flat `{object: "error", message, type, param, code}`,
 * native Ollama / TGI `{error: "text"}`, FastAPI `{detail: ...}`. Returns undefined when the body holds none.
 */
export function extractErrorDetails(body: unknown): RemoteErrorDetails | undefined {
  if (!isRecord(body)) return undefined;
  const nested = body.error;
  if (isRecord(nested)) return detailsFromObject(nested);
  if (typeof nested === "string") return { message: nested, type: stringOrUndefined(body.error_type) };
  if (body.object === "error" && (typeof body.message === "string" || typeof body.type === "string")) {
    return detailsFromObject(body);
  }
  if (typeof body.detail === "string") return { message: body.detail };
  if (body.detail !== undefined) return { message: JSON.stringify(body.detail) };
  return undefined;
}

function detailsFromObject(source: Record<string, unknown>): RemoteErrorDetails {
  const details: RemoteErrorDetails = {
    message: typeof source.message === "string" ? source.message : JSON.stringify(source),
  };
  if (typeof source.type === "string") details.type = source.type;
  if (typeof source.param === "string") details.param = source.param;
  if (typeof source.code === "string" || typeof source.code === "number") details.code = source.code;
  if (typeof source.n_prompt_tokens === "number") details.promptTokens = source.n_prompt_tokens;
  if (typeof source.n_ctx === "number") details.contextSize = source.n_ctx;
  return details;
}

/** Context-overflow wordings of OpenAI and vLLM (llama-server says it with a type instead). */
const contextLengthPatterns = [/maximum context length is (\d+) tokens/i, /context length is only (\d+) tokens/i];
const promptTokenPatterns = [
  /\((\d+) in the messages/i,
  /\((\d+) in your prompt/i,
  /your (?:request|prompt|messages?) (?:has|have|resulted in|contains?) (\d+) (?:input )?tokens/i,
  /you requested (\d+) tokens/i,
];

function contextLengthError(details: RemoteErrorDetails): ContextLengthExceededError | undefined {
  const byType =
    details.type === "exceed_context_size_error" ||
    details.code === "context_length_exceeded" ||
    details.contextSize !== undefined;
  const contextMatch = firstMatch(contextLengthPatterns, details.message);
  if (!byType && contextMatch === undefined) return undefined;
  const contextSize = details.contextSize ?? contextMatch ?? 0;
  const promptTokens = details.promptTokens ?? firstMatch(promptTokenPatterns, details.message) ?? 0;
  return new ContextLengthExceededError(promptTokens, contextSize, details.message);
}

function firstMatch(patterns: RegExp[], text: string): number | undefined {
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return Number(match[1]);
  }
  return undefined;
}

export interface ErrorContext {
  status: number;
  body: unknown;
  /** The raw body text, for the message when the body is not JSON. */
  bodyText?: string;
  url: string;
  modelId: string;
  retryAfterSeconds?: number;
}

/** Map an HTTP error status plus body (or an in-stream error payload) to one of our typed errors. */
export function errorFromResponse(context: ErrorContext): CamelidError {
  const details = extractErrorDetails(context.body);
  const serverMessage = details?.message ?? (context.bodyText?.trim().slice(0, 500) || `HTTP ${context.status}`);
  const where = `${context.url} answered ${context.status}`;
  if (details) {
    const overflow = contextLengthError(details);
    if (overflow) return overflow;
  }
  switch (context.status) {
    case 400:
    case 422:
      return new InvalidArgumentError(details?.param ?? "request", `${where}: ${serverMessage}`);
    case 401:
      return new AuthenticationError(`${where}: ${serverMessage} (check the API key)`);
    case 403:
      return new PermissionDeniedError(`${where}: ${serverMessage}`);
    case 404:
      return new ModelNotFoundError(
        context.modelId,
        `model "${context.modelId}" not found: ${where}: ${serverMessage} (if the model exists, check that baseURL ends with /v1)`,
      );
    case 429:
      return new RateLimitError(`${where}: ${serverMessage}`, context.retryAfterSeconds);
    default:
      return new UpstreamError(`${where}: ${serverMessage}`, context.status, context.body ?? context.bodyText);
  }
}

/** In-stream error payloads carry their status as `code` (llama-server, vLLM) when they carry one at all. */
export function statusOfStreamError(details: RemoteErrorDetails | undefined): number {
  if (typeof details?.code === "number" && details.code >= 400 && details.code < 600) return details.code;
  if (details?.type === "exceed_context_size_error" || details?.type === "invalid_request_error") return 400;
  return 500;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
