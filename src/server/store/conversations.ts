import { randomUUID } from "node:crypto";
import type { ChatRole } from "../../spec/index.js";
import type { Visibility } from "../context.js";
import type { ImageReference } from "../images/image-store.js";
import type { ServerDatabase } from "./database.js";

/** "streaming" while the server writes the answer; "interrupted" when it was cut short. */
export type MessageStatus = "streaming" | "done" | "interrupted" | "failed";

export interface ConversationMessage {
  id: number;
  /** The message this one answers or follows; null for a first message. */
  parentId: number | null;
  /** Every message with the same parent (this one included), oldest first: the alternatives the user browses. */
  siblingIds: number[];
  role: ChatRole;
  content: string;
  /** A user turn's images (references to the image store), in order; empty for text only. */
  images: ImageReference[];
  model: string | null;
  requestId: string | null;
  status: MessageStatus;
  finishReason: string | null;
  createdAt: number;
}

export interface Conversation {
  id: string;
  title: string;
  model: string | null;
  systemPrompt: string | null;
  settings: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface ConversationWithMessages extends Conversation {
  /** The active branch, first message to `activeLeafId`: what the page shows, exports and replies to. */
  messages: ConversationMessage[];
  /** The last message of the active branch; null while the conversation is empty. */
  activeLeafId: number | null;
  /** Messages in every branch (the active one and those kept beside it). */
  messageCount: number;
}

export interface ConversationFields {
  title?: string;
  model?: string | null;
  systemPrompt?: string | null;
  settings?: Record<string, unknown>;
}

export interface NewMessage {
  role: ChatRole;
  content: string;
  images?: ImageReference[];
  model?: string | null;
  requestId?: string | null;
  status?: MessageStatus;
  finishReason?: string | null;
}

/** How an answer the server was writing ended. */
export interface ReplyOutcome {
  content: string;
  status: Exclude<MessageStatus, "streaming">;
  finishReason: string | null;
}

interface ConversationRow {
  id: string;
  active_leaf_id: number | null;
  title: string;
  model: string | null;
  system_prompt: string | null;
  settings: string;
  created_at: number;
  updated_at: number;
}

interface MessageRow {
  id: number;
  parent_id: number | null;
  role: ChatRole;
  content: string;
  images: string | null;
  model: string | null;
  request_id: string | null;
  status: MessageStatus;
  finish_reason: string | null;
  created_at: number;
}

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    model: row.model,
    systemPrompt: row.system_prompt,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMessage(row: MessageRow, siblingIds: number[]): ConversationMessage {
  return {
    id: row.id,
    parentId: row.parent_id,
    siblingIds,
    role: row.role,
    content: row.content,
    images: row.images ? (JSON.parse(row.images) as ImageReference[]) : [],
    model: row.model,
    requestId: row.request_id,
    status: row.status,
    finishReason: row.finish_reason,
    createdAt: row.created_at,
  };
}

/**
 * The branch ending at `leafId` (falling back to the newest leaf when that message is gone), first
 * message first, each with its siblings. `rows` are every message of one conversation, by id.
 */
function activeBranch(rows: MessageRow[], leafId: number | null): ConversationMessage[] {
  if (rows.length === 0) return [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  const children = new Map<number | null, number[]>();
  for (const row of rows) children.set(row.parent_id, [...(children.get(row.parent_id) ?? []), row.id]);
  const leaf = leafId !== null && byId.has(leafId) ? leafId : newestLeafUnder(rows, null);
  const path: ConversationMessage[] = [];
  for (let row = byId.get(leaf ?? -1); row; row = row.parent_id === null ? undefined : byId.get(row.parent_id)) {
    path.push(toMessage(row, children.get(row.parent_id) ?? [row.id]));
  }
  return path.reverse();
}

/**
 * The leaf a branch choice lands on: from `start` (null: the roots) down through the newest child at
 * each step, so switching to an older answer reopens the newest conversation that followed it.
 */
function newestLeafUnder(rows: MessageRow[], start: number | null): number | null {
  const newestChild = new Map<number | null, number>();
  for (const row of rows) newestChild.set(row.parent_id, Math.max(newestChild.get(row.parent_id) ?? -Infinity, row.id));
  let at = start;
  for (let next = newestChild.get(at); next !== undefined; next = newestChild.get(at)) at = next;
  return at;
}

/** SQL parameters for `(@all = 1 OR owner = @owner)`: NULL owners never match a key, only "all". */
export const visible = (visibility: Visibility) => ({ all: visibility.seesAll ? 1 : 0, owner: visibility.owner });

/** Conversations the playground keeps (CRUD over /api/conversations). */
export class ConversationStore {
  constructor(
    private readonly db: ServerDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  /** `owner`: the API key creating it (null without keys). */
  create(fields: ConversationFields & { messages?: NewMessage[] }, owner: string | null = null): ConversationWithMessages {
    const id = randomUUID();
    const time = this.now();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO conversations (id, title, model, system_prompt, settings, created_at, updated_at, owner)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, fields.title ?? "New conversation", fields.model ?? null, fields.systemPrompt ?? null, JSON.stringify(fields.settings ?? {}), time, time, owner);
      this.appendChain(id, null, fields.messages ?? [], time);
    })();
    return this.get(id, { owner, seesAll: true })!;
  }

