import { CamelidError } from "./camelid-error.js";
import {
  AbortError,
  AuthenticationError,
  ConfigError,
  ConnectionError,
  ContextLengthExceededError,
  EngineBinaryError,
  GgufFormatError,
  InvalidArgumentError,
  ModelLoadError,
  ModelNotFoundError,
  NoReplicaAvailableError,
  PermissionDeniedError,
  PromptFormatError,
  QueueFullError,
  RateLimitError,
  TimeoutError,
  UnsupportedFeatureError,
  UpstreamError,
} from "./classes.js";

/** The OpenAI error body shape (`{error: {message, type, param, code}}`), plus llama-server's context fields. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
    n_prompt_tokens?: number;
    n_ctx?: number;
  };
}

export interface HttpError {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

/** The one place where errors become HTTP statuses and OpenAI-shaped bodies. */
export function toHttpError(error: unknown): HttpError {
  const body = (type: string, message: string, param: string | null = null, code: string | null = null) => ({
    error: { message, type, param, code },
  });
  if (error instanceof InvalidArgumentError)
    return { status: 400, body: body("invalid_request_error", error.message, error.parameter, "invalid_value"), headers: {} };
  if (error instanceof ContextLengthExceededError)
    return {
      status: 400,
      body: {
        error: {
          message: error.message,
          type: "exceed_context_size_error",
          param: "messages",
          code: "context_length_exceeded",
          n_prompt_tokens: error.promptTokens,
          n_ctx: error.contextSize,
        },
      },
      headers: {},
    };
  if (error instanceof PromptFormatError)
    return { status: 400, body: body("invalid_request_error", error.message, "prompt_format"), headers: {} };
  if (error instanceof ModelNotFoundError)
    return { status: 404, body: body("not_found_error", error.message, "model", "model_not_found"), headers: {} };
  if (error instanceof AuthenticationError)
    return { status: 401, body: body("authentication_error", error.message, null, "invalid_api_key"), headers: {} };
  if (error instanceof PermissionDeniedError)
    return { status: 403, body: body("permission_error", error.message), headers: {} };
  if (error instanceof RateLimitError)
    return {
      status: 429,
      body: body("rate_limit_error", error.message, null, "rate_limit_exceeded"),
      headers: error.retryAfterSeconds !== undefined ? { "retry-after": String(Math.ceil(error.retryAfterSeconds)) } : {},
    };
  if (error instanceof QueueFullError)
    return {
      status: 429,
      body: body("rate_limit_error", error.message, null, "queue_full"),
      headers: { "retry-after": String(Math.ceil(error.retryAfterSeconds)) },
    };
  if (error instanceof UnsupportedFeatureError)
    return { status: 400, body: body("invalid_request_error", error.message, null, "unsupported") , headers: {} };
  if (error instanceof UpstreamError || error instanceof ConnectionError)
    return { status: 502, body: body("upstream_error", error.message, null, error.code), headers: {} };
  if (error instanceof TimeoutError)
    return { status: 504, body: body("timeout_error", error.message, null, "timeout"), headers: {} };
  if (error instanceof AbortError)
    return { status: 499, body: body("request_aborted", error.message), headers: {} };
  if (error instanceof NoReplicaAvailableError)
    return {
      status: 503,
      body: body("unavailable_error", error.message, "model", error.code),
      headers: { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterSeconds))) },
    };
  if (error instanceof ModelLoadError || error instanceof GgufFormatError || error instanceof EngineBinaryError)
    return { status: 503, body: body("unavailable_error", error.message, "model", error.code), headers: {} };
  if (error instanceof ConfigError)
    return { status: 500, body: body("server_error", error.message), headers: {} };
  if (error instanceof CamelidError)
    return { status: 500, body: body("server_error", error.message, null, error.code), headers: {} };
  return { status: 500, body: body("server_error", "internal server error"), headers: {} };
}
