// camelid's main entry: the one model interface, typed errors and the two providers.
// Each area also has its own subpath export (camelid/gguf, camelid/prompts, camelid/server, ...).
export type * from "./spec/index.js";
export * from "./errors/index.js";
export { createLocalModel, type LocalModelOptions } from "./providers/local/index.js";
export { createOpenAICompatibleModel, type OpenAICompatibleSettings } from "./providers/openai/index.js";
export { createReplicaSetModel, type Replica, type ReplicaSetSettings } from "./providers/replica-set/index.js";
export { resolvePromptFormat, getPromptFormat, promptFormatNames } from "./prompts/index.js";
