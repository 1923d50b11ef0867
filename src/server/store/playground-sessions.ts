// The playground's Arena (side by side) and Collaborate sessions: a titled JSON document per session,
// owned like conversations (each API key sees its own, an admin key all). What the document holds is
// the routes' business (src/server/routes/playground-session-schemas.ts); this file only stores it.
import { randomUUID } from "node:crypto";
import type { Visibility } from "../context.js";
import { visible } from "./conversations.js";
import type { ServerDatabase } from "./database.js";

export const sessionKinds = ["arena", "collaborate"] as const;
export type SessionKind = (typeof sessionKinds)[number];

export interface PlaygroundSessionSummary {
  id: string;
  kind: SessionKind;
  title: string;
  models: string[];
  createdAt: number;
  updatedAt: number;
}

export interface PlaygroundSession extends PlaygroundSessionSummary {
  state: Record<string, unknown>;
}

export interface PlaygroundSessionFields {
  title: string;
  models: string[];
  state: Record<string, unknown>;
}

interface SessionRow {
  id: string;
  kind: SessionKind;
  title: string;
  models: string;
  state?: string;
  created_at: number;
  updated_at: number;
}

const toSummary = (row: SessionRow): PlaygroundSessionSummary => ({
  id: row.id,
  kind: row.kind,
  title: row.title,
  models: JSON.parse(row.models) as string[],
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export class PlaygroundSessionStore {
  constructor(
    private readonly db: ServerDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  /** `owner`: the API key creating it (null without keys). */
  create(kind: SessionKind, fields: PlaygroundSessionFields, owner: string | null): PlaygroundSession {
    const id = randomUUID();
    const time = this.now();
    this.db
      .prepare(`INSERT INTO playground_sessions (id, kind, owner, title, models, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(id, kind, owner, fields.title, JSON.stringify(fields.models), JSON.stringify(fields.state), time, time);
    return this.get(id, { owner, seesAll: true })!;
  }

  /** The newest first, without their documents (the sidebar needs only titles, models and times). */
  list(kind: SessionKind, visibility: Visibility, limit = 100, offset = 0): PlaygroundSessionSummary[] {
    const rows = this.db
      .prepare(
        `SELECT id, kind, title, models, created_at, updated_at FROM playground_sessions
         WHERE kind = @kind AND (@all = 1 OR owner = @owner) ORDER BY updated_at DESC, rowid DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ kind, ...visible(visibility), limit, offset }) as SessionRow[];
    return rows.map(toSummary);
  }

  /** The session, if `visibility` may see it: another key's session is as good as missing. */
  get(id: string, visibility: Visibility): PlaygroundSession | undefined {
    const row = this.db.prepare(`SELECT * FROM playground_sessions WHERE id = @id AND (@all = 1 OR owner = @owner)`).get({ id, ...visible(visibility) }) as
      | SessionRow
      | undefined;
    return row ? { ...toSummary(row), state: JSON.parse(row.state ?? "{}") as Record<string, unknown> } : undefined;
  }

  /** Replaces title, models and document; undefined when the session does not exist (for `visibility`). */
  replace(id: string, fields: PlaygroundSessionFields, visibility: Visibility): PlaygroundSession | undefined {
    const changed = this.db
      .prepare(`UPDATE playground_sessions SET title = @title, models = @models, state = @state, updated_at = @time WHERE id = @id AND (@all = 1 OR owner = @owner)`)
      .run({ id, title: fields.title, models: JSON.stringify(fields.models), state: JSON.stringify(fields.state), time: this.now(), ...visible(visibility) }).changes;
    return changed > 0 ? this.get(id, visibility) : undefined;
  }

  delete(id: string, visibility: Visibility): boolean {
    return this.db.prepare(`DELETE FROM playground_sessions WHERE id = @id AND (@all = 1 OR owner = @owner)`).run({ id, ...visible(visibility) }).changes > 0;
  }
}
