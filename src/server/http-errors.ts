import { CamelidError, toHttpError, type HttpError } from "../errors/index.js";

/** A resource other than a model is missing (a route, a conversation); 404 like OpenAI's. */
export class ResourceNotFoundError extends CamelidError {
  readonly code: string = "not_found";
  constructor(
    readonly resource: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request is well-formed but the conversation cannot take it now (a reply is still being
 * written): 409, like a conflict; retry once the answer has ended.
 */
export class ConversationStateError extends CamelidError {
  readonly code = "conversation_state";
}

/** The request is well-formed but clashes with what exists (a model id already served); 409. */
export class ResourceConflictError extends CamelidError {
  readonly code: string = "conflict";
  constructor(
    readonly resource: string,
    message: string,
  ) {
    super(message);
  }
}

/** The body is over the configured size limit. */
export class RequestTooLargeError extends CamelidError {
  readonly code = "request_too_large";
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than the server's limit of ${limitBytes} bytes`);
  }
}

/** A body sent with a content type the server does not parse (only JSON is). */
export class UnsupportedMediaTypeError extends CamelidError {
  readonly code = "unsupported_media_type";
  constructor(readonly contentType: string | undefined) {
    super(
      contentType === undefined
        ? "the request has a body but no content type; send it as 'content-type: application/json'"
        : `the content type "${contentType}" is not supported; send JSON as 'content-type: application/json'`,
    );
  }
}

/**
 * The server's one error mapping (routes, arena, app.onError): toHttpError (src/errors/http.ts) for
 * everything it knows; the server-only cases above (and their subclasses, such as the arena's
 * BattleStateError) keep their own status here rather than growing the shared table with HTTP-layer details.
 */
export function serverHttpError(error: unknown): HttpError {
  if (error instanceof ResourceNotFoundError) {
    return { status: 404, body: { error: { message: error.message, type: "not_found_error", param: null, code: error.code } }, headers: {} };
  }
  if (error instanceof ConversationStateError || error instanceof ResourceConflictError) {
    return { status: 409, body: { error: { message: error.message, type: "invalid_request_error", param: null, code: error.code } }, headers: {} };
  }
  if (error instanceof RequestTooLargeError) {
    return { status: 413, body: { error: { message: error.message, type: "invalid_request_error", param: null, code: error.code } }, headers: {} };
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return { status: 415, body: { error: { message: error.message, type: "invalid_request_error", param: "content-type", code: error.code } }, headers: {} };
  }
  return toHttpError(error);
}
