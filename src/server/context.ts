import type { Context, Hono } from "hono";
import type { GenerationService } from "./generation-service.js";
import type { ImageIntake } from "./images/image-intake.js";
import type { ServerMetrics } from "./metrics.js";
import type { ModelRegistry } from "./model-registry.js";
import type { ConversationStore } from "./store/conversations.js";
import type { RequestLog, RequestLogRow } from "./store/request-log.js";

/** Per-request values set by middleware. */
export interface ServerEnv {
  Variables: {
    /** The authenticated key's name; undefined when the server runs without keys. */
    keyName: string | undefined;
    /** The peer address, when the request came over a socket. */
    peer: string | undefined;
    /** A valid key was presented, or the server has no keys: /health shows its details. */
    authenticated: boolean;
    /** Whose rows this request may see (set by the key check). */
    visibility: Visibility;
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
  /** Reads and stores chat requests' images (absent: requests with images are refused). */
  images?: ImageIntake;
  /**
   * Rewrites of request-log rows before /api/requests shows them (the arena hides its models). Each
   * takes the whole page, so it reads what it needs for all rows at once, not once per row.
   */
  requestLogViews: ((rows: RequestLogRow[]) => RequestLogRow[])[];
}

/**
 * Whose conversations, request-log rows and battles a request may see. With API keys, each key sees
 * the rows it created (`owner` = the key's name) and an admin key sees all; without keys (one user on
 * loopback) everything is visible and new rows have no owner.
 */
export interface Visibility {
  /** Written into the rows this request creates. */
  owner: string | null;
  /** Admin key, or a server without keys: every row. */
  seesAll: boolean;
}

export const everyone: Visibility = { owner: null, seesAll: true };

/**
 * The identity used for fair queueing, vote caps and battle ownership: the authenticated key's name,
 * else the peer address. Never the body's `user` field: a client could pick a fresh one per request
 * and jump the queue.
 */
export function clientIdentity(c: ServerRequestContext): string {
  return c.get("keyName") ?? c.get("peer") ?? "anonymous";
}
