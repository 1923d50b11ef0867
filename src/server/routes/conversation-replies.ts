// POST /api/conversations/:id/replies: the playground's chat turn, persisted by the server. Once the
// model has started answering, the user's turn and an empty "streaming" answer are written; the
// answer's text is written when the stream finishes, fails, or is cut short (Stop, a reload, a
// closed tab), so nothing the user saw is lost to a refresh. The stream is the same
// chat.completion.chunk SSE as /v1/chat/completions.
// A conversation is a tree (see ConversationStore): a reply goes after the active branch's last
// message, or, with `parent_id`, after another one (an edited user turn starts a branch beside the
// old one); POST /api/conversations/:id/messages/:messageId/regenerate writes a new answer beside
// an old one. The playground sends the active branch as the request's messages.
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { StreamPart } from "../../spec/index.js";
import { clientIdentity, type ServerApp, type ServerContext, type ServerRequestContext } from "../context.js";
import { ConversationStateError, ResourceNotFoundError } from "../http-errors.js";
import { chatStreamEvents, sseResponseFor } from "../openai/chat-stream-events.js";
import { readJsonBody } from "../openai/parse-body.js";
import { chatCompletionRequestSchema } from "../openai/request-schemas.js";
import { newResponseIdentity } from "../openai/response-shapes.js";
import { prepareChatCall, type PreparedChat } from "../images/chat-images.js";
import type { ImageReference } from "../images/image-store.js";
import { warningsHeader } from "../openai/warnings-header.js";
import type { ConversationMessage, ConversationStore, ReplyOutcome } from "../store/conversations.js";
import { conversationSettingsSchema, messageIdParam } from "./conversations.js";
import { loggedParameters } from "./logged-parameters.js";

const replySchema = z.object({
  /** The chat request as sent to the model (the playground applies its window first); its last message is the user's turn. */
  request: chatCompletionRequestSchema,
  /** Kept with the conversation once the request was accepted: an invalid request saves nothing. */
  settings: conversationSettingsSchema.optional(),
  system_prompt: z.string().nullable().optional(),
  /**
   * The message the user's turn follows (an assistant or system message), null for a first message;
   * absent: the active branch's last message. Another branch than the active one is an edit.
   */
  parent_id: z.number().int().positive().nullable().optional(),
});
const regenerateSchema = replySchema.omit({ parent_id: true });
type ReplyBody = z.infer<typeof regenerateSchema>;

type RequestMessage = z.infer<typeof chatCompletionRequestSchema>["messages"][number];

/** A request message's text as the store keeps it: its text parts joined (its images are kept apart, by reference). */
function storedText(message: RequestMessage): string | null {
  if (typeof message.content === "string" || message.content === null) return message.content;
  return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("");
}

const sameImages = (a: readonly ImageReference[], b: readonly ImageReference[]) => a.length === b.length && a.every((image, index) => image.sha256 === b[index].sha256);

/** The user's turn: the request's last message, which must be a user message with text (and maybe images). */
function userTurn(messages: RequestMessage[]): string {
  const last = messages[messages.length - 1];
  const text = storedText(last);
  if (last.role !== "user" || text === null) {
    throw new InvalidArgumentError(`request.messages[${messages.length - 1}]`, "the last message of a conversation reply must be the user's turn, as text (and images)");
  }
  return text;
}

/**
 * Watches the parts going to the client and writes the answer once, at its end: before the finish or
 * error reaches the client (so what the client saw is on disk), or with the text so far when the
 * consumer stops early.
 */
function persistingParts(parts: AsyncGenerator<StreamPart, void, undefined>, settle: (outcome: ReplyOutcome) => void, text: { value: string }) {
  return (async function* (): AsyncGenerator<StreamPart, void, undefined> {
    try {
      for await (const part of parts) {
        if (part.type === "text-delta" && part.choiceIndex === 0) text.value += part.delta;
        else if (part.type === "finish") settle({ content: text.value, status: part.finishReason === "abort" ? "interrupted" : "done", finishReason: part.finishReason });
        else if (part.type === "error") settle({ content: text.value, status: "failed", finishReason: "error" });
        yield part;
      }
    } finally {
      settle({ content: text.value, status: "interrupted", finishReason: "abort" });
    }
  })();
}

