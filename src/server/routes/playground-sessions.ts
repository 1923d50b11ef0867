// /api/sessions: the playground's saved Arena (side by side) and Collaborate sessions: list, create,
// read, replace, delete and export. Owned like conversations: another key's session is "not found".
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { ServerApp } from "../context.js";
import { ResourceNotFoundError } from "../http-errors.js";
import { readJsonBody } from "../openai/parse-body.js";
import { sessionKinds, type PlaygroundSession, type PlaygroundSessionStore, type PlaygroundSessionSummary, type SessionKind } from "../store/playground-sessions.js";
import { arenaConversations, createSessionSchema, sessionListFields, stateSchemas, type ArenaState } from "./playground-session-schemas.js";
import { integerQuery } from "./query.js";

const replaceSchema = z.object({ state: z.unknown() }).strict();

/** What the playground reads: snake_case like the rest of the API. */
export const sessionSummaryView = (session: PlaygroundSessionSummary) => ({
  id: session.id,
  object: "playground.session" as const,
  kind: session.kind,
  title: session.title,
  models: session.models,
  created_at: session.createdAt,
  updated_at: session.updatedAt,
});
export const sessionView = (session: PlaygroundSession) => ({ ...sessionSummaryView(session), state: session.state });
export type PlaygroundSessionView = ReturnType<typeof sessionView>;
export type PlaygroundSessionSummaryView = ReturnType<typeof sessionSummaryView>;
/** GET /api/sessions/:id/export: the session as a file, with each Arena column's conversation as OpenAI messages. */
export type PlaygroundSessionExport = PlaygroundSessionView & { format: "camelid-playground-session"; version: 1; conversations?: ReturnType<typeof arenaConversations> };

/** GET /api/sessions?kind=: the sessions of one kind, each without its document. */
export interface PlaygroundSessionList {
  object: "list";
  data: PlaygroundSessionSummaryView[];
}

function parseKind(value: string | undefined): SessionKind {
  if (value !== undefined && (sessionKinds as readonly string[]).includes(value)) return value as SessionKind;
  throw new InvalidArgumentError("kind", `'kind' must be one of ${sessionKinds.map((kind) => `"${kind}"`).join(", ")}, got ${JSON.stringify(value ?? null)}`);
}

/** A file name made only of safe characters, for content-disposition. */
const fileName = (kind: SessionKind, title: string) => `${kind}-${title.replace(/[^\w.-]+/g, "_").slice(0, 40) || "session"}.json`;

export function registerPlaygroundSessionRoutes(app: ServerApp, store: PlaygroundSessionStore): void {
  const found = (id: string, session: PlaygroundSession | undefined): PlaygroundSession => {
    if (!session) throw new ResourceNotFoundError("session", `session "${id}" not found`);
    return session;
  };

  app.get("/api/sessions", (c) => {
    const kind = parseKind(c.req.query("kind"));
    const limit = integerQuery(c.req.query("limit"), "limit", { min: 1, max: 500, fallback: 100 });
    const offset = integerQuery(c.req.query("offset"), "offset", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
    const list: PlaygroundSessionList = { object: "list", data: store.list(kind, c.get("visibility"), limit, offset).map(sessionSummaryView) };
    return c.json(list);
  });

  app.post("/api/sessions", async (c) => {
    const body = await readJsonBody(c.req, createSessionSchema);
    const session = store.create(body.kind, { ...sessionListFields(body.kind, body.state), state: body.state }, c.get("visibility").owner);
    return c.json(sessionView(session), 201);
  });

  app.get("/api/sessions/:id", (c) => c.json(sessionView(found(c.req.param("id"), store.get(c.req.param("id"), c.get("visibility"))))));

  // The whole document is replaced: the browser owns the session while it is open, the server checks its shape.
  app.put("/api/sessions/:id", async (c) => {
    const id = c.req.param("id");
    const existing = found(id, store.get(id, c.get("visibility")));
    const body = await readJsonBody(c.req, replaceSchema.extend({ state: stateSchemas[existing.kind] }));
    const state = body.state as z.infer<(typeof stateSchemas)[typeof existing.kind]>;
    return c.json(sessionView(found(id, store.replace(id, { ...sessionListFields(existing.kind, state), state }, c.get("visibility")))));
  });

  app.delete("/api/sessions/:id", (c) => {
    const id = c.req.param("id");
    if (!store.delete(id, c.get("visibility"))) throw new ResourceNotFoundError("session", `session "${id}" not found`);
    return c.json({ id, object: "playground.session", deleted: true });
  });

  // The saved document as a file, with each Arena column's conversation as OpenAI messages.
  app.get("/api/sessions/:id/export", (c) => {
    const session = found(c.req.param("id"), store.get(c.req.param("id"), c.get("visibility")));
    const extra = session.kind === "arena" ? { conversations: arenaConversations(session.state as ArenaState) } : {};
    c.header("content-disposition", `attachment; filename="${fileName(session.kind, session.title)}"`);
    const exported: PlaygroundSessionExport = { format: "camelid-playground-session", version: 1, ...sessionView(session), ...extra };
    return c.json(exported);
  });
}
