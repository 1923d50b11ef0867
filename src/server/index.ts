// The server's public surface: embed the API in another app (createServerApp), or run it as
// `camelid serve` does (resolveServeConfig + startServer with your own model factories).
export { createServerApp, type ServerAppOptions, type ServerAppHandle } from "./app.js";
export { startServer, modelSpecs, type ModelFactories, type RunningServer } from "./server.js";
export { listen, type ListeningServer } from "./listen.js";
export {
  resolveServeConfig,
  readServeConfigFile,
  parseServeConfig,
  serveConfigFileSchema,
  isLoopbackHost,
  type ServeConfig,
  type ServeConfigFile,
  type ServeFlags,
  type LocalModelConfig,
  type RemoteModelConfig,
} from "./config.js";
export { ModelRegistry, ModelEntry, type ModelSpec, type ModelState, type ModelStatus } from "./model-registry.js";
export { RequestScheduler, type Lease, type SchedulerOptions, type SchedulerStats } from "./scheduling/scheduler.js";
export { ApiKeyVerifier, hashApiKey, type ApiKeyRecord } from "./auth.js";
export { ServerMetrics } from "./metrics.js";
export { openServerDatabase, migrate, type ServerDatabase } from "./store/database.js";
export { RequestLog, type RequestLogRow, type RetentionPolicy } from "./store/request-log.js";
export { ConversationStore, type Conversation, type ConversationMessage, type ConversationWithMessages } from "./store/conversations.js";