/** The playground's generating routes (a chat reply, a regenerated answer): admitted like /v1/chat/completions. */
export const conversationReplyPaths = { reply: "/api/conversations/:id/replies", regenerate: "/api/conversations/:id/messages/:messageId/regenerate" } as const;

/**
 * The model sees only the branch the reply goes on: the request's messages (system messages aside,
 * which the playground adds from its settings) must be the last messages of the stored branch ending
 * at `endId`, oldest first; a window strategy may have dropped older ones. Answers that failed or are
 * still being written are not part of a prompt; an interrupted one may be missing (the page may have
 * seen it still streaming) or hold another length of its text.
 */
function assertRequestFollowsBranch(store: ConversationStore, conversationId: string, endId: number | null, messages: ReplyBody["request"]["messages"], sentCount: number, imagesByMessage: ImageReference[][]): void {
  const sent = messages.slice(0, sentCount).map((message, index) => ({ message, index })).filter(({ message }) => message.role !== "system");
  const stored = store.ancestors(conversationId, endId);
  for (let at = sent.length - 1; at >= 0; at--) {
    const { message, index } = sent[at];
    let next = stored.next();
    const skipped = (m: { role: string; status: string }) => m.role === "system" || m.status === "failed" || m.status === "streaming" || (m.status === "interrupted" && m.role !== message.role);
    while (!next.done && skipped(next.value)) next = stored.next();
    // A cut-short answer's text on the page may end earlier or later than the stored one (the server keeps writing until it notices the Stop).
    const sameText =
      !next.done && (next.value.status === "interrupted" || (next.value.content === storedText(message) && sameImages(next.value.images, imagesByMessage[index] ?? [])));
    if (next.done || next.value.role !== message.role || !sameText) {
      throw new InvalidArgumentError(
        `request.messages[${index}]`,
        next.done
          ? `the conversation's branch has no message for request.messages[${index}]: a reply's request carries the branch it answers, and only that`
          : `request.messages[${index}] differs from message ${next.value.id} of the conversation's branch: a reply's request carries the branch it answers, and only that`,
      );
    }
  }
}

