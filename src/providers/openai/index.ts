/**
 * Any OpenAI-compatible server (OpenAI, vLLM, llama-server, Ollama) behind camelid's one model interface.
 *
 *   const model = createOpenAICompatibleModel({ baseURL: "http://127.0.0.1:8080/v1", model: "stories", api: "chat", flavor: "llama-server" });
 *   const result = await model.doGenerate({ messages: [{ role: "user", content: "Hi" }], maxTokens: 32 });
 *
 * - `flavor` decides which non-OpenAI fields are sent (topK, minP, repeat penalty); anything a server
 *   cannot take is a warning in the result, never dropped silently.
 * - `providerOptions["openai-compatible"]` and `providerOptions[flavor]` are copied into the request
 *   body as extra fields (e.g. `{ vllm: { guided_choice: ["yes", "no"] } }`).
 * - Errors are camelid's typed errors (src/errors); retries cover 408/409/429/5xx and connection
 *   failures before any response byte, honouring retry-after; streams are never retried.
 * - Optional capabilities: tokenize/detokenize (llama-server, vLLM), logLikelihood (vLLM, OpenAI
 *   completions models), describe (GET /v1/models).
 */
export { createOpenAICompatibleModel, OPENAI_COMPATIBLE_PROVIDER } from "./openai-compatible-model.js";
export type { OpenAICompatibleSettings, ServerFlavor } from "./settings.js";
export type { FetchFunction } from "./http-transport.js";
export { ServerSentEventParser, type ServerSentEvent } from "./sse-parser.js";
export { errorFromResponse, extractErrorDetails, type RemoteErrorDetails } from "./error-mapping.js";
export { retryAfterMs, isRetryableStatus } from "../../retry/retry-policy.js";
