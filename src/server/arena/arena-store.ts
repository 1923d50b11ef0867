// SQLite persistence of anonymous battles: which models sit at A and B, every turn's answers, and
// the vote. The rules (who may vote, when) live in battle-rules.ts; this file only stores.
// Every answer a side gave to a turn is kept as a version (0 first, then each regeneration) in
// arena_answer_versions; arena_turns holds the version on screen, the one a vote compares.
import { randomUUID } from "node:crypto";
import type { BattleWinner } from "../../eval/ratings/index.js";
import type { ImageReference } from "../images/image-store.js";
import type { ServerDatabase } from "../store/database.js";

export type BattleSide = "a" | "b";
export type AnswerStatus = "pending" | "done" | "failed";

export interface BattleAnswer {
  text: string;
  status: AnswerStatus;
  finishReason: string | null;
  /** Completion tokens the model reported (null: unknown, e.g. stopped or failed). */
  tokens?: number | null;
}

/** The answer on screen and which of the side's answers to its turn it is. */
export interface ShownAnswer extends BattleAnswer {
  /** 0: the first answer; n: the n-th regeneration. */
  version: number;
  /** How many answers this side has given to the turn. */
  versionCount: number;
}

/** The versions a vote compared at one turn. */
export interface ComparedVersions {
  turn: number;
  a: number;
  b: number;
}

export interface BattleTurn {
  turn: number;
  userMessage: string;
  /** The images that came with the user's message, by reference (absent or empty: none). */
  images?: ImageReference[];
  answers: Record<BattleSide, ShownAnswer>;
  createdAt: number;
}

export interface BattleVote {
  winner: BattleWinner;
  client: string;
  /** Per turn, the answer versions on screen when the vote was cast. */
  compared: ComparedVersions[];
  createdAt: number;
}

/** The sampling settings both sides of a battle share (validated by the routes). */
export interface BattleSettings {
  systemPrompt?: string;
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
}

export interface BattleRecord {
  id: string;
  client: string;
  models: Record<BattleSide, string>;
  settings: BattleSettings;
  revealedBeforeVote: boolean;
  /** What the battle is about, set when it was started (null: none). */
  category: string | null;
  turns: BattleTurn[];
  vote: BattleVote | null;
  createdAt: number;
  updatedAt: number;
}

