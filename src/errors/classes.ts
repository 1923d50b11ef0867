import { CamelidError } from "./camelid-error.js";

/** A caller-supplied value is wrong; `parameter` names it (e.g. "temperature", "messages[2].role"). */
export class InvalidArgumentError extends CamelidError {
  readonly code = "invalid_argument";
  constructor(
    readonly parameter: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The prompt does not fit the model's context window. */
export class ContextLengthExceededError extends CamelidError {
  readonly code = "exceed_context_size";
  constructor(
    readonly promptTokens: number,
    readonly contextSize: number,
    message = `the prompt has ${promptTokens} tokens but the context holds ${contextSize}`,
  ) {
    super(message);
  }
}

export class ModelNotFoundError extends CamelidError {
  readonly code = "model_not_found";
  constructor(
    readonly modelId: string,
    message = `model "${modelId}" not found`,
  ) {
    super(message);
  }
}

/** A model file exists but cannot be loaded (bad file, unsupported architecture, out of memory). */
export class ModelLoadError extends CamelidError {
  readonly code = "model_load_failed";
  constructor(
    readonly modelPath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A GGUF file is malformed; `offset` is the byte where the problem was found. */
export class GgufFormatError extends CamelidError {
  readonly code = "gguf_format";
  constructor(
    readonly offset: number,
    readonly problem: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ""}invalid GGUF at byte ${offset}: ${problem}`);
  }
}

export class PromptFormatError extends CamelidError {
  readonly code = "prompt_format";
}

export class AuthenticationError extends CamelidError {
  readonly code = "authentication";
}

export class PermissionDeniedError extends CamelidError {
  readonly code = "permission_denied";
}

/** Too many requests (upstream 429 or our own queue limit); `retryAfterSeconds` when known. */
export class RateLimitError extends CamelidError {
  readonly code = "rate_limited";
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Our scheduler's queue is full; like a rate limit, but the server's own capacity. */
export class QueueFullError extends CamelidError {
  readonly code = "queue_full";
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** A remote server answered with an error we could not map more precisely, or a malformed body. */
export class UpstreamError extends CamelidError {
  readonly code = "upstream_error";
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The network failed (refused, reset, dropped mid-stream) before a complete answer arrived. */
export class ConnectionError extends CamelidError {
  readonly code = "connection_error";
}

export class TimeoutError extends CamelidError {
  readonly code = "timeout";
  constructor(
    readonly timeoutMs: number,
    message = `timed out after ${timeoutMs} ms`,
  ) {
    super(message);
  }
}

/**
 * A replicated model has no healthy upstream left to try: all are down (or failed this request).
 * 503 with retry-after: the health checks bring replicas back.
 */
export class NoReplicaAvailableError extends CamelidError {
  readonly code = "no_replica_available";
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends CamelidError {
  readonly code = "aborted";
  constructor(message = "the request was aborted") {
    super(message);
  }
}

/** A feature is not available in this backend or build. */
export class UnsupportedFeatureError extends CamelidError {
  readonly code = "unsupported";
}

/** A configuration file or flag set is invalid; message names the key. */
export class ConfigError extends CamelidError {
  readonly code = "config";
}

/**
 * A Hugging Face tokenizer file cannot be turned into a GGUF vocabulary; `file` names it (a folder when
 * no tokenizer file exists) and `problem` says what is wrong with it.
 */
export class TokenizerFileError extends CamelidError {
  readonly code = "tokenizer_file";
  constructor(
    readonly file: string,
    readonly problem: "missing" | "malformed" | "truncated" | "invalid_utf8" | "vocab_size" | "unrecognized_pre_tokenizer" | "unsupported",
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/**
 * The llama-server engine has no usable executable (none given, none built, not executable, or one that
 * fails to run), or `camelid engine build` could not make one; `binary` names the path (or the build step),
 * and the message says how to get one.
 */
export class EngineBinaryError extends CamelidError {
  readonly code = "engine_binary";
  constructor(
    readonly binary: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