  list(visibility: Visibility, limit = 100, offset = 0): Conversation[] {
    const rows = this.db
      .prepare(`SELECT * FROM conversations WHERE (@all = 1 OR owner = @owner) ORDER BY updated_at DESC, rowid DESC LIMIT @limit OFFSET @offset`)
      .all({ ...visible(visibility), limit: Math.max(1, Math.min(500, Math.floor(limit))), offset: Math.max(0, Math.floor(offset)) }) as ConversationRow[];
    return rows.map(toConversation);
  }

  /** The conversation's own row (no messages), if `visibility` may see it. */
  private row(id: string, visibility: Visibility): ConversationRow | undefined {
    return this.db.prepare(`SELECT * FROM conversations WHERE id = @id AND (@all = 1 OR owner = @owner)`).get({ id, ...visible(visibility) }) as ConversationRow | undefined;
  }

  /** The last message of the active branch (null: none); the caller checks visibility. */
  activeLeafId(id: string): number | null {
    return (this.db.prepare(`SELECT active_leaf_id FROM conversations WHERE id = ?`).get(id) as { active_leaf_id: number | null } | undefined)?.active_leaf_id ?? null;
  }

  /** Whether `visibility` may see the conversation, without reading its messages. */
  has(id: string, visibility: Visibility): boolean {
    return this.row(id, visibility) !== undefined;
  }

  /** The conversation, if `visibility` may see it: another key's conversation is as good as missing. */
  get(id: string, visibility: Visibility): ConversationWithMessages | undefined {
    const row = this.row(id, visibility);
    if (!row) return undefined;
    const rows = this.messageRows(id);
    return { ...toConversation(row), messages: activeBranch(rows, row.active_leaf_id), activeLeafId: row.active_leaf_id, messageCount: rows.length };
  }

  private messageRows(conversationId: string): MessageRow[] {
    return this.db
      .prepare(`SELECT id, parent_id, role, content, images, model, request_id, status, finish_reason, created_at FROM conversation_messages WHERE conversation_id = ? ORDER BY id`)
      .all(conversationId) as MessageRow[];
  }

  /** One message of a conversation `visibility` may see (any branch); undefined when either is missing. */
  message(conversationId: string, messageId: number, visibility: Visibility): ConversationMessage | undefined {
    if (!this.has(conversationId, visibility)) return undefined;
    const row = this.db
      .prepare(`SELECT id, parent_id, role, content, images, model, request_id, status, finish_reason, created_at FROM conversation_messages WHERE conversation_id = ? AND id = ?`)
      .get(conversationId, messageId) as MessageRow | undefined;
    if (!row) return undefined;
    const siblings = this.db.prepare(`SELECT id FROM conversation_messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id`).all(conversationId, row.parent_id) as { id: number }[];
    return toMessage(row, siblings.map((sibling) => sibling.id));
  }

