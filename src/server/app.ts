import { Hono } from "hono";
import { cors } from "hono/cors";
import { arenaAnswerPaths, arenaImagePaths, registerArenaRoutes, type ArenaOptions } from "./arena/arena-routes.js";
import { loadPlaygroundAssets } from "./arena/playground-assets.js";
import { ApiKeyVerifier, presentedKey, type ApiKeyRecord, type VerifiedKey } from "./auth.js";
import { bodyLimit } from "./body-limit.js";
import { BrowserGuard } from "./browser-guard.js";
import { clientIdentity, everyone, type ServerContext, type ServerEnv } from "./context.js";
import { GenerationService } from "./generation-service.js";
import { ResourceNotFoundError, serverHttpError } from "./http-errors.js";
import { ServerMetrics } from "./metrics.js";
import type { ModelRegistry } from "./model-registry.js";
import { registerChatCompletionRoutes } from "./routes/chat-completions.js";
import { registerCompletionRoutes } from "./routes/completions.js";
import { conversationReplyPaths, registerConversationReplyRoutes } from "./routes/conversation-replies.js";
import { registerConversationRoutes } from "./routes/conversations.js";
import { registerModelRoutes } from "./routes/models.js";
import { registerImageRoutes } from "./routes/images.js";
import { registerPlaygroundSessionRoutes } from "./routes/playground-sessions.js";
import { registerObservabilityRoutes } from "./routes/observability.js";
import { registerPlaygroundSettingsRoutes } from "./routes/playground-settings.js";
import { registerPromptToolRoutes } from "./routes/prompt-tools.js";
import { registerSafetyReportRoutes } from "./routes/safety-reports.js";
import { registerEvalResultRoutes } from "./routes/eval-results.js";
import { registerTrainingRunRoutes, type TrainingRunRouteOptions } from "./routes/training-runs.js";
import { imageBodyLimit, type ImageIntake } from "./images/image-intake.js";
import type { ConversationStore } from "./store/conversations.js";
import type { PlaygroundSessionStore } from "./store/playground-sessions.js";
import type { RequestLog } from "./store/request-log.js";

export interface ServerAppOptions {
  registry: ModelRegistry;
  requestLog?: RequestLog;
  conversations?: ConversationStore;
  /** Reads and stores chat requests' images (absent: requests with images are refused); `<data dir>/images` in serve. */
  images?: ImageIntake;
  /** The playground's saved Arena and Collaborate sessions under /api/sessions (absent: no such routes). */
  sessions?: PlaygroundSessionStore;
  /** Anonymous battles, votes and the leaderboard under /api/arena (absent: no arena routes). */
  arena?: ArenaOptions;
  /** Keys allowed in; empty or absent: no authentication (the default bind is loopback). */
  apiKeys?: ApiKeyRecord[];
  /** `eval safety` reports shown read-only under /api/safety (absent: no safety routes); `<data dir>/safety` in serve. */
  safetyReportsDirectory?: string;
  /** Training runs shown under /api/train, and how a run's adapter is served (absent: no train routes); `<data dir>/runs` in serve. */
  trainingRuns?: TrainingRunRouteOptions;
  /** Evaluation results in FastChat's llm_judge layout shown read-only under /api/eval (absent: no eval routes); `<data dir>/eval` in serve. */
  evalResultsDirectory?: string;
  /** Largest accepted request body (default 1 MiB); routes that carry images take more (see imageBodyLimit). */
  bodyLimitBytes?: number;
  /** Origins allowed by CORS ("*" for any); absent or empty: no CORS headers. */
  corsOrigins?: string[];
  /** Host names allowed besides IP addresses and localhost (DNS rebinding protection); "*": any. */
  allowedHosts?: string[];
  /** Reports the peer address of a request (supplied by the socket listener; tests have none). */
  peerAddress?: (request: Request, env: unknown) => string | undefined;
  /** Where operational warnings and internal errors (with stack traces) go; default stderr. */
  log?: (line: string) => void;
}

/** Paths anyone may call without a key: liveness probes must work before a key is handed out. */
const publicPaths = new Set(["/health"]);

