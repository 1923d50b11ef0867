import type { ServerApp, ServerContext } from "../context.js";
import type { ModelStatus } from "../model-registry.js";
import type { RequestLogRow } from "../store/request-log.js";
import { integerQuery } from "./query.js";

/** GET /api/requests: the newest logged requests, as the request-log views show them. */
export interface RequestLogList {
  data: RequestLogRow[];
}

/**
 * "ok" while at least one model can serve (ready, or not tried yet under lazy loading); "degraded"
 * when some failed to load; "unavailable" (503, so probes notice) when every model failed.
 */
export function healthOf(models: readonly ModelStatus[]): { status: "ok" | "degraded" | "unavailable"; httpStatus: 200 | 503 } {
  const failed = models.filter((model) => model.state === "failed").length;
  if (models.length > 0 && failed === models.length) return { status: "unavailable", httpStatus: 503 };
  return { status: failed > 0 ? "degraded" : "ok", httpStatus: 200 };
}

export function registerObservabilityRoutes(app: ServerApp, context: ServerContext): void {
  // Public as a liveness probe: without a valid key it says only whether the server can serve, never
  // model paths or load errors (they name files and upstreams); the key's holder gets the details.
  app.get("/health", (c) => {
    const models = context.registry.list().map((entry) => entry.status());
    const health = healthOf(models);
    if (!c.get("authenticated")) return c.json({ status: health.status }, health.httpStatus);
    return c.json({ status: health.status, models }, health.httpStatus);
  });

  app.get("/metrics", (c) => c.body(context.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));

  const requestLog = context.requestLog;
  if (requestLog) {
    app.get("/api/requests", (c) => {
      const limit = integerQuery(c.req.query("limit"), "limit", { min: 1, max: 1000, fallback: 50 });
      const model = c.req.query("model");
      const rows = context.requestLogViews.reduce((shown, view) => view(shown), requestLog.recent(limit, c.get("visibility"), model));
      // Filtering after the views: ?model=X must not pick out the hidden arena rows of model X.
      const list: RequestLogList = { data: model === undefined ? rows : rows.filter((row) => row.model === model) };
      return c.json(list);
    });
  }
}
