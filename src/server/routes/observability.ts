import type { ServerApp, ServerContext } from "../context.js";

export function registerObservabilityRoutes(app: ServerApp, context: ServerContext): void {
  app.get("/health", (c) => {
    const models = context.registry.list().map((entry) => entry.status());
    return c.json({ status: "ok", models });
  });

  app.get("/metrics", (c) => c.body(context.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));

  const requestLog = context.requestLog;
  if (requestLog) {
    app.get("/api/requests", (c) => {
      const limit = Number(c.req.query("limit") ?? 50);
      return c.json({ data: requestLog.recent(Number.isFinite(limit) ? limit : 50, c.req.query("model")) });
    });
  }
}
