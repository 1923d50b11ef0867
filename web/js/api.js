// The only module that talks to the server: the public HTTP API (/v1 and /api), same origin.
import { readSseData } from "./sse.js";

const keyStorage = "camelid.apiKey";

export function apiKey() {
  return localStorage.getItem(keyStorage) ?? "";
}
export function setApiKey(key) {
  if (key) localStorage.setItem(keyStorage, key);
  else localStorage.removeItem(keyStorage);
}

/** An HTTP error with the server's OpenAI-shaped message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function headers(extra = {}) {
  const key = apiKey();
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

async function failure(response) {
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

/** JSON request; throws ApiError on a non-2xx answer. */
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

/** Text body (exports), with the key when one is set. */
export async function apiText(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return response.text();
}

/** POST that answers with SSE; yields each event's parsed JSON ("[DONE]" ends it). */
export async function* streamEvents(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "content-type": "application/json", accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  for await (const data of readSseData(response.body)) {
    if (data === "[DONE]") return;
    yield JSON.parse(data);
  }
}

export const listModels = async () => (await api("GET", "/v1/models")).data.map((model) => model.id);

/** Each served model's load state ("unloaded", "loading", "ready", "failed"), its load error and, while it loads, the fraction done. */
export const listModelStatuses = async () =>
  (await api("GET", "/v1/models")).data.map((model) => ({ id: model.id, state: model.status?.value ?? "ready", error: model.status?.error ?? null, progress: model.status?.progress ?? null }));

/**
 * Reads a chat.completion.chunk stream; calls onDelta(text) per piece. Returns {text, finishReason,
 * requestId, usage, timings} (timings: llama-server's object on the usage chunk); an abort (stop button) returns what arrived with finishReason "abort". An error
 * after the stream began (the server had accepted the request) is thrown with `midStream: true`, the
 * text so far as `partialText`, and `inStream: true` when the server itself sent the error.
 */
async function readChatStream(path, payload, { onDelta, signal }) {
  let text = "";
  let finishReason = null;
  let requestId = null;
  let usage = null;
  let timings = null;
  document.dispatchEvent(new CustomEvent("camelid:reply-started"));
  try {
    for await (const chunk of streamEvents(path, payload, signal)) {
      if (chunk.error) throw Object.assign(new ApiError(500, chunk.error.message, chunk), { inStream: true });
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

const streamBody = (body) => ({ ...body, stream: true, stream_options: { include_usage: true } });

/** Streams one chat completion (see readChatStream). */
export function streamChat(body, handlers) {
  return readChatStream("/v1/chat/completions", streamBody(body), handlers);
}

/**
 * Streams a reply in a saved conversation: the server stores the user's turn (the last message of
 * `body`) and the answer as it ends, however it ends, and `fields` (settings, system_prompt) once it
 * accepted the request.
 */
export function streamConversationReply(conversationId, body, fields, handlers) {
  return readChatStream(`/api/conversations/${encodeURIComponent(conversationId)}/replies`, { ...fields, request: streamBody(body) }, handlers);
}

/**
 * Streams a new answer beside the stored message `messageId` (an answer, or a user message whose
 * answer was deleted); `body`'s last message is the user turn it answers.
 */
export function streamConversationRegenerate(conversationId, messageId, body, fields, handlers) {
  return readChatStream(`/api/conversations/${encodeURIComponent(conversationId)}/messages/${messageId}/regenerate`, { ...fields, request: streamBody(body) }, handlers);
}

/**
 * The dry run: the exact prompt, its tokens and the format the server would use for this body. It
 * loads the model like a reply does, so the pickers follow it the same way (load progress included).
 */
export async function renderPrompt(body) {
  document.dispatchEvent(new CustomEvent("camelid:reply-started"));
  try {
    return await api("POST", "/v1/chat/completions/render", { ...body, stream: undefined, stream_options: undefined });
  } finally {
    document.dispatchEvent(new CustomEvent("camelid:reply-ended"));
  }
}