function optionalKey(verifier: ApiKeyVerifier, key: string | undefined): VerifiedKey | undefined {
  if (!key) return undefined;
  try {
    return verifier.verify(key);
  } catch {
    return undefined;
  }
}

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
      replicas: statuses.flatMap((s) => (s.replicas ? [{ model: s.id, replicas: s.replicas }] : [])),
    };
  });
  const log = options.log ?? ((line: string) => console.error(`camelid serve: ${line}`));
  const context: ServerContext = {
    registry,
    metrics,
    service: new GenerationService(metrics, options.requestLog, log),
    requestLog: options.requestLog,
    conversations: options.conversations,
    ...(options.images ? { images: options.images } : {}),
    requestLogViews: [],
  };
  const verifier = new ApiKeyVerifier(options.apiKeys ?? []);
  const limit = options.bodyLimitBytes ?? 1024 * 1024;
  // The playground's static files (web/) load without a key; the page then sends the key with every API call.
  const playground = loadPlaygroundAssets();

  const app = new Hono<ServerEnv>();
  app.onError((error, c) => {
    const http = serverHttpError(error);
    metrics.errors.inc({ status: String(http.status) });
    if (http.status === 500) {
      // A 500 is a bug, not bad input: keep its stack where an operator looks (stderr, the request log).
      const id = context.service.reportInternalError(error, {
        endpoint: `${c.req.method} ${c.req.path}`,
        owner: c.get("visibility")?.owner ?? null,
        client: clientIdentity(c),
      });
      return c.json(http.body, 500, { ...http.headers, "x-request-id": id });
    }
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
        exposeHeaders: ["x-request-id", "x-camelid-warnings", "retry-after", "x-camelid-message-id"],
        maxAge: 600,
      }),
    );
  }
  const guard = new BrowserGuard({ allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins });
  app.use("*", async (c, next) => {
    c.set("peer", options.peerAddress?.(c.req.raw, c.env));
    c.set("visibility", verifier.enabled ? { owner: null, seesAll: false } : everyone);
    c.set("authenticated", !verifier.enabled);
    guard.check(c.req.raw);
    if (verifier.enabled) {
      const isPublic = publicPaths.has(c.req.path) || playground.isAssetRequest(c.req.method, c.req.path);
      // Public paths still learn about a valid key (/health shows details to its holder), never refuse one.
      const key = isPublic ? optionalKey(verifier, presentedKey(c.req.raw.headers)) : verifier.verify(presentedKey(c.req.raw.headers));
      if (key) {
        c.set("keyName", key.name);
        c.set("visibility", { owner: key.name, seesAll: key.admin });
        c.set("authenticated", true);
      }
    }
    await next();
  });
  // A retry storm against a saturated server is refused before its body is read and parsed, so
  // parsing never competes with generation for the CPU; the playground's chat replies and arena answers likewise.
  for (const path of ["/v1/chat/completions", "/v1/completions", ...Object.values(conversationReplyPaths), ...Object.values(arenaAnswerPaths)]) {
    app.post(path, async (_c, next) => {
      registry.assertCanQueue();
      await next();
    });
  }
  // Routes whose bodies carry images follow the image limits, so an image within them is never "too
  // large" for the body; every other route keeps the ordinary limit.
  const imageLimit = options.images ? Math.max(limit, imageBodyLimit(options.images.options, limit)) : limit;
  const imageRoutes = [
    "/v1/chat/completions",
    "/v1/chat/completions/render",
    ...Object.values(conversationReplyPaths),
    ...(options.arena ? arenaImagePaths : []),
  ].map((pattern) => new RegExp(`^${pattern.replace(/:[A-Za-z]+/g, "[^/]+")}$`));
  const ordinaryLimiter = bodyLimit(limit);
  const imageLimiter = bodyLimit(imageLimit);
  app.use("*", (c, next) => (imageRoutes.some((route) => route.test(c.req.path)) ? imageLimiter : ordinaryLimiter)(c, next));

  registerObservabilityRoutes(app, context);
  registerModelRoutes(app, context);
  registerImageRoutes(app, context);
  registerChatCompletionRoutes(app, context);
  registerCompletionRoutes(app, context);
  registerPromptToolRoutes(app, context);
  registerPlaygroundSettingsRoutes(app, context);
  registerConversationRoutes(app, context);
  registerConversationReplyRoutes(app, context);
  if (options.sessions) registerPlaygroundSessionRoutes(app, options.sessions);
  if (options.arena) registerArenaRoutes(app, context, options.arena);
  if (options.safetyReportsDirectory) registerSafetyReportRoutes(app, options.safetyReportsDirectory);
  if (options.trainingRuns) registerTrainingRunRoutes(app, context, options.trainingRuns);
  if (options.evalResultsDirectory) registerEvalResultRoutes(app, options.evalResultsDirectory);
  playground.register(app);
  return { app, context };
}