/** A battle as the sessions list shows it; the routes decide whether its model names may be seen. */
export interface BattleSummary {
  id: string;
  client: string;
  models: Record<BattleSide, string>;
  firstMessage: string;
  turns: number;
  winner: BattleWinner | null;
  revealedBeforeVote: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A voted battle with both conversations, in vote order: the source of ratings and exports. */
export interface VotedBattle {
  id: string;
  models: Record<BattleSide, string>;
  winner: BattleWinner;
  client: string;
  votedAt: number;
  category: string | null;
  systemPrompt: string | null;
  turns: BattleTurn[];
  compared: ComparedVersions[];
}

interface BattleRow {
  id: string;
  client: string;
  model_a: string;
  model_b: string;
  settings: string;
  revealed_before_vote: number;
  category: string | null;
  created_at: number;
  updated_at: number;
}

interface TurnRow {
  turn: number;
  user_message: string;
  images: string | null;
  answer_a: string;
  status_a: AnswerStatus;
  finish_a: string | null;
  answer_b: string;
  status_b: AnswerStatus;
  finish_b: string | null;
  version_a: number;
  version_b: number;
  versions_a: number;
  versions_b: number;
  tokens_a: number | null;
  tokens_b: number | null;
  created_at: number;
}

interface VoteRow {
  battle_id: string;
  client: string;
  winner: BattleWinner;
  compared: string | null;
  created_at: number;
}

const toTurn = (row: TurnRow): BattleTurn => ({
  turn: row.turn,
  userMessage: row.user_message,
  ...(row.images === null ? {} : { images: JSON.parse(row.images) as ImageReference[] }),
  answers: {
    a: { text: row.answer_a, status: row.status_a, finishReason: row.finish_a, tokens: row.tokens_a, version: row.version_a, versionCount: row.versions_a },
    b: { text: row.answer_b, status: row.status_b, finishReason: row.finish_b, tokens: row.tokens_b, version: row.version_b, versionCount: row.versions_b },
  },
  createdAt: row.created_at,
});

/** A turn row with how many versions each side has. */
const turnsQuery = `SELECT t.*,
    (SELECT COUNT(*) FROM arena_answer_versions v WHERE v.battle_id = t.battle_id AND v.turn = t.turn AND v.side = 'a') AS versions_a,
    (SELECT COUNT(*) FROM arena_answer_versions v WHERE v.battle_id = t.battle_id AND v.turn = t.turn AND v.side = 'b') AS versions_b
  FROM arena_turns t WHERE t.battle_id = ? ORDER BY t.turn`;

/** A vote's compared versions; votes from before versions existed compared the only answers there were (0). */
const comparedOf = (json: string | null, turns: BattleTurn[]): ComparedVersions[] =>
  json === null ? turns.map((turn) => ({ turn: turn.turn, a: 0, b: 0 })) : (JSON.parse(json) as ComparedVersions[]);

/** Start of the UTC day containing `time` (epoch ms): the vote cap's window. */
export function utcDayStart(time: number): number {
  return Math.floor(time / 86_400_000) * 86_400_000;
}

export class ArenaStore {
  constructor(
    private readonly db: ServerDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  createBattle(fields: { client: string; models: Record<BattleSide, string>; settings: BattleSettings; firstMessage: string; images?: ImageReference[]; category?: string }): BattleRecord {
    const id = randomUUID();
    const time = this.now();
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO arena_battles (id, client, model_a, model_b, settings, category, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, fields.client, fields.models.a, fields.models.b, JSON.stringify(fields.settings), fields.category ?? null, time, time);
      this.insertTurn(id, 0, fields.firstMessage, time, fields.images);
    })();
    return this.get(id)!;
  }

