import { randomUUID } from "node:crypto";
import type { ChatRole } from "../../spec/index.js";
import type { Visibility } from "../context.js";
import type { ServerDatabase } from "./database.js";

/** "streaming" while the server writes the answer; "interrupted" when it was cut short. */
export type MessageStatus = "streaming" | "done" | "interrupted" | "failed";

export interface ConversationMessage {
  id: number;
  role: ChatRole;
  content: string;
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
  messages: ConversationMessage[];
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
  title: string;
  model: string | null;
  system_prompt: string | null;
  settings: string;
  created_at: number;
  updated_at: number;
}

interface MessageRow {
  id: number;
  role: ChatRole;
  content: string;
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

function toMessage(row: MessageRow): ConversationMessage {
  return {
    id: row.id,
    role: row.role,
    content: row.content,
    model: row.model,
    requestId: row.request_id,
    status: row.status,
    finishReason: row.finish_reason,
    createdAt: row.created_at,
  };
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
      for (const message of fields.messages ?? []) this.insertMessage(id, message, time);
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

  /** Whether `visibility` may see the conversation, without reading its messages. */
  has(id: string, visibility: Visibility): boolean {
    return this.row(id, visibility) !== undefined;
  }

  /** The conversation, if `visibility` may see it: another key's conversation is as good as missing. */
  get(id: string, visibility: Visibility): ConversationWithMessages | undefined {
    const row = this.row(id, visibility);
    if (!row) return undefined;
    const messages = this.db
      .prepare(`SELECT id, role, content, model, request_id, status, finish_reason, created_at FROM conversation_messages WHERE conversation_id = ? ORDER BY id`)
      .all(id) as MessageRow[];
    return { ...toConversation(row), messages: messages.map(toMessage) };
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

  /** Appends messages in order; returns undefined when the conversation does not exist (for `visibility`). */
  appendMessages(id: string, messages: NewMessage[], visibility: Visibility): ConversationWithMessages | undefined {
    const found = this.db.prepare(`SELECT 1 FROM conversations WHERE id = @id AND (@all = 1 OR owner = @owner)`).get({ id, ...visible(visibility) });
    if (!found) return undefined;
    const time = this.now();
    this.db.transaction(() => {
      for (const message of messages) this.insertMessage(id, message, time);
      this.db.prepare(`UPDATE conversations SET updated_at = ? WHERE id = ?`).run(time, id);
    })();
    return this.get(id, visibility);
  }

  /**
   * A reply starts: in one transaction the conversation takes the request's fields, the user's turn
   * is appended and so is an empty "streaming" answer, whose id is returned for finishReply.
   * Undefined when the conversation does not exist.
   */
  beginReply(id: string, visibility: Visibility, fields: ConversationFields, user: NewMessage, answer: NewMessage): number | undefined {
    // Only the conversation's row is read: a reply must not cost a read of every earlier message.
    const row = this.row(id, visibility);
    if (!row) return undefined;
    const time = this.now();
    return this.db.transaction(() => {
      this.writeFields(toConversation(row), fields);
      this.insertMessage(id, user, time);
      return this.insertMessage(id, { ...answer, content: "", status: "streaming" }, time);
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

  private insertMessage(conversationId: string, message: NewMessage, time: number): number {
    const result = this.db
      .prepare(
        `INSERT INTO conversation_messages (conversation_id, role, content, model, request_id, status, finish_reason, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(conversationId, message.role, message.content, message.model ?? null, message.requestId ?? null, message.status ?? "done", message.finishReason ?? null, time);
    return Number(result.lastInsertRowid);
  }
}
