// @ts-check
// The only module that talks to the server: the public HTTP API (/v1 and /api), same origin.
import { readSseData } from "./sse.js";

/** @typedef {import("../../src/server/routes/models.js").ModelList} ModelList */
/** @typedef {import("../../src/server/openai/chat-stream-events.js").ChatStreamPayload} ChatStreamPayload */
/** @typedef {import("../../src/server/openai/response-shapes.js").UsageBody} UsageBody */
/** @typedef {import("../../src/server/openai/response-shapes.js").TimingsBody} TimingsBody */
/** @typedef {import("../../src/server/routes/prompt-tools.js").RenderedPromptResponse} RenderedPromptResponse */
/** @typedef {import("../../src/errors/http.js").OpenAIErrorBody} OpenAIErrorBody */

/**
 * A streamed reply as readChatStream returns it. finishReason is "abort" when the user stopped it;
 * requestId is null until the server accepted the request.
 * @typedef {{ text: string, finishReason: string, requestId: string | null, usage: UsageBody | null, timings: TimingsBody | null }} ChatStreamResult
 */
/**
 * @typedef {object} ChatStreamHandlers
 * @property {(delta: string, full: string) => void} [onDelta]
 * @property {AbortSignal} [signal]
 */
/**
 * An error after the server accepted a streamed request: the text so far is in partialText, and
 * inStream says the server itself sent the error (else the connection broke).
 * @typedef {Error & { midStream: true, partialText: string, inStream?: boolean }} MidStreamError
 */

const keyStorage = "camelid.apiKey";

/** @returns {string} */
export function apiKey() {
  return localStorage.getItem(keyStorage) ?? "";
}
/** @param {string} key an empty key forgets the stored one */
export function setApiKey(key) {
  if (key) localStorage.setItem(keyStorage, key);
  else localStorage.removeItem(keyStorage);
}

/** An HTTP error with the server's OpenAI-shaped message. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {unknown} body the error body as the server sent it */
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** @param {Record<string, string>} [extra] @returns {Record<string, string>} */
function headers(extra = {}) {
  const key = apiKey();
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

/** @param {Response} response */
async function failure(response) {
  /** @type {Partial<OpenAIErrorBody> | null} */
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status line
  }
  const message = body?.error?.message ?? `${response.status} ${response.statusText}`;
  if (response.status === 401) document.dispatchEvent(new CustomEvent("camelid:unauthorized", { detail: message }));
  return new ApiError(response.status, message, body);
}

/**
 * JSON request; throws ApiError on a non-2xx answer. The caller names the server's type of the answer.
 * @param {"GET" | "POST" | "PATCH" | "PUT" | "DELETE"} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {AbortSignal} [signal]
 * @returns {Promise<unknown>}
 */
