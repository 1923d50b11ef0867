export { createOpenAICompatibleModel, OPENAI_COMPATIBLE_PROVIDER } from "./openai-compatible-model.js";
export type { OpenAICompatibleSettings, ServerFlavor } from "./settings.js";
export type { FetchFunction } from "./http-transport.js";
export { ServerSentEventParser, type ServerSentEvent } from "./sse-parser.js";
export { errorFromResponse, extractErrorDetails, type RemoteErrorDetails } from "./error-mapping.js";
export { retryAfterMs, isRetryableStatus } from "./retry-policy.js";
