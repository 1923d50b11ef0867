// CRUD for conversations under /api/conversations: what the playground reads and writes. Each API key
// sees only its own conversations (an admin key all); another key's conversation is "not found".
// A conversation is a tree of messages; GET answers with its active branch (`messages`), each message
// with its siblings, and the routes below switch branches and delete a message with what follows it.
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { ConversationStateError, ResourceNotFoundError } from "../http-errors.js";
import type { ServerApp, ServerContext, Visibility } from "../context.js";
import { readJsonBody } from "../openai/parse-body.js";
import { samplingOptionsSchema } from "../openai/request-schemas.js";
import { integerQuery } from "./query.js";
import type { Conversation } from "../store/conversations.js";

/** GET /api/conversations: the newest first; each one without its messages. */
export interface ConversationList {
  data: Conversation[];
}

const message = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string(), model: z.string().nullable().optional(), request_id: z.string().nullable().optional() });
/**
 * The playground's settings: the sampling fields follow the same rules as a chat request (a value
 * saved here is one the next request can send); its own keys (window, inspections) pass through.
 * Shared with the reply route, which saves them with the turn.
 */
export const conversationSettingsSchema = samplingOptionsSchema.partial().extend({ system_prompt: z.string().optional() }).loose();

const fields = {
  title: z.string().min(1).max(500).optional(),
  model: z.string().nullable().optional(),
  system_prompt: z.string().nullable().optional(),
  settings: conversationSettingsSchema.optional(),
};
const createSchema = z.object({ ...fields, messages: z.array(message).max(10_000).optional() });
const updateSchema = z.object(fields);
const appendSchema = z.object({ messages: z.array(message).min(1).max(10_000) });

const branchSchema = z.object({ message_id: z.number().int().positive() });

/** A message id from the path: a positive integer, else a 400 naming the parameter. */
export function messageIdParam(value: string): number {
  const id = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError("messageId", `a message id is a positive integer, got ${JSON.stringify(value)}`);
  return id;
}

const toNewMessage = (m: z.infer<typeof message>) => ({ role: m.role, content: m.content, model: m.model, requestId: m.request_id });
const toFields = (body: z.infer<typeof updateSchema>) => ({ title: body.title, model: body.model, systemPrompt: body.system_prompt, settings: body.settings });

export function registerConversationRoutes(app: ServerApp, context: ServerContext): void {
  const store = context.conversations;
  if (!store) return;
  const found = <T>(id: string, value: T | undefined): T => {
    if (value === undefined) throw new ResourceNotFoundError("conversation", `conversation "${id}" not found`);
    return value;
  };

  app.get("/api/conversations", (c) => {
    const limit = integerQuery(c.req.query("limit"), "limit", { min: 1, max: 500, fallback: 100 });
    const offset = integerQuery(c.req.query("offset"), "offset", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
    const list: ConversationList = { data: store.list(c.get("visibility"), limit, offset) };
    return c.json(list);
  });
  app.post("/api/conversations", async (c) => {
    const body = await readJsonBody(c.req, createSchema);
    return c.json(store.create({ ...toFields(body), messages: body.messages?.map(toNewMessage) }, c.get("visibility").owner), 201);
  });
  app.get("/api/conversations/:id", (c) => c.json(found(c.req.param("id"), store.get(c.req.param("id"), c.get("visibility")))));
  app.patch("/api/conversations/:id", async (c) => {
    const body = await readJsonBody(c.req, updateSchema);
    return c.json(found(c.req.param("id"), store.update(c.req.param("id"), toFields(body), c.get("visibility"))));
  });
  app.delete("/api/conversations/:id", (c) => {
    const id = c.req.param("id");
    found(id, store.delete(id, c.get("visibility")) ? true : undefined);
    return c.json({ id, deleted: true });
  });
  app.post("/api/conversations/:id/messages", async (c) => {
    const body = await readJsonBody(c.req, appendSchema);
    return c.json(found(c.req.param("id"), store.appendMessages(c.req.param("id"), body.messages.map(toNewMessage), c.get("visibility"))), 201);
  });

  /** The conversation exists (404) and no answer is being written in it (409: the change would pull the branch from under it). */
  const idle = (id: string, visibility: Visibility) => {
    found(id, store.has(id, visibility) ? true : undefined);
    if (store.isStreaming(id)) throw new ConversationStateError(`conversation "${id}" has an answer being written; wait for it to end (or stop it) first`);
  };
  const messageFound = <T>(id: string, messageId: number, value: T | undefined): T => {
    if (value === undefined) throw new ResourceNotFoundError("message", `message ${messageId} not found in conversation "${id}"`);
    return value;
  };

  // Shows another branch: the newest one through `message_id` (a sibling the user browsed to).
  app.post("/api/conversations/:id/branch", async (c) => {
    const id = c.req.param("id");
    const body = await readJsonBody(c.req, branchSchema);
    idle(id, c.get("visibility"));
    return c.json(messageFound(id, body.message_id, store.selectBranch(id, body.message_id, c.get("visibility"))));
  });
  // Deletes a message and everything after it in its branches; answers with what remains on screen.
  app.delete("/api/conversations/:id/messages/:messageId", (c) => {
    const id = c.req.param("id");
    const messageId = messageIdParam(c.req.param("messageId"));
    idle(id, c.get("visibility"));
    return c.json(messageFound(id, messageId, store.deleteMessage(id, messageId, c.get("visibility"))));
  });
}