  /**
   * The messages from `messageId` up towards the first one, newest first, read one at a time (a
   * caller that needs only the last few never reads the whole branch). The conversation's visibility
   * is the caller's to check.
   */
  *ancestors(conversationId: string, messageId: number | null): Generator<Pick<ConversationMessage, "id" | "role" | "content" | "images" | "status">, void, undefined> {
    const read = this.db.prepare(`SELECT id, parent_id, role, content, images, status FROM conversation_messages WHERE conversation_id = ? AND id = ?`);
    for (let id = messageId; id !== null; ) {
      const row = read.get(conversationId, id) as Pick<MessageRow, "id" | "parent_id" | "role" | "content" | "images" | "status"> | undefined;
      if (!row) return;
      yield { id: row.id, role: row.role, content: row.content, images: row.images ? (JSON.parse(row.images) as ImageReference[]) : [], status: row.status };
      id = row.parent_id;
    }
  }

  /** Whether an answer of the conversation (in any branch) is being written right now. */
  isStreaming(conversationId: string): boolean {
    return this.db.prepare(`SELECT 1 FROM conversation_messages WHERE conversation_id = ? AND status = 'streaming' LIMIT 1`).get(conversationId) !== undefined;
  }

  /**
   * Puts the branch through `messageId` on screen: its newest leaf becomes the active one. Undefined
   * when the conversation or the message is missing.
   */
  selectBranch(conversationId: string, messageId: number, visibility: Visibility): ConversationWithMessages | undefined {
    if (!this.message(conversationId, messageId, visibility)) return undefined;
    const leaf = newestLeafUnder(this.messageRows(conversationId), messageId);
    this.db.prepare(`UPDATE conversations SET active_leaf_id = ?, updated_at = ? WHERE id = ?`).run(leaf, this.now(), conversationId);
    return this.get(conversationId, visibility);
  }

  /**
   * Deletes a message and every message after it in its branches (they answer or follow it). When the
   * active branch went with them, the newest remaining branch under its parent takes its place.
   * Undefined when the conversation or the message is missing.
   */
  deleteMessage(conversationId: string, messageId: number, visibility: Visibility): ConversationWithMessages | undefined {
    const message = this.message(conversationId, messageId, visibility);
    if (!message) return undefined;
    this.db.transaction(() => {
      const row = this.row(conversationId, visibility)!;
      const removed = this.db
        .prepare(
          `WITH RECURSIVE doomed(id) AS (SELECT ? UNION ALL SELECT m.id FROM conversation_messages m JOIN doomed d ON m.parent_id = d.id)
           SELECT id FROM doomed`,
        )
        .all(messageId) as { id: number }[];
      const removedIds = new Set(removed.map((r) => r.id));
      this.db.prepare(`DELETE FROM conversation_messages WHERE id IN (SELECT value FROM json_each(?))`).run(JSON.stringify([...removedIds]));
      const activeGone = row.active_leaf_id === null || removedIds.has(row.active_leaf_id);
      const leaf = activeGone ? newestLeafUnder(this.messageRows(conversationId), message.parentId) : row.active_leaf_id;
      this.db.prepare(`UPDATE conversations SET active_leaf_id = ?, updated_at = ? WHERE id = ?`).run(leaf, this.now(), conversationId);
    })();
    return this.get(conversationId, visibility);
  }

  update(id: string, fields: ConversationFields, visibility: Visibility): ConversationWithMessages | undefined {
    const row = this.row(id, visibility);
    if (!row) return undefined;
    this.writeFields(toConversation(row), fields);
    return this.get(id, visibility);
  }