export function registerConversationReplyRoutes(app: ServerApp, context: ServerContext): void {
  const store: ConversationStore | undefined = context.conversations;
  if (!store) return;
  const notFound = (id: string) => new ResourceNotFoundError("conversation", `conversation "${id}" not found`);
  const messageNotFound = (id: string, messageId: number) => new ResourceNotFoundError("message", `message ${messageId} not found in conversation "${id}"`);
  const assertIdle = (id: string) => {
    if (store.isStreaming(id)) throw new ConversationStateError(`conversation "${id}" has an answer being written; wait for it to end (or stop it) first`);
  };

  /**
   * Streams the model's answer to `body.request` and stores it: `user` (null when regenerating) and
   * the answer go under `parentId` (undefined: the active branch's end).
   */
  async function streamReply(c: ServerRequestContext, id: string, body: ReplyBody, prepared: PreparedChat, user: string | null, parentId: number | null | undefined): Promise<Response> {
    const visibility = c.get("visibility");
    const chat = body.request;
    const entry = context.registry.get(chat.model);
    const { options, loggedMessages } = prepared;
    const identity = newResponseIdentity("chatcmpl", chat.model);
    // Setup errors (a bad prompt format, a model that fails to load) answer with their status and save nothing.
    const served = await context.service.openStream({
      id: identity.id,
      endpoint: "chat.completions",
      entry,
      options,
      client: clientIdentity(c),
      owner: visibility.owner,
      signal: c.req.raw.signal,
      logged: { messages: loggedMessages, parameters: loggedParameters(chat) },
    });

    const answerId = store!.beginReply(
      id,
      visibility,
      { model: chat.model, systemPrompt: body.system_prompt, settings: body.settings },
      user === null ? null : { role: "user", content: user, images: prepared.imagesByMessage[chat.messages.length - 1] },
      { role: "assistant", content: "", model: chat.model, requestId: identity.id },
      parentId,
    );
    if (answerId === undefined) {
      await served.cancel();
      throw notFound(id);
    }
    const text = { value: "" };
    let settled = false;
    const settle = (outcome: ReplyOutcome) => {
      if (settled) return;
      settled = true;
      store!.finishReply(answerId, outcome);
    };
    const parts = persistingParts(served.parts, settle, text);
    const events = chatStreamEvents(identity, parts, { choiceCount: 1, includeUsage: chat.stream_options?.include_usage === true });
    const headers = { "x-request-id": identity.id, "x-camelid-message-id": String(answerId), ...warningsHeader(served.warnings) };
    return sseResponseFor(c.env, events, () => {
      // The client left: keep what was generated so far, then free the model.
      settle({ content: text.value, status: "interrupted", finishReason: "abort" });
      return served.cancel();
    }, headers);
  }

  const checkRequest = (chat: ReplyBody["request"]) => {
    if ((chat.n ?? 1) !== 1) throw new InvalidArgumentError("request.n", "a conversation reply has one answer: 'n' must be 1");
    return userTurn(chat.messages);
  };

  app.post(conversationReplyPaths.reply, async (c) => {
    const id = c.req.param("id");
    const body = await readJsonBody(c.req, replySchema);
    const visibility = c.get("visibility");
    const user = checkRequest(body.request);
    if (!store.has(id, visibility)) throw notFound(id);
    if (typeof body.parent_id === "number") {
      const parent = store.message(id, body.parent_id, visibility);
      if (!parent) throw messageNotFound(id, body.parent_id);
      if (parent.role === "user") throw new InvalidArgumentError("parent_id", `message ${parent.id} is a user message: a user's turn follows an answer (or nothing)`);
    }
    // A new branch (an edit) while an answer is being written would leave that answer off screen.
    if (body.parent_id !== undefined) assertIdle(id);
    const parent = body.parent_id !== undefined ? body.parent_id : store.activeLeafId(id);
    const prepared = await prepareChatCall(context.registry.get(body.request.model), body.request, context.images, "request.");
    assertRequestFollowsBranch(store, id, parent, body.request.messages, body.request.messages.length - 1, prepared.imagesByMessage);
    return streamReply(c, id, body, prepared, user, body.parent_id);
  });

  // A new answer beside an old one: to the user message `messageId` answers (or to `messageId` itself
  // when it is a user message whose answer was deleted). The request's last message is that user turn.
  app.post(conversationReplyPaths.regenerate, async (c) => {
    const id = c.req.param("id");
    const messageId = messageIdParam(c.req.param("messageId"));
    const body = await readJsonBody(c.req, regenerateSchema);
    const visibility = c.get("visibility");
    const user = checkRequest(body.request);
    if (!store.has(id, visibility)) throw notFound(id);
    const message = store.message(id, messageId, visibility);
    if (!message) throw messageNotFound(id, messageId);
    const answered: ConversationMessage | undefined = message.role === "user" ? message : message.parentId === null ? undefined : store.message(id, message.parentId, visibility);
    if (answered?.role !== "user") throw new InvalidArgumentError("messageId", `message ${messageId} answers no user message: only an answer (or a user message) can be regenerated`);
    const prepared = await prepareChatCall(context.registry.get(body.request.model), body.request, context.images, "request.");
    if (answered.content !== user || !sameImages(answered.images, prepared.imagesByMessage[body.request.messages.length - 1])) {
      throw new InvalidArgumentError(`request.messages[${body.request.messages.length - 1}]`, `the request's last message must be the user turn being answered again (message ${answered.id})`);
    }
    assertIdle(id);
    assertRequestFollowsBranch(store, id, answered.id, body.request.messages, body.request.messages.length, prepared.imagesByMessage);
    return streamReply(c, id, body, prepared, null, answered.id);
  });
}
