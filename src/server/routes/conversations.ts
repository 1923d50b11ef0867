// CRUD for conversations under /api/conversations: what the playground reads and writes.
import { z } from "zod";
import { ResourceNotFoundError } from "../http-errors.js";
import type { ServerApp, ServerContext } from "../context.js";
import { parseRequestBody } from "../openai/parse-body.js";

const message = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string(), model: z.string().nullable().optional(), request_id: z.string().nullable().optional() });
const fields = {
  title: z.string().min(1).max(500).optional(),
  model: z.string().nullable().optional(),
  system_prompt: z.string().nullable().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
};
const createSchema = z.object({ ...fields, messages: z.array(message).max(10_000).optional() });
const updateSchema = z.object(fields);
const appendSchema = z.object({ messages: z.array(message).min(1).max(10_000) });

const toNewMessage = (m: z.infer<typeof message>) => ({ role: m.role, content: m.content, model: m.model, requestId: m.request_id });
const toFields = (body: z.infer<typeof updateSchema>) => ({ title: body.title, model: body.model, systemPrompt: body.system_prompt, settings: body.settings });

export function registerConversationRoutes(app: ServerApp, context: ServerContext): void {
  const store = context.conversations;
  if (!store) return;
  const found = <T>(id: string, value: T | undefined): T => {
    if (value === undefined) throw new ResourceNotFoundError("conversation", `conversation "${id}" not found`);
    return value;
  };
  const numberQuery = (value: string | undefined, fallback: number) => {
    const parsed = Number(value);
    return value !== undefined && Number.isFinite(parsed) ? parsed : fallback;
  };

  app.get("/api/conversations", (c) =>
    c.json({ data: store.list(numberQuery(c.req.query("limit"), 100), numberQuery(c.req.query("offset"), 0)) }),
  );
  app.post("/api/conversations", async (c) => {
    const body = parseRequestBody(await c.req.text(), createSchema);
    return c.json(store.create({ ...toFields(body), messages: body.messages?.map(toNewMessage) }), 201);
  });
  app.get("/api/conversations/:id", (c) => c.json(found(c.req.param("id"), store.get(c.req.param("id")))));
  app.patch("/api/conversations/:id", async (c) => {
    const body = parseRequestBody(await c.req.text(), updateSchema);
    return c.json(found(c.req.param("id"), store.update(c.req.param("id"), toFields(body))));
  });
  app.delete("/api/conversations/:id", (c) => {
    const id = c.req.param("id");
    found(id, store.delete(id) ? true : undefined);
    return c.json({ id, deleted: true });
  });
  app.post("/api/conversations/:id/messages", async (c) => {
    const body = parseRequestBody(await c.req.text(), appendSchema);
    return c.json(found(c.req.param("id"), store.appendMessages(c.req.param("id"), body.messages.map(toNewMessage))), 201);
  });
}
