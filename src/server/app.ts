import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { registerArenaRoutes, type ArenaOptions } from "./arena/arena-routes.js";
import { loadPlaygroundAssets } from "./arena/playground-assets.js";
import { ApiKeyVerifier, presentedKey, type ApiKeyRecord } from "./auth.js";
import type { ServerContext, ServerEnv } from "./context.js";
import { GenerationService } from "./generation-service.js";
import { RequestTooLargeError, ResourceNotFoundError, serverHttpError } from "./http-errors.js";
import { ServerMetrics } from "./metrics.js";
import type { ModelRegistry } from "./model-registry.js";
import { registerChatCompletionRoutes } from "./routes/chat-completions.js";
import { registerCompletionRoutes } from "./routes/completions.js";
import { registerConversationReplyRoutes } from "./routes/conversation-replies.js";
import { registerConversationRoutes } from "./routes/conversations.js";
import { registerModelRoutes } from "./routes/models.js";
import { registerObservabilityRoutes } from "./routes/observability.js";
import { registerPromptToolRoutes } from "./routes/prompt-tools.js";
import type { ConversationStore } from "./store/conversations.js";
import type { RequestLog } from "./store/request-log.js";

export interface ServerAppOptions {
  registry: ModelRegistry;
  requestLog?: RequestLog;
  conversations?: ConversationStore;
  /** Anonymous battles, votes and the leaderboard under /api/arena (absent: no arena routes). */
  arena?: ArenaOptions;
  /** Keys allowed in; empty or absent: no authentication (the default bind is loopback). */
  apiKeys?: ApiKeyRecord[];
  /** Largest accepted request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Origins allowed by CORS ("*" for any); absent or empty: no CORS headers. */
  corsOrigins?: string[];
  /** Reports the peer address of a request (supplied by the socket listener; tests have none). */
  peerAddress?: (request: Request, env: unknown) => string | undefined;
  /** Where operational warnings go (a failed request-log write); default stderr. */
  log?: (line: string) => void;
}

/** Paths anyone may call without a key: liveness probes must work before a key is handed out. */
const publicPaths = new Set(["/health"]);

export interface ServerAppHandle {
  app: Hono<ServerEnv>;
  context: ServerContext;
}

/** The whole HTTP API as a Hono app: usable with `app.request()` in tests or behind a socket. */
export function createServerApp(options: ServerAppOptions): ServerAppHandle {
  const registry = options.registry;
  const metrics = new ServerMetrics(() => {
    const statuses = registry.list().map((entry) => entry.status());
    return {
      queueDepth: statuses.map((s) => ({ labels: { model: s.id }, value: s.queued })),
      activeSequences: statuses.map((s) => ({ labels: { model: s.id }, value: s.active })),
      capacity: statuses.map((s) => ({ labels: { model: s.id }, value: s.capacity })),
    };
  });
  const context: ServerContext = {
    registry,
    metrics,
    service: new GenerationService(metrics, options.requestLog, (error) =>
      (options.log ?? ((line: string) => console.error(`camelid serve: ${line}`)))(`request log write failed: ${error instanceof Error ? error.message : String(error)}`),
    ),
    requestLog: options.requestLog,
    conversations: options.conversations,
  };
  const verifier = new ApiKeyVerifier(options.apiKeys ?? []);
  const limit = options.bodyLimitBytes ?? 1024 * 1024;
  // The playground's static files (web/) load without a key; the page then sends the key with every API call.
  const playground = loadPlaygroundAssets();

  const app = new Hono<ServerEnv>();
  app.onError((error, c) => {
    const http = serverHttpError(error);
    metrics.errors.inc({ status: String(http.status) });
    return c.json(http.body, http.status as 400, http.headers);
  });
  app.notFound((c) => {
    const http = serverHttpError(new ResourceNotFoundError("route", `no route for ${c.req.method} ${c.req.path}`));
    return c.json(http.body, 404);
  });

  if (options.corsOrigins && options.corsOrigins.length > 0) {
    const origins = options.corsOrigins;
    app.use(
      "*",
      cors({
        origin: origins.includes("*") ? "*" : origins,
        allowHeaders: ["authorization", "content-type", "x-api-key"],
        // Browsers hide response headers from scripts unless listed here.
        exposeHeaders: ["x-request-id", "x-camelid-warnings", "retry-after"],
        maxAge: 600,
      }),
    );
  }
  app.use("*", async (c, next) => {
    c.set("peer", options.peerAddress?.(c.req.raw, c.env));
    if (verifier.enabled && !publicPaths.has(c.req.path) && !playground.isAssetRequest(c.req.method, c.req.path)) c.set("keyName", verifier.verify(presentedKey(c.req.raw.headers)));
    await next();
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new RequestTooLargeError(limit);
      },
    }),
  );

  registerObservabilityRoutes(app, context);
  registerModelRoutes(app, context);
  registerChatCompletionRoutes(app, context);
  registerCompletionRoutes(app, context);
  registerPromptToolRoutes(app, context);
  registerConversationRoutes(app, context);
  registerConversationReplyRoutes(app, context);
  if (options.arena) registerArenaRoutes(app, context, options.arena);
  playground.register(app);
  return { app, context };
}