  /** Overwrites the fields given, keeps the others as `existing` has them, and touches updated_at. */
  private writeFields(existing: Conversation, fields: ConversationFields): void {
    this.db
      .prepare(`UPDATE conversations SET title = ?, model = ?, system_prompt = ?, settings = ?, updated_at = ? WHERE id = ?`)
      .run(
        fields.title ?? existing.title,
        fields.model === undefined ? existing.model : fields.model,
        fields.systemPrompt === undefined ? existing.systemPrompt : fields.systemPrompt,
        JSON.stringify(fields.settings ?? existing.settings),
        this.now(),
        existing.id,
      );
  }

  delete(id: string, visibility: Visibility): boolean {
    return this.db.prepare(`DELETE FROM conversations WHERE id = @id AND (@all = 1 OR owner = @owner)`).run({ id, ...visible(visibility) }).changes > 0;
  }

  /** Appends messages in order after the active branch's last message; returns undefined when the conversation does not exist (for `visibility`). */
  appendMessages(id: string, messages: NewMessage[], visibility: Visibility): ConversationWithMessages | undefined {
    const row = this.row(id, visibility);
    if (!row) return undefined;
    const time = this.now();
    this.db.transaction(() => {
      this.appendChain(id, row.active_leaf_id, messages, time);
      this.db.prepare(`UPDATE conversations SET updated_at = ? WHERE id = ?`).run(time, id);
    })();
    return this.get(id, visibility);
  }

  /**
   * A reply starts: in one transaction the conversation takes the request's fields, the user's turn
   * (null when an answer is regenerated) is added under `parentId` (undefined: the active branch's
   * last message; null: as a first message), the empty "streaming" answer under it, and that answer
   * becomes the active branch's end. Returns the answer's id for finishReply; undefined when the
   * conversation does not exist.
   */
  beginReply(id: string, visibility: Visibility, fields: ConversationFields, user: NewMessage | null, answer: NewMessage, parentId?: number | null): number | undefined {
    // Only the conversation's row is read: a reply must not cost a read of every earlier message.
    const row = this.row(id, visibility);
    if (!row) return undefined;
    const time = this.now();
    return this.db.transaction(() => {
      this.writeFields(toConversation(row), fields);
      const answerParent = user ? this.insertMessage(id, user, time, parentId === undefined ? row.active_leaf_id : parentId) : (parentId ?? row.active_leaf_id);
      const answerId = this.insertMessage(id, { ...answer, content: "", status: "streaming" }, time, answerParent);
      this.db.prepare(`UPDATE conversations SET active_leaf_id = ? WHERE id = ?`).run(answerId, id);
      return answerId;
    })();
  }

  /** The answer begun by beginReply ends (finished, failed or cut short) with the text it got. */
  finishReply(messageId: number, outcome: ReplyOutcome): void {
    this.db
      .prepare(`UPDATE conversation_messages SET content = ?, status = ?, finish_reason = ? WHERE id = ? AND status = 'streaming'`)
      .run(outcome.content, outcome.status, outcome.finishReason, messageId);
  }

  /** At startup: answers still "streaming" were cut short by the previous shutdown. */
  markInterruptedReplies(): number {
    return this.db.prepare(`UPDATE conversation_messages SET status = 'interrupted' WHERE status = 'streaming'`).run().changes;
  }

  /** Adds `messages` one after another below `parentId`; the last becomes the active branch's end. */
  private appendChain(conversationId: string, parentId: number | null, messages: NewMessage[], time: number): void {
    let parent = parentId;
    for (const message of messages) parent = this.insertMessage(conversationId, message, time, parent);
    if (messages.length > 0) this.db.prepare(`UPDATE conversations SET active_leaf_id = ? WHERE id = ?`).run(parent, conversationId);
  }

  private insertMessage(conversationId: string, message: NewMessage, time: number, parentId: number | null): number {
    const result = this.db
      .prepare(
        `INSERT INTO conversation_messages (conversation_id, parent_id, role, content, images, model, request_id, status, finish_reason, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(conversationId, parentId, message.role, message.content, message.images?.length ? JSON.stringify(message.images) : null, message.model ?? null, message.requestId ?? null, message.status ?? "done", message.finishReason ?? null, time);
    return Number(result.lastInsertRowid);
  }
}