export async function api(method, path, body, signal) {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Text body (exports), with the key when one is set. @param {string} path */
export async function apiText(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return response.text();
}

/** Binary body (a stored image), with the key when one is set. @param {string} path */
export async function apiBlob(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

/**
 * POST that answers with SSE; yields each event's parsed JSON ("[DONE]" ends it), typed by the caller.
 * @param {string} path
 * @param {unknown} body
 * @param {AbortSignal} [signal]
 * @returns {AsyncGenerator<unknown>}
 */
export async function* streamEvents(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "content-type": "application/json", accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  if (!response.body) throw new ApiError(response.status, "the server answered without a stream", null);
  for await (const data of readSseData(response.body)) {
    if (data === "[DONE]") return;
    yield JSON.parse(data);
  }
}

const readModels = async () => /** @type {ModelList} */ (await api("GET", "/v1/models"));

export const listModels = async () => (await readModels()).data.map((model) => model.id);

/** Each served model's load state ("unloaded", "loading", "ready", "failed"), its load error and, while it loads, the fraction done. */
export const listModelStatuses = async () =>
  (await readModels()).data.map((model) => ({ id: model.id, state: model.status?.value ?? "ready", error: model.status?.error ?? null, progress: model.status?.progress ?? null }));

/** @param {unknown} error @returns {error is MidStreamError} */
export const isMidStreamError = (error) => error instanceof Error && "midStream" in error;

/** What a caught error says, whatever was thrown. @param {unknown} error */
export const errorMessage = (error) => (error instanceof Error ? error.message : String(error));

/** The HTTP status of a failed API call (undefined for anything else that was thrown). @param {unknown} error */
export const errorStatus = (error) => (error instanceof ApiError ? error.status : undefined);

/**
 * Reads a chat.completion.chunk stream; calls onDelta(text) per piece. Returns {text, finishReason,
 * requestId, usage, timings} (timings: llama-server's object on the usage chunk); an abort (stop button) returns what arrived with finishReason "abort". An error
 * after the stream began (the server had accepted the request) is thrown with `midStream: true`, the
 * text so far as `partialText`, and `inStream: true` when the server itself sent the error.
 */
/**
 * @param {string} path
 * @param {unknown} payload
 * @param {ChatStreamHandlers} handlers
 * @returns {Promise<ChatStreamResult>}
 */
async function readChatStream(path, payload, { onDelta, signal }) {
  let text = "";
  /** @type {string | null} */
  let finishReason = null;
  /** @type {string | null} */
  let requestId = null;
  /** @type {UsageBody | null} */
  let usage = null;
  /** @type {TimingsBody | null} */
  let timings = null;
  document.dispatchEvent(new CustomEvent("camelid:reply-started"));
  try {
    for await (const chunk of /** @type {AsyncGenerator<ChatStreamPayload>} */ (streamEvents(path, payload, signal))) {
      if ("error" in chunk) throw Object.assign(new ApiError(500, chunk.error.message, chunk), { inStream: true });
      requestId ??= chunk.id ?? null;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.timings) timings = chunk.timings;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta?.content ?? "";
      if (delta) {
        text += delta;
        onDelta?.(delta, text);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  } catch (error) {
    if (signal?.aborted) return { text, finishReason: "abort", requestId, usage, timings };
    if (requestId !== null && error instanceof Error) Object.assign(error, { midStream: true, partialText: text });
    throw error;
  } finally {
    // A reply that ended (or failed) may have loaded a model or failed to: the pickers re-read states.
    document.dispatchEvent(new CustomEvent("camelid:reply-ended"));
  }
  return { text, finishReason: finishReason ?? "stop", requestId, usage, timings };
}

/** @param {Record<string, unknown>} body */
const streamBody = (body) => ({ ...body, stream: true, stream_options: { include_usage: true } });

/**
 * Streams one chat completion (see readChatStream).
 * @param {Record<string, unknown>} body
 * @param {ChatStreamHandlers} handlers
 */
export function streamChat(body, handlers) {
  return readChatStream("/v1/chat/completions", streamBody(body), handlers);
}

/**
 * Streams a reply in a saved conversation: the server stores the user's turn (the last message of
 * `body`) and the answer as it ends, however it ends, and `fields` (settings, system_prompt) once it
 * accepted the request.
 */
/**
 * @param {string} conversationId
 * @param {Record<string, unknown>} body
 * @param {Record<string, unknown>} fields
 * @param {ChatStreamHandlers} handlers
 */
export function streamConversationReply(conversationId, body, fields, handlers) {
  return readChatStream(`/api/conversations/${encodeURIComponent(conversationId)}/replies`, { ...fields, request: streamBody(body) }, handlers);
}

/**
 * Streams a new answer beside the stored message `messageId` (an answer, or a user message whose
 * answer was deleted); `body`'s last message is the user turn it answers.
 * @param {string} conversationId
 * @param {number} messageId
 * @param {Record<string, unknown>} body
 * @param {Record<string, unknown>} fields
 * @param {ChatStreamHandlers} handlers
 */
export function streamConversationRegenerate(conversationId, messageId, body, fields, handlers) {
  return readChatStream(`/api/conversations/${encodeURIComponent(conversationId)}/messages/${messageId}/regenerate`, { ...fields, request: streamBody(body) }, handlers);
}

/**
 * The dry run: the exact prompt, its tokens and the format the server would use for this body. It
 * loads the model like a reply does, so the pickers follow it the same way (load progress included).
 * @param {Record<string, unknown>} body
 */
export async function renderPrompt(body) {
  document.dispatchEvent(new CustomEvent("camelid:reply-started"));
  try {
    return /** @type {RenderedPromptResponse} */ (await api("POST", "/v1/chat/completions/render", { ...body, stream: undefined, stream_options: undefined }));
  } finally {
    document.dispatchEvent(new CustomEvent("camelid:reply-ended"));
  }
}
