import type { Context, Hono } from "hono";
import type { GenerationService } from "./generation-service.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelRegistry } from "./model-registry.js";
import type { ConversationStore } from "./store/conversations.js";
import type { RequestLog } from "./store/request-log.js";

/** Per-request values set by middleware. */
export interface ServerEnv {
  Variables: {
    /** The authenticated key's name; undefined when the server runs without keys. */
    keyName: string | undefined;
    /** The peer address, when the request came over a socket. */
    peer: string | undefined;
  };
}

export type ServerApp = Hono<ServerEnv>;
export type ServerRequestContext = Context<ServerEnv>;

/** Everything routes need, built once per server. */
export interface ServerContext {
  registry: ModelRegistry;
  service: GenerationService;
  metrics: ServerMetrics;
  requestLog?: RequestLog;
  conversations?: ConversationStore;
}

/** The identity used for fair queueing: the key's name, else the body's `user`, else the peer address. */
export function clientIdentity(c: ServerRequestContext, user?: string): string {
  const keyName = c.get("keyName");
  if (keyName) return user ? `${keyName}/${user}` : keyName;
  return user ? `user:${user}` : (c.get("peer") ?? "anonymous");
}