  get(id: string): BattleRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM arena_battles WHERE id = ?`).get(id) as BattleRow | undefined;
    if (!row) return undefined;
    const turns = (this.db.prepare(turnsQuery).all(id) as TurnRow[]).map(toTurn);
    const vote = this.db.prepare(`SELECT * FROM arena_votes WHERE battle_id = ?`).get(id) as VoteRow | undefined;
    return {
      id: row.id,
      client: row.client,
      models: { a: row.model_a, b: row.model_b },
      settings: JSON.parse(row.settings) as BattleSettings,
      revealedBeforeVote: row.revealed_before_vote === 1,
      category: row.category,
      turns,
      vote: vote ? { winner: vote.winner, client: vote.client, compared: comparedOf(vote.compared, turns), createdAt: vote.created_at } : null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  /** Which of these battles show their models: voted, or revealed before a vote. One query for them all. */
  revealedBattles(ids: readonly string[]): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT b.id FROM arena_battles b WHERE b.id IN (SELECT value FROM json_each(?))
           AND (b.revealed_before_vote = 1 OR EXISTS (SELECT 1 FROM arena_votes v WHERE v.battle_id = b.id))`,
      )
      .all(JSON.stringify([...new Set(ids)])) as { id: string }[];
    return new Set(rows.map((row) => row.id));
  }

  addTurn(battleId: string, userMessage: string, images?: ImageReference[]): void {
    const time = this.now();
    this.db.transaction(() => {
      const next = (this.db.prepare(`SELECT COALESCE(MAX(turn) + 1, 0) AS next FROM arena_turns WHERE battle_id = ?`).get(battleId) as { next: number }).next;
      this.insertTurn(battleId, next, userMessage, time, images);
      this.touch(battleId, time);
    })();
  }

  /** A turn with version 0 of both answers, pending. */
  private insertTurn(battleId: string, turn: number, userMessage: string, time: number, images: ImageReference[] = []): void {
    this.db
      .prepare(`INSERT INTO arena_turns (battle_id, turn, user_message, images, created_at) VALUES (?, ?, ?, ?, ?)`)
      .run(battleId, turn, userMessage, images.length > 0 ? JSON.stringify(images) : null, time);
    const version = this.db.prepare(`INSERT INTO arena_answer_versions (battle_id, turn, side, version, created_at) VALUES (?, ?, ?, 0, ?)`);
    for (const side of ["a", "b"] as const) version.run(battleId, turn, side, time);
  }

  /** Writes the answer on screen, and the version it is. */
  saveAnswer(battleId: string, turn: number, side: BattleSide, answer: BattleAnswer): void {
    // Column names come from the closed BattleSide union, never from input.
    const column = side === "a" ? "a" : "b";
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE arena_turns SET answer_${column} = ?, status_${column} = ?, finish_${column} = ?, tokens_${column} = ? WHERE battle_id = ? AND turn = ?`)
        .run(answer.text, answer.status, answer.finishReason, answer.tokens ?? null, battleId, turn);
      this.db
        .prepare(
          `UPDATE arena_answer_versions SET text = ?, status = ?, finish_reason = ?, tokens = ?
           WHERE battle_id = ? AND turn = ? AND side = ? AND version = (SELECT version_${column} FROM arena_turns WHERE battle_id = ? AND turn = ?)`,
        )
        .run(answer.text, answer.status, answer.finishReason, answer.tokens ?? null, battleId, turn, side, battleId, turn);
      this.touch(battleId, this.now());
    })();
  }

  /**
   * One more request for the answer on screen (the first, or a retry of a failed or cut-short one):
   * returns its version and the attempt's number (1, 2, ...), which give the request its own log id.
   */
  startAttempt(battleId: string, turn: number, side: BattleSide): { version: number; attempt: number } {
    const column = side === "a" ? "a" : "b";
    return this.db.transaction(() => {
      const { version } = this.db.prepare(`SELECT version_${column} AS version FROM arena_turns WHERE battle_id = ? AND turn = ?`).get(battleId, turn) as { version: number };
      const { attempts } = this.db
        .prepare(`UPDATE arena_answer_versions SET attempts = attempts + 1 WHERE battle_id = ? AND turn = ? AND side = ? AND version = ? RETURNING attempts`)
        .get(battleId, turn, side, version) as { attempts: number };
      return { version, attempt: attempts };
    })();
  }

  /** A new, pending version of one side's answer goes on screen; the earlier ones are kept. Returns its number. */
  startRegeneration(battleId: string, turn: number, side: BattleSide): number {
    const column = side === "a" ? "a" : "b";
    const time = this.now();
    return this.db.transaction(() => {
      const version = (this.db.prepare(`SELECT COALESCE(MAX(version) + 1, 0) AS next FROM arena_answer_versions WHERE battle_id = ? AND turn = ? AND side = ?`).get(battleId, turn, side) as { next: number }).next;
      this.db.prepare(`INSERT INTO arena_answer_versions (battle_id, turn, side, version, created_at) VALUES (?, ?, ?, ?, ?)`).run(battleId, turn, side, version, time);
      this.db
        .prepare(`UPDATE arena_turns SET answer_${column} = '', status_${column} = 'pending', finish_${column} = NULL, tokens_${column} = NULL, version_${column} = ? WHERE battle_id = ? AND turn = ?`)
        .run(version, battleId, turn);
      this.touch(battleId, time);
      return version;
    })();
  }

  /** Puts an earlier (or later) version of one side's answer back on screen; false when there is no such version. */
  selectVersion(battleId: string, turn: number, side: BattleSide, version: number): boolean {
    const column = side === "a" ? "a" : "b";
    const stored = this.db.prepare(`SELECT text, status, finish_reason, tokens FROM arena_answer_versions WHERE battle_id = ? AND turn = ? AND side = ? AND version = ?`).get(battleId, turn, side, version) as
      | { text: string; status: AnswerStatus; finish_reason: string | null; tokens: number | null }
      | undefined;
    if (!stored) return false;
    this.db
      .prepare(`UPDATE arena_turns SET answer_${column} = ?, status_${column} = ?, finish_${column} = ?, tokens_${column} = ?, version_${column} = ? WHERE battle_id = ? AND turn = ?`)
      .run(stored.text, stored.status, stored.finish_reason, stored.tokens, version, battleId, turn);
    this.touch(battleId, this.now());
    return true;
  }

  markRevealedBeforeVote(battleId: string): void {
    this.db.prepare(`UPDATE arena_battles SET revealed_before_vote = 1 WHERE id = ?`).run(battleId);
  }

  /** The vote, with the answer versions on screen at each turn: the pair the voter compared. */
  recordVote(battleId: string, client: string, winner: BattleWinner): void {
    const turns = this.db.prepare(`SELECT turn, version_a AS a, version_b AS b FROM arena_turns WHERE battle_id = ? ORDER BY turn`).all(battleId) as ComparedVersions[];
    this.db.prepare(`INSERT INTO arena_votes (battle_id, client, winner, compared, created_at) VALUES (?, ?, ?, ?, ?)`).run(battleId, client, winner, JSON.stringify(turns), this.now());
  }

  /** Votes `client` cast since the start of the current UTC day. */
  votesToday(client: string): number {
    const since = utcDayStart(this.now());
    return (this.db.prepare(`SELECT COUNT(*) AS count FROM arena_votes WHERE client = ? AND created_at >= ?`).get(client, since) as { count: number }).count;
  }

  /** Every voted battle in vote order (online Elo depends on it), with its conversations. */
  votedBattles(): VotedBattle[] {
    const rows = this.db
      .prepare(
        `SELECT b.*, v.winner, v.client AS voter, v.compared, v.created_at AS voted_at FROM arena_votes v JOIN arena_battles b ON b.id = v.battle_id
         ORDER BY v.created_at, v.rowid`,
      )
      .all() as (BattleRow & { winner: BattleWinner; voter: string; compared: string | null; voted_at: number })[];
    const turnsOf = this.db.prepare(turnsQuery);
    return rows.map((row) => {
      const turns = (turnsOf.all(row.id) as TurnRow[]).map(toTurn);
      return {
        id: row.id,
        models: { a: row.model_a, b: row.model_b },
        winner: row.winner,
        client: row.voter,
        votedAt: row.voted_at,
        category: row.category,
        systemPrompt: (JSON.parse(row.settings) as BattleSettings).systemPrompt ?? null,
        turns,
        compared: comparedOf(row.compared, turns),
      };
    });
  }

  /** The newest first: `client`'s battles, or every battle when `client` is null (an admin). */
  listBattles(client: string | null, limit: number, offset: number): BattleSummary[] {
    const rows = this.db
      .prepare(
        `SELECT b.*, v.winner, t.user_message AS first_message, (SELECT COUNT(*) FROM arena_turns c WHERE c.battle_id = b.id) AS turn_count
         FROM arena_battles b LEFT JOIN arena_votes v ON v.battle_id = b.id LEFT JOIN arena_turns t ON t.battle_id = b.id AND t.turn = 0
         WHERE (@client IS NULL OR b.client = @client) ORDER BY b.updated_at DESC, b.rowid DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ client, limit, offset }) as (BattleRow & { winner: BattleWinner | null; first_message: string | null; turn_count: number })[];
    return rows.map((row) => ({
      id: row.id,
      client: row.client,
      models: { a: row.model_a, b: row.model_b },
      firstMessage: row.first_message ?? "",
      turns: row.turn_count,
      winner: row.winner,
      revealedBeforeVote: row.revealed_before_vote === 1,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  /** Removes the battle with its turns and its vote (which then no longer counts on the leaderboard). */
  deleteBattle(battleId: string): boolean {
    return this.db.prepare(`DELETE FROM arena_battles WHERE id = ?`).run(battleId).changes > 0;
  }

  private touch(battleId: string, time: number): void {
    this.db.prepare(`UPDATE arena_battles SET updated_at = ? WHERE id = ?`).run(time, battleId);
  }
}
